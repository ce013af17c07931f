"""An estate's units sheet (楼栋, 房号, 楼层?, 面积?): CSV (UTF-8 with or without BOM, or GB18030) or XLSX, read into
rows for ``intake.import_units``, and the downloadable template.

The file is judged by its content, never its name: an XLSX must start as a zip archive (``PK``) and is read with
``committee_upload``'s bounded reader (unpacked size checked before openpyxl opens it, formulas read as cached
values); anything ``uploads.sniff`` recognises as a photo or PDF is refused; anything else must decode as text
without NUL bytes. At most ``MAX_FILE_BYTES`` and ``MAX_ROWS`` data rows. Problems found here (unreadable file,
unknown or missing column) are row errors in intake's shape ``{"line", "column", "message"}`` (the header is
line 1; line 0 is the file as a whole) with the message already in the user's language; intake checks every
value again and the page shows its errors in the same list (``row_message``).
"""
from __future__ import annotations

import csv
import io
import zipfile

from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from . import committee_upload, uploads

MAX_FILE_BYTES = 900 * 1024          # the app's request limit is 1 MB (file plus form)
MAX_ROWS = 5000                      # intake's domain.unit_directory.MAX_IMPORT_ROWS
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# column key -> (zh-CN header, English header); the template's order
COLUMNS = {"building": ("楼栋", "Building"), "unit": ("房号", "Unit"), "floor": ("楼层", "Floor"),
           "area": ("建筑面积", "Area")}
REQUIRED = ("building", "unit")
_ALIASES = {"面积": "area", "建筑面积(㎡)": "area", "面积(㎡)": "area", "area (m²)": "area", "area (m2)": "area",
            "楼号": "building", "单元房号": "unit", "room": "unit"}
_HEADERS = {h.strip().lower(): key for key, names in COLUMNS.items() for h in (*names, key)} | _ALIASES

MESSAGES = {
    "file": _l("The file could not be read. Upload a CSV (UTF-8 or GB18030) or XLSX file made from the template."),
    "not_a_sheet": _l("This is not a spreadsheet (CSV or XLSX)."),
    "too_big": _l("The file is larger than 900 KB. Split it into several files."),
    "too_many": _l("At most 5,000 units per file. Split it into several files."),
    "empty": _l("The file has no units in it."),
    "header": _l("Unknown column. Use the columns of the template."),
    "missing_column": _l("The column is missing. Use the columns of the template."),
    "building": _l("Enter the building (at most 40 characters)."),
    "unit": _l("Enter the unit number (at most 40 characters)."),
    "floor": _l("Enter the floor as a whole number from -10 to 300, or leave it empty."),
    "area": _l("Enter the floor area in square metres (above 0, at most 100,000), or leave it empty."),
}
NOTES = {"building": _l("Required, e.g. 1栋 or A座; a new building is added."),
         "unit": _l("Required, e.g. 1001; a unit already there is updated, never duplicated."),
         "floor": _l("Optional whole number; basements negative. Empty keeps the stored floor."),
         "area": _l("Optional, square metres, e.g. 89.5. Empty keeps the stored area.")}


def _error(line: int, column: str, key: str) -> dict:
    return {"line": line, "column": column, "message": str(MESSAGES[key])}


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value).strip()[:200]


def read_rows(content: bytes) -> tuple[list[dict], list[dict]]:
    """(rows ``[{"line", "building", "unit", "floor", "area"}]``, errors) of an uploaded sheet."""
    if not content:
        return [], [_error(0, "file", "empty")]
    if len(content) > MAX_FILE_BYTES:
        return [], [_error(0, "file", "too_big")]
    if uploads.sniff(content) is not None or (content[:2] == b"PK" and content[:4] != b"PK\x03\x04"):
        return [], [_error(0, "file", "not_a_sheet")]
    try:
        if content[:4] == b"PK\x03\x04":
            table = _read_xlsx(content)
        else:
            if b"\x00" in content:
                return [], [_error(0, "file", "not_a_sheet")]
            table = list(csv.reader(io.StringIO(committee_upload._decode(content), newline="")))
    except (ValueError, UnicodeDecodeError, csv.Error):
        return [], [_error(0, "file", "file")]
    if not table:
        return [], [_error(0, "file", "empty")]
    columns, errors = _columns(table[0])
    if errors:
        return [], errors
    body = [(n, cells) for n, cells in enumerate(table[1:], start=2) if any(_text(c) for c in cells)]
    if not body:
        return [], [_error(0, "file", "empty")]
    if len(body) > MAX_ROWS:
        return [], [_error(0, "file", "too_many")]
    rows = [{"line": n} | {key: _text(cells[i]) if i < len(cells) else "" for i, key in columns.items()}
            for n, cells in body]
    return rows, []


def _read_xlsx(content: bytes) -> list[list]:
    """The first sheet's cells (the zip's unpacked size checked before openpyxl reads it; cached values only)."""
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            if sum(info.file_size for info in archive.infolist()) > committee_upload.MAX_XLSX_UNPACKED:
                raise ValueError("the workbook unpacks to more than its limit")
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"not a readable XLSX file: {exc}") from None
    try:
        table = []
        for values in book.worksheets[0].iter_rows(values_only=True):
            table.append(list(values))
            if len(table) > MAX_ROWS + 50:  # blank rows are skipped later; this only stops a runaway sheet
                table.append(["…"])  # one row too many: counted as "too many", never cut silently
                break
        return table
    finally:
        book.close()


def _columns(header: list) -> tuple[dict, list]:
    columns, errors = {}, []
    for i, cell in enumerate(header):
        name = _text(cell).lstrip("\ufeff").strip().lower()
        if not name:
            continue
        if name not in _HEADERS:
            errors.append({"line": 1, "column": _text(cell)[:40], "message": str(MESSAGES["header"])})
        else:
            columns[i] = _HEADERS[name]
    errors += [_error(1, key, "missing_column") for key in REQUIRED if key not in columns.values()]
    return columns, errors


def column_label(column) -> str:
    """The template's header for an error's column, in the user's language."""
    if column in COLUMNS:
        zh, en = COLUMNS[column]
        return zh if getattr(get_locale(), "language", "zh") == "zh" else en
    return _("File") if column in ("file", "rows", "") else str(column)


def row_message(error: dict) -> str:
    """An error in the user's language: intake's English message replaced by the column's own words."""
    message = str(error.get("message") or "")
    if message.startswith("same unit as line "):
        return _("The same unit as line %(line)s.", line=message[len("same unit as line "):])
    if error.get("line") == 0 and error.get("column") in ("unit", "rows"):
        return str(MESSAGES["too_many"] if "at most" in message else MESSAGES["empty"])
    column = str(error.get("column"))
    return str(MESSAGES[column]) if column in ("building", "unit", "floor", "area") else message


def shown(errors: list[dict], own: bool = False) -> list[dict]:
    """Errors as the page and the API show them: column header and message in the user's language (``own``:
    this module's file errors, whose messages are translated already)."""
    return [{"line": e.get("line"), "column": e.get("column"), "column_label": column_label(e.get("column")),
             "message": str(e.get("message")) if own else row_message(e)} for e in errors]


def template(fmt: str) -> tuple[bytes, str]:
    headers = [zh for zh, _en in COLUMNS.values()]
    if fmt == "csv":
        return committee_upload.template_csv(headers), "text/csv; charset=utf-8"
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "units"
    sheet.append(headers)
    help_sheet = book.create_sheet("help")
    for key, (zh, _en) in COLUMNS.items():
        help_sheet.append([zh, committee_upload.safe_cell(str(NOTES[key]))])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), XLSX_MIME
