"""The audit log as a CSV (UTF-8 with a BOM, so Excel shows the Chinese) or XLSX file, for group admins.

The same filters as the page and the API (``audit.Query``), at most ``EXPORT_LIMIT`` rows, newest first; headers
and action names in the current locale (the console's session language, or the API's ``Accept-Language`` via
``flask_babel.force_locale``). Every text cell goes through ``committee_upload.safe_cell`` (a cell starting with
``= + - @``, tab or CR gets a leading ``'``), and XLSX cells are written as explicit strings, so nothing in a
username or a detail runs as a formula when the file is opened. The export itself is audited (``audit_exported``).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from flask_babel import lazy_gettext as _l

from . import audit, labels
from .committee_upload import safe_cell

EXPORT_LIMIT = 10_000
FORMATS = {"csv": "text/csv; charset=utf-8",
           "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
COLUMNS = (_l("Time"), _l("User"), _l("Action"), _l("Target"), _l("Target id"), _l("Details"), "IP",
           _l("Request id"))


def rows(conn, tenant_id: str, query: audit.Query, action_labels: dict) -> tuple[list[str], list[list[str]], int]:
    """``(header, rows, total)`` of the filtered entries (at most ``EXPORT_LIMIT``), every cell formula-safe."""
    query = audit.Query(query.date_from, query.date_to, query.user, query.action, EXPORT_LIMIT, 0)
    result = audit.entries(conn, tenant_id, query)
    header = [safe_cell(str(c)) for c in COLUMNS]
    body = [[safe_cell(v) for v in (
        labels.local_time(e["at"]), e["username"], str(action_labels.get(e["action"], e["action"])), e["target_kind"],
        e["target_id"], json.dumps(e["detail"], ensure_ascii=False, sort_keys=True), e["ip"], e["request_id"])]
        for e in result["items"]]
    return header, body, result["total"]


def to_csv(header: list[str], body: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([header, *body])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def to_xlsx(header: list[str], body: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "audit"
    for row in [header, *body]:
        sheet.append(row)
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
    for column, width in zip("ABCDEFGH", (18, 18, 20, 12, 38, 60, 16, 38)):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def render(fmt: str, header: list[str], body: list[list[str]]) -> bytes:
    return to_csv(header, body) if fmt == "csv" else to_xlsx(header, body)


def filename(fmt: str, now: dt.datetime) -> str:
    return f"audit_{now.astimezone(dt.timezone(dt.timedelta(hours=8))):%Y%m%d_%H%M}.{fmt}"


def record_export(conn, tenant_id: str, fmt: str, query: audit.Query, count: int) -> None:
    """The export's own audit row: the filters and the number of rows, never the rows."""
    detail = {"format": fmt, "rows": count, "action": query.action, "user": query.user,
              "from": query.date_from.isoformat() if query.date_from else None,
              "to": query.date_to.isoformat() if query.date_to else None}
    audit.record(conn, tenant_id, "audit_exported", target_kind="audit_log",
                 detail={k: v for k, v in detail.items() if v is not None})
