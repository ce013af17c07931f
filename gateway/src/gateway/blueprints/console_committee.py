"""Committee pages (role ``committee_member``, scoped to its estate; no staff page is open to it):

| page | what |
|---|---|
| ``/committee`` | 我转达的投诉: what I forwarded, newest first, with workflow's status (20 a page) |
| ``/committee/new`` | one complaint on behalf of an owner (name, phone, unit, what, when the owner reported it) |
| ``/committee/batch`` | upload a CSV/XLSX sheet: every row checked first; any problem -> all of them, nothing imported |
| ``/committee/template.csv``, ``.xlsx`` | the sheet to fill in (zh-CN headers; the XLSX explains each column; |
| | optional location columns 楼栋/设施, the building checked against the estate's directory) |
| ``POST /committee/batch/errors.csv`` | the problems of the last upload as a CSV (formula-safe) |

The data calls are the API's (``blueprints.committee``), so pages and API cannot drift apart.
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from marshmallow import ValidationError
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import committee_upload, rpc
from ..errors import ApiError
from .committee import ROLE, CommitteeComplaintSchema, body_for, forwarded, import_sheet, member_estates
from .console import page, page_error
from .console_complaints import LOCATION_FIELDS, _field_errors, _service_errors, building_choices, location_body

bp = Blueprint("console_committee", __name__)

PAGE_SIZE = 20
FIELDS = ("estate", "name", "phone", "email", "unit", "description", "reported_at") + LOCATION_FIELDS
_NOTES = {
    "name": _l("Optional."), "phone": _l("A phone number or an e-mail address is required."),
    "email": _l("Optional if there is a phone number."), "unit": _l("Building and unit, e.g. 1栋101."),
    "building": _l("Optional: where the problem is. One of your estate's buildings, by code or name, e.g. 1栋 "
                   "(empty: other or unknown)."),
    "facility": _l("Optional, e.g. 电梯, 地下车库 (at most 40 characters)."),
    "description": _l("Required, at most 5000 characters."),
    "reported_at": _l("When the owner told the committee, e.g. 2026-11-24 09:30 (empty: now)."),
    "urgent": _l("是 or 否 (empty: 否)."), "estate": _l("Leave empty: your estate."),
}
# intake's and this module's field names -> the column the committee sees
_COLUMN_OF = {"complainant.name": "name", "complainant.phone": "phone", "complainant.email": "email",
              "complainant.unit": "unit", "complainant": "phone", "location.building": "building",
              "location.facility": "facility", "location": "building"}
_ROW_MESSAGES = {
    "phone": _l("Enter a valid phone number (7 to 20 digits), or an e-mail address."),
    "email": _l("Enter a valid e-mail address."), "name": _l("The name can have at most 50 characters."),
    "unit": _l("The unit can have at most 50 characters."),
    "description": _l("Describe the complaint (at most 5000 characters)."),
    "reported_at": committee_upload.MESSAGES["reported_at"], "estate": committee_upload.MESSAGES["estate"],
    "category": _l("Unknown category."),
    # intake's (the gateway's own length checks keep their message under "building" / "facility")
    "location.building": _l("This building is not one of the estate's. Use a building's code or name, or leave "
                            "the column empty."),
    "location.facility": committee_upload.MESSAGES["facility"],
}


@bp.get("/committee")
@page(ROLE)
def forwarded_page():
    try:
        page_no = max(1, min(int(request.args.get("page", 1)), 10**6))
    except ValueError:
        page_no = 1
    result = forwarded(g.principal, PAGE_SIZE, (page_no - 1) * PAGE_SIZE)
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    return render_template("committee_list.html", result=result, page_no=page_no, pages=pages)


@bp.route("/committee/new", methods=["GET", "POST"])
@page(ROLE)
def new_page():
    estates = member_estates(g.principal)
    form, errors = {}, {}
    if request.method == "POST":
        form = {key: request.form.get(key, "")[:6000] for key in FIELDS} | {"urgent": request.form.get("urgent")}
        errors = _submit(form, estates)
        if not errors:
            return redirect(url_for("console_committee.forwarded_page"))
    return render_template("committee_new.html", estates=estates, form=form, errors=errors,
                           choices=building_choices(estates)), 422 if errors else 200


def _submit(form: dict, estates: dict) -> dict:
    blank = lambda key: form.get(key, "").strip() or None  # noqa: E731 - empty inputs are "not given"
    body = {"estate": blank("estate"), "description": form.get("description", ""), "urgent": form.get("urgent") == "on",
            "reported_at": blank("reported_at"),
            "complainant": {k: blank(k) for k in ("name", "phone", "email", "unit")}, "location": location_body(form)}
    try:
        data = body_for(CommitteeComplaintSchema().load(body), estates)
    except ValidationError as exc:
        return _field_errors(exc.messages if isinstance(exc.messages, dict) else {"description": exc.messages})
    except ApiError as exc:
        field = exc.details.get("field", "estate")
        return {field: str(_ROW_MESSAGES.get(field, _ROW_MESSAGES["estate"]))}
    try:
        created = rpc.client().call("intake", "register_complaint", data)
    except RemoteError as exc:
        refused = parse_remote(exc.value) or {}
        if (refused.get("details") or {}).get("field") in ("reported_at", "estate"):  # fields of this form only
            field = refused["details"]["field"]
            return {field: str(_ROW_MESSAGES[field])}
        return _service_errors(exc)
    flash(_("Complaint forwarded to the service centre. Reference: %(reference)s", reference=created["reference"]))
    return {}


@bp.route("/committee/batch", methods=["GET", "POST"])
@page(ROLE)
def batch_page():
    result, errors, filename = None, [], ""
    if request.method == "POST":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            errors = [{"row": 0, "field": "file", "message": str(committee_upload.MESSAGES["empty"])}]
        else:
            filename = upload.filename[:200]
            try:
                result, errors = import_sheet(upload.read(committee_upload.MAX_FILE_BYTES + 1), filename,
                                              member_estates(g.principal))
            except ApiError as exc:
                if exc.code != "batch_already_imported":
                    raise
                errors = [{"row": 0, "field": "file", "message": _("This file was imported before; nothing was "
                                                                   "imported again.")}]
    buildings = _buildings_named(errors)
    shown = [e | {"column": column_label(e.get("field")), "message": row_message(e, buildings)} for e in errors]
    status = 422 if errors else (201 if result else 200)
    return render_template("committee_batch.html", result=result, errors=shown, filename=filename,
                           errors_json=json.dumps(shown[:200], ensure_ascii=False)), status


def column_label(field) -> str:
    """The template column (zh-CN header in Chinese) an error is about; the field itself for anything else."""
    key = _COLUMN_OF.get(str(field), str(field))
    if key in committee_upload.COLUMNS:
        zh, en = committee_upload.COLUMNS[key]
        return zh if getattr(get_locale(), "language", "zh") == "zh" else en
    return {"file": _("File"), "rows": _("File"), "urgent": _("Urgent")}.get(str(field), str(field))


_DUPLICATE_ROW = "same complaint as row "  # intake's domain.batch.duplicate_errors


def _buildings_named(errors: list) -> list:
    """The buildings an unknown-building message lists: the directory of the member's estate (one estate only:
    with several, a row's estate is not in the error)."""
    if not any(e.get("field") == "location.building" for e in errors):
        return []
    estates = member_estates(g.principal)
    if len(estates) != 1:
        return []
    return [b["code"] for b in building_choices(estates).get(next(iter(estates))) or []]


def row_message(error: dict, buildings=()) -> str:
    """A row error in the user's language: intake's English message replaced by the field's own words (the
    gateway's own file problems are translated already); an unknown building lists the estate's ``buildings``."""
    message = str(error.get("message") or "")
    if message.startswith(_DUPLICATE_ROW):
        return _("Same complaint as row %(row)s.", row=message[len(_DUPLICATE_ROW):])
    field = str(error.get("field"))
    if field == "location.building" and buildings:
        return _("This building is not one of the estate's; its buildings: %(buildings)s. Use a building's code or "
                 "name, or leave the column empty.", buildings="、".join(buildings))
    key = field if field in _ROW_MESSAGES else _COLUMN_OF.get(field, field)
    return str(_ROW_MESSAGES[key]) if key in _ROW_MESSAGES else message


@bp.get("/committee/template.<fmt>")
@page(ROLE)
def template(fmt: str):
    headers = [zh for zh, _en in committee_upload.COLUMNS.values()]
    if fmt == "csv":
        content, mimetype = committee_upload.template_csv(headers), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        notes = [(zh, str(_NOTES[key])) for key, (zh, _en) in committee_upload.COLUMNS.items()]
        content = committee_upload.template_xlsx(headers, notes)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        abort(404)
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=committee-template.{fmt}"})


@bp.post("/committee/batch/errors.csv")
@page(ROLE)
def errors_csv():
    """The problems listed on the upload page, as a CSV (they came back from the browser: formula-safe)."""
    try:
        errors = json.loads(request.form.get("errors", "[]"))
    except ValueError:
        errors = []
    rows = [e for e in errors if isinstance(e, dict)][:500] if isinstance(errors, list) else []
    rows = [{"row": e.get("row") if isinstance(e.get("row"), int) else "", "field": e.get("column"),
             "message": e.get("message")} for e in rows]
    content = committee_upload.errors_csv(rows, (_("Row"), _("Column"), _("Problem")))
    return Response(content, mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=committee-errors.csv"})


bp.register_error_handler(Exception, page_error)
