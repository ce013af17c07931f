"""A committee's sheet of complaints: CSV (UTF-8 with or without BOM, or GB18030 as Excel saves it on Chinese
Windows) or XLSX, read into rows for ``intake.register_batch``, and the downloadable template.

The gateway owns the file formats (HTTP uploads); intake owns the rules for a complaint. Problems found here
(an unreadable file, an unknown column, a time or yes/no that does not parse, a building or facility too long) are
row errors in the same shape as intake's (``{"row", "field", "message"}``), so the page shows one list. The
optional location columns (楼栋/Building, 设施/Facility) become the complaint's ``location``; intake checks the
building against the estate's directory as for a single complaint. Rows are numbered as a spreadsheet
shows them: the header is row 1. Untrusted input is bounded: at most ``MAX_FILE_BYTES``, ``MAX_ROWS`` data rows
and ``MAX_CELL`` characters a cell; an XLSX whose parts would unpack to more than ``MAX_XLSX_UNPACKED`` is
refused before openpyxl reads it (a zip bomb), and formulas are read as their cached values, never evaluated.
Whatever is written back into a sheet (template, error report) is formula-safe (``safe_cell``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l

MAX_FILE_BYTES = 1024 * 1024
MAX_ROWS = 500
MAX_CELL = 6000
MAX_XLSX_UNPACKED = 20 * 1024 * 1024
MAX_LOCATION = 40  # a building or facility, as on the single forms (schemas.LocationSchema)

# column key -> (zh-CN header, English header); the template's order
COLUMNS = {
    "name": ("业主姓名", "Owner name"), "phone": ("联系电话", "Phone"), "email": ("电子邮箱", "E-mail"),
    "unit": ("房号", "Unit"), "building": ("楼栋", "Building"), "facility": ("设施", "Facility"),
    "description": ("投诉内容", "Complaint"),
    "reported_at": ("业主反映时间", "Reported at"), "urgent": ("是否紧急", "Urgent"), "estate": ("项目编号", "Estate code"),
}
REQUIRED_COLUMNS = ("description",)
_HEADERS = {h.strip().lower(): key for key, names in COLUMNS.items() for h in (*names, key)}
_YES = {"是", "紧急", "y", "yes", "true", "1"}
_NO = {"", "否", "不紧急", "n", "no", "false", "0"}
_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y-%m-%dT%H:%M",
                 "%Y-%m-%dT%H:%M:%S")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

MESSAGES = {
    "file": _l("The file could not be read. Upload a CSV (UTF-8 or GB18030) or XLSX file made from the template."),
    "too_big": _l("The file is larger than 1 MB. Split it into several files."),
    "too_many": _l("At most 500 complaints per file. Split it into several files."),
    "empty": _l("The file has no complaints in it."),
    "header": _l("Unknown column. Use the columns of the template."),
    "missing_column": _l("The column is missing. Use the columns of the template."),
    "reported_at": _l("Enter the time the owner reported it as 2026-11-24 09:30, not in the future and at most 30 "
                      "days ago."),
    "urgent": _l("Enter 是 or 否 (yes or no)."),
    "estate": _l("This estate is not one of yours. Leave the column empty or use your estate's code."),
    "building": _l("Enter the building (at most 40 characters)."),
    "facility": _l("The facility can have at most 40 characters."),
}


@dataclass
class Parsed:
    rows: list = field(default_factory=list)      # [{"row": n, "data": {...}}] for intake.register_batch
    errors: list = field(default_factory=list)    # [{"row", "field", "message"}]


def read_table(content: bytes, filename: str) -> list[list]:
    """The cells of the first sheet (CSV or XLSX), row by row. ``ValueError`` when it cannot be read."""
    if content[:4] == b"PK\x03\x04" or filename.lower().endswith(".xlsx"):
        return _read_xlsx(content)
    return list(csv.reader(io.StringIO(_decode(content), newline="")))


def _decode(content: bytes) -> str:
    if content.startswith(b"\xef\xbb\xbf"):
        return content[3:].decode("utf-8")
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return content.decode("gb18030")  # Excel's "CSV" on Chinese Windows; a superset of GBK and GB2312


def _read_xlsx(content: bytes) -> list[list]:
    from openpyxl import load_workbook  # only when an XLSX comes in

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > MAX_XLSX_UNPACKED:
                raise ValueError("the workbook unpacks to more than its limit")
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"not a readable XLSX file: {exc}") from None
    try:
        sheet = book.worksheets[0]
        table = []
        for values in sheet.iter_rows(values_only=True):
            table.append(list(values))
            if len(table) > MAX_ROWS + 50:  # blank rows are skipped later; this only stops a runaway sheet
                break
        return table
    finally:
        book.close()


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone typed into a number cell
    return str(value).strip()[:MAX_CELL]


def parse(content: bytes, filename: str, estates: dict, default_estate: str | None, now: dt.datetime) -> Parsed:
    """Rows for intake from an uploaded sheet; ``estates`` {code: timezone} are the uploader's estates."""
    out = Parsed()
    if len(content) > MAX_FILE_BYTES:
        out.errors.append(_error(0, "file", "too_big"))
        return out
    try:
        table = read_table(content, filename)
    except (ValueError, UnicodeDecodeError, csv.Error):
        out.errors.append(_error(0, "file", "file"))
        return out
    if not table:
        out.errors.append(_error(0, "file", "empty"))
        return out
    columns = _columns(table[0], out)
    body = [(n, cells) for n, cells in enumerate(table[1:], start=2) if any(_text(c) for c in cells)]
    if out.errors:
        return out
    if not body:
        out.errors.append(_error(0, "file", "empty"))
    elif len(body) > MAX_ROWS:
        out.errors.append(_error(0, "file", "too_many"))
    else:
        for number, cells in body:
            row = _row(number, {key: cells[i] if i < len(cells) else None for i, key in columns.items()},
                       estates, default_estate, now, out)
            if row is not None:
                out.rows.append({"row": number, "data": row})
    return out


def _columns(header: list, out: Parsed) -> dict:
    columns = {}
    for i, cell in enumerate(header):
        name = _text(cell).lstrip("\ufeff").strip().lower()
        if not name:
            continue
        if name not in _HEADERS:
            out.errors.append(_error(1, _text(cell)[:40], "header"))
        else:
            columns[i] = _HEADERS[name]
    for key in REQUIRED_COLUMNS:
        if key not in columns.values():
            out.errors.append(_error(1, COLUMNS[key][0], "missing_column"))
    return columns


def _row(number: int, cells: dict, estates: dict, default_estate, now, out: Parsed) -> dict | None:
    estate = _text(cells.get("estate")) or default_estate or ""
    if estate not in estates:
        out.errors.append(_error(number, "estate", "estate"))
        return None
    urgent = _text(cells.get("urgent")).lower()
    if urgent not in _YES | _NO:
        out.errors.append(_error(number, "urgent", "urgent"))
        return None
    try:
        reported = reported_at(cells.get("reported_at"), estates[estate], now)
    except ValueError:
        out.errors.append(_error(number, "reported_at", "reported_at"))
        return None
    place = {k: _text(cells.get(k)) or None for k in ("building", "facility")}
    for key, value in place.items():
        if value and len(value) > MAX_LOCATION:
            out.errors.append(_error(number, key, key))
            return None
    data = {"estate": estate, "description": _text(cells.get("description")), "urgent": urgent in _YES,
            "complainant": {k: _text(cells.get(k)) or None for k in ("name", "phone", "email", "unit")}}
    if any(place.values()):  # intake checks the building against the estate's directory (location.building)
        data["location"] = place
    return data | ({"reported_at": reported} if reported else {})


def reported_at(value, timezone: str, now: dt.datetime) -> str | None:
    """An ISO 8601 instant from a cell or form field in the estate's local time (a date-time cell, ``2026-11-24
    09:30``, or ISO with an offset); None when empty. ``ValueError`` when it does not parse; intake checks the
    range (not in the future, at most 30 days ago)."""
    if isinstance(value, dt.datetime):
        local = value
    else:
        text = _text(value)
        if not text:
            return None
        local = None
        for fmt in _TIME_FORMATS:
            try:
                local = dt.datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
        if local is None:
            local = dt.datetime.fromisoformat(text)  # with an offset; raises ValueError otherwise
    if local.tzinfo is None:
        local = local.replace(tzinfo=ZoneInfo(timezone))
    return local.isoformat()


def _error(row: int, field_name: str, key: str) -> dict:
    return {"row": row, "field": field_name, "message": str(MESSAGES[key])}


def safe_cell(value) -> str:
    """A cell written into a sheet: text that a spreadsheet would run as a formula gets a leading ``'``."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def template_csv(headers: list[str]) -> bytes:
    """The empty template as CSV, UTF-8 with a BOM (so Excel shows the Chinese headers)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([safe_cell(h) for h in headers])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def template_xlsx(headers: list[str], notes: list[tuple[str, str]]) -> bytes:
    """The template as XLSX: the header row on the first sheet, what each column takes on a second one."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "complaints"
    sheet.append([safe_cell(h) for h in headers])
    for i in range(len(headers)):
        sheet.column_dimensions[chr(ord("A") + i)].width = 18
    help_sheet = book.create_sheet("help")
    for column, note in notes:
        help_sheet.append([safe_cell(column), safe_cell(note)])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def errors_csv(errors: list[dict], headers: tuple[str, str, str]) -> bytes:
    """Row errors as a CSV the committee can open next to its file (formula-safe, UTF-8 with a BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for e in errors:
        writer.writerow([e.get("row"), safe_cell(e.get("field")), safe_cell(e.get("message"))])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")
