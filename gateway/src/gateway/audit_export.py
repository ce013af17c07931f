"""The audit log as a CSV (UTF-8 with a BOM, so Excel shows the Chinese) or XLSX file, for group admins.

The same filters as the page and the API (``audit.Query``), at most ``EXPORT_LIMIT`` rows, newest first; headers
and action names in the current locale (the console's session language, or the API's ``Accept-Language`` via
``flask_babel.force_locale``). Every text cell goes through ``committee_upload.safe_cell`` (a cell starting with
``= + - @``, tab or CR gets a leading ``'``), and XLSX cells are written as explicit strings, so nothing in a
username or a detail runs as a formula when the file is opened. The export itself is audited (``audit_exported``).

``change_lines`` renders ``detail["changes"]`` (``audit.changes``) for people: the field's label in the current
locale (``FIELD_LABELS`` for the common fields, the path's rest after it), before and after; the page shows them as
a list and the files as the column 变更（前 → 后）, one line per field.
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
COLUMNS = (_l("Time"), _l("User"), _l("Action"), _l("Target"), _l("Target id"), _l("Changes (before → after)"),
           _l("Details"), "IP", _l("Request id"))
FIELD_LABELS = {
    "status": _l("Status"), "assignee": _l("Assignee"), "cause": _l("Cause"), "loss_amount": _l("Owner's loss"),
    "due_at": _l("Due"), "requested_due_at": _l("Requested due time"), "extension": _l("Extension"),
    "nonconformity": _l("Nonconformity record"), "deferred_until": _l("Deferred until"),
    "consent": _l("Owner's consent"), "category": _l("Category"), "severity": _l("Severity"),
    "effective": _l("Effective"), "version": _l("Version"), "document": _l("Policy"), "rules": _l("Routing rules"),
    "entries": _l("Duty roster"), "contacts": _l("Alert recipients"), "parts": _l("Template"),
    "enabled": _l("Enabled"), "hour": _l("Hour"), "timezone": _l("Time zone"), "opt_outs": _l("Opted out"),
    "display_name": _l("Name"), "email": _l("E-mail"), "roles": _l("Roles"), "active": _l("Active"),
    "username": _l("Username"), "host": _l("Host"), "events": _l("Events"), "description": _l("Webhook description"),
    "password": _l("Password"), "password_set": _l("Password"), "app_secret": _l("AppSecret"),
    "templates": _l("Template ids"), "name": _l("Name"), "kind": _l("Kind"), "region": _l("Region"),
    "address": _l("Address"), "mode": _l("Mode"), "port": _l("Port"), "security": _l("Connection security"),
    "from_address": _l("Sender address"), "from_name": _l("Sender name"),
}


def _value(value) -> str:
    if value is None or value == [] or value == {}:
        return "—"
    if isinstance(value, bool):
        return str(_l("yes") if value else _l("no"))
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def change_lines(detail: dict) -> list[tuple[str, str, str]]:
    """``[(field label, before, after)]`` of an entry's ``changes``; a secret shows as changed, no values."""
    found = (detail or {}).get("changes")
    if not isinstance(found, dict):
        return []
    out = []
    for path, change in found.items():
        head, _sep, rest = str(path).partition(".")
        label = str(FIELD_LABELS.get(head, head)) + (f" {rest}" if rest else "")
        if isinstance(change, dict):
            out.append((label, _value(change.get("before")), _value(change.get("after"))))
        elif path == "…":
            out.append((str(_l("more changes")), "", str(change)))
        else:
            out.append((label, "", str(_l("changed"))))
    return out


def change_text(detail: dict) -> str:
    return "\n".join(f"{label}: {before} → {after}" if before else f"{label}: {after}"
                     for label, before, after in change_lines(detail))


def rows(conn, tenant_id: str, query: audit.Query, action_labels: dict) -> tuple[list[str], list[list[str]], int]:
    """``(header, rows, total)`` of the filtered entries (at most ``EXPORT_LIMIT``), every cell formula-safe."""
    query = audit.Query(query.date_from, query.date_to, query.user, query.action, EXPORT_LIMIT, 0)
    result = audit.entries(conn, tenant_id, query)
    header = [safe_cell(str(c)) for c in COLUMNS]
    body = [[safe_cell(v) for v in (
        labels.local_time(e["at"]), e["username"], str(action_labels.get(e["action"], e["action"])), e["target_kind"],
        e["target_id"], change_text(e["detail"]),
        json.dumps({k: v for k, v in (e["detail"] or {}).items() if k != "changes"}, ensure_ascii=False, sort_keys=True),
        e["ip"], e["request_id"])]
        for e in result["items"]]
    return header, body, result["total"]


def to_csv(header: list[str], body: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerows([header, *body])
    return b"\xef\xbb\xbf" + buffer.getvalue().encode("utf-8")


def to_xlsx(header: list[str], body: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    book = Workbook()
    sheet = book.active
    sheet.title = "audit"
    for row in [header, *body]:  # control characters (a stored name, a detail) cannot be written to a sheet
        sheet.append([ILLEGAL_CHARACTERS_RE.sub("\ufffd", v) if isinstance(v, str) else v for v in row])
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # never a formula, whatever it starts with
    for column, width in zip("ABCDEFGHI", (18, 18, 20, 12, 38, 60, 40, 16, 38)):
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
