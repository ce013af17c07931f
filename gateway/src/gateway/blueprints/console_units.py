"""An estate's buildings and units: ``/admin/estates/<code>/units`` (楼栋与房号), owned by intake
(``intake.estate_units``). Group admins reach every estate, site managers their own (another estate: 404).

| page | what |
|---|---|
| ``GET /admin/units`` | the chosen (``?estate=``) or first estate the caller manages (the nav entry) |
| ``GET /admin/estates/<code>/units`` | registered units, buildings with their units, forms to add, rename, remove |
| ``POST /admin/estates/<code>/buildings`` / ``…/buildings/<b>`` / ``…/buildings/<b>/remove`` | add / rename / remove (with its units) |
| ``POST /admin/estates/<code>/units`` / ``…/buildings/<b>/units/<u>`` / ``…/remove`` | add / change (code renames; floor, area) / remove |
| ``POST /admin/estates/<code>/units/import`` | a CSV/XLSX sheet: the preview (what is added, updated, unchanged, every row error with line and column); ``apply`` with the previewed rows carries it out |
| ``GET /admin/units/template.<fmt>`` | the sheet to fill in (楼栋, 房号, 楼层, 建筑面积) |

The previewed rows travel back in the page's form (at most 5,000; intake checks them all again on apply, so an
edited form can do no more than the API). Changes are audited like the API's (``audit.AUDITED``).
"""
from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc, units_upload
from .console import page, page_error
from .estate_directory import UNIT_WRITERS, run_import

bp = Blueprint("console_units", __name__)
bp.register_error_handler(Exception, page_error)

MESSAGES = {
    "building": units_upload.MESSAGES["building"], "unit": units_upload.MESSAGES["unit"],
    "floor": units_upload.MESSAGES["floor"], "area": units_upload.MESSAGES["area"],
    "name": _l("Enter a name of at most 100 characters."),
    "building_exists": _l("A building with this code exists already."),
    "unit_exists": _l("This unit exists already in the building."),
    "building_not_found": _l("This building is not there (any more)."),
    "unit_not_found": _l("This unit is not there (any more)."),
    "other": _l("The change could not be saved; check it and try again."),
}
_ROW_KEYS = ("line", "building", "unit", "floor", "area")


def _managed() -> list[dict]:
    """The estates the caller manages (group admins: all; site managers: theirs), by code."""
    roles = g.principal.roles
    mine = {e for r, e in roles if r == "site_manager"}
    every = any(r == "group_admin" for r, _e in roles)
    estates = rpc.client().call("intake", "list_estates")
    return sorted((e for e in estates if every or e.get("code") in mine), key=lambda e: e.get("code") or "")


def _estate(code: str) -> tuple[str, list[dict]]:
    code = code.strip().upper()[:40]
    managed = _managed()
    if code not in {e["code"] for e in managed}:
        abort(404)
    return code, managed


def _render(code: str, status: int = 200, errors: dict | None = None, problem: str | None = None,
            form: dict | None = None, preview: dict | None = None):
    code, managed = _estate(code)
    directory = rpc.client().call("intake", "list_buildings", code)
    return render_template("admin_units.html", estate=code, estates=managed, directory=directory,
                           errors=errors or {}, problem=problem, form=form or {}, preview=preview), status


@bp.get("/admin/units")
@page(*UNIT_WRITERS)
def first_estate():
    managed = _managed()
    if not managed:
        abort(404)
    chosen = (request.args.get("estate") or "").strip().upper()[:40]
    code = chosen if chosen in {e["code"] for e in managed} else managed[0]["code"]
    return redirect(url_for("console_units.units_page", code=code))


@bp.get("/admin/estates/<code>/units")
@page(*UNIT_WRITERS)
def units_page(code: str):
    return _render(code)


def _call(method: str, *args) -> tuple[dict | None, str | None, str | None]:
    """(intake's answer, the field at fault, its message); 403/404 on the estate abort, 5xx is raised."""
    try:
        return rpc.client().call("intake", method, *args), None, None
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or not 400 <= int(found.get("status", 500)) < 500:
            raise
        status, error = int(found["status"]), str(found.get("error"))
        if status == 403 or error == "estate_not_found":
            abort(403 if status == 403 else 404)
        field = str((found.get("details") or {}).get("field") or "")
        if error in MESSAGES:
            return None, field or "other", str(MESSAGES[error])
        return None, field or "other", str(MESSAGES.get(field, MESSAGES["other"]))


def _done(code: str, saved: dict | None, field: str | None, message: str | None, form: dict, flash_text):
    if saved is None:
        return _render(code, 422, errors={field: message}, problem=message, form=form)
    g.directory_saved = saved
    flash(flash_text(saved))
    return redirect(url_for("console_units.units_page", code=code) + "#directory")


def _form(*names: str) -> dict:
    return {n: (request.form.get(n) or "").strip()[:200] for n in names}


@bp.post("/admin/estates/<code>/buildings")
@page(*UNIT_WRITERS)
def create_building(code: str):
    code, _m = _estate(code)
    form = _form("building_code", "building_name")
    saved, field, message = _call("save_building", code, form["building_code"],
                                  {"name": form["building_name"] or None}, True)
    return _done(code, saved, field and "building_" + ("name" if field == "name" else "code"), message, form,
                 lambda s: _("Building %(building)s added.", building=s["building"]))


@bp.post("/admin/estates/<code>/buildings/<building>")
@page(*UNIT_WRITERS)
def update_building(code: str, building: str):
    code, _m = _estate(code)
    saved, field, message = _call("save_building", code, building[:41], {"name": _form("name")["name"]}, False)
    return _done(code, saved, field, message, {},
                 lambda s: _("Building %(building)s saved.", building=s["building"]))


@bp.post("/admin/estates/<code>/buildings/<building>/remove")
@page(*UNIT_WRITERS)
def delete_building(code: str, building: str):
    code, _m = _estate(code)
    saved, field, message = _call("remove_building", code, building[:41])
    return _done(code, saved, field, message, {},
                 lambda s: _("Building %(building)s and its %(n)d units removed.", building=s["building"],
                             n=s["removed_units"]))


def _unit_values(form: dict) -> dict:
    """Floor and area as typed (intake parses them: empty is none)."""
    return {"floor": form.get("floor") or None, "area": form.get("area") or None}


@bp.post("/admin/estates/<code>/units")
@page(*UNIT_WRITERS)
def create_unit(code: str):
    code, _m = _estate(code)
    form = _form("unit_building", "unit_code", "floor", "area")
    saved, field, message = _call("save_unit", code, form["unit_building"], form["unit_code"], _unit_values(form),
                                  True)
    field = {"building": "unit_building", "unit": "unit_code"}.get(field, field)
    return _done(code, saved, field, message, form,
                 lambda s: _("Unit %(building)s %(unit)s added.", building=s["building"], unit=s["unit"]))


@bp.post("/admin/estates/<code>/buildings/<building>/units/<unit>")
@page(*UNIT_WRITERS)
def update_unit(code: str, building: str, unit: str):
    code, _m = _estate(code)
    form = _form("code", "floor", "area")
    changes = {"code": form["code"] or unit[:41]} | _unit_values(form)
    saved, field, message = _call("save_unit", code, building[:41], unit[:41], changes, False)
    return _done(code, saved, field, message, {},
                 lambda s: _("Unit %(building)s %(unit)s saved.", building=s["building"], unit=s["unit"]))


@bp.post("/admin/estates/<code>/buildings/<building>/units/<unit>/remove")
@page(*UNIT_WRITERS)
def delete_unit(code: str, building: str, unit: str):
    code, _m = _estate(code)
    saved, field, message = _call("remove_unit", code, building[:41], unit[:41])
    return _done(code, saved, field, message, {},
                 lambda s: _("Unit %(building)s %(unit)s removed.", building=s["building"], unit=s["unit"]))


def _previewed_rows() -> list[dict]:
    """The rows the preview put into its form (bounded; intake checks every value again)."""
    try:
        rows = json.loads(request.form.get("rows") or "[]")
    except ValueError:
        return []
    if not isinstance(rows, list):
        return []
    return [dict(zip(_ROW_KEYS, r)) for r in rows[:units_upload.MAX_ROWS] if isinstance(r, list) and len(r) == 5]


@bp.post("/admin/estates/<code>/units/import")
@page(*UNIT_WRITERS)
def import_units(code: str):
    code, _m = _estate(code)
    if request.form.get("apply") == "1":
        rows = _previewed_rows()
        result, errors = run_import(code, rows, True) if rows else ({}, units_upload.shown(
            [{"line": 0, "column": "file", "message": str(units_upload.MESSAGES["empty"])}], own=True))
        if errors or not result.get("applied"):
            return _render(code, 422, preview={"result": result, "errors": errors, "rows": "[]"})
        g.directory_saved = result
        flash(_("Import done: %(added)d units added, %(updated)d updated, %(unchanged)d unchanged.",
                added=result["added"], updated=result["updated"], unchanged=result["unchanged"]))
        return redirect(url_for("console_units.units_page", code=code) + "#directory")
    upload = request.files.get("file")
    content = upload.read(units_upload.MAX_FILE_BYTES + 1) if upload is not None and upload.filename else b""
    rows, errors = units_upload.read_rows(content)
    result = {}
    if not errors:
        result, errors = run_import(code, rows, False)
    packed = json.dumps([[r.get(k, "") for k in _ROW_KEYS] for r in rows], ensure_ascii=False,
                        separators=(",", ":"))
    preview = {"result": result, "errors": units_upload.shown(errors, own=True) if not result else errors,
               "rows": packed if not errors else "[]"}
    return _render(code, 422 if errors else 200, preview=preview)


@bp.get("/admin/units/template.<fmt>")
@page(*UNIT_WRITERS)
def template(fmt: str):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    content, mimetype = units_upload.template(fmt)
    return Response(content, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename=units-template.{fmt}"})
