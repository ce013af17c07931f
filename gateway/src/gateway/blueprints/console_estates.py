"""Head office's estate directory: ``/admin/estates`` (项目管理), owned by intake (``intake.estates_admin``).

- ``GET /admin/estates`` — every estate of the tenant (code, name, kind, region, time zone, registered units,
  active) and a form to add one.
- ``POST /admin/estates`` — add: every field checked here first (each bad one shown next to itself in the user's
  language), then ``intake.create_estate``; intake's refusals (a code taken, a region unknown) are mapped onto
  their field.
- ``GET /admin/estates/<code>``, ``POST /admin/estates/<code>`` — the edit form (the code is shown, never
  editable) and its save (``intake.update_estate``); unticking "active" deactivates the estate: it leaves the
  owners' and agents' estate choices, its complaints stay.

group_admin and head_office only (intake refuses anyone else too); saves are audited as ``estate_saved``.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error
from .digest_settings import ZONES, valid_zone
from .estates import CODE_PATTERN, KINDS, MAX_UNITS, WRITERS

bp = Blueprint("console_estates", __name__)
bp.register_error_handler(Exception, page_error)

FIELDS = ("code", "name", "kind", "region", "timezone", "address", "units")
KIND_LABELS = {"residential": _l("Residential"), "office": _l("Office building"), "commercial": _l("Commercial"),
               "handover": _l("Handover phase")}
MESSAGES = {
    "code": _l("2 to 40 letters, digits, - and _, starting with a letter or digit."),
    "code_taken": _l("An estate with this code exists already."),
    "name": _l("Enter a name of at most 100 characters."),
    "kind": _l("Choose a kind of estate."),
    "region": _l("Choose one of the group's regions, or none."),
    "timezone": _l("Choose a time zone."),
    "address": _l("At most 200 characters."),
    "units": _l("A whole number from 1 to 1,000,000, or empty."),
    "other": _l("The estate could not be saved; check it and try again."),
}
_CODE = re.compile(CODE_PATTERN)


def _directory() -> tuple[list[dict], list[dict]]:
    estates, regions = rpc.client().call_many([("intake", "list_estates", ()), ("intake", "list_regions", ())])
    return sorted(estates, key=lambda e: e.get("code") or ""), regions


def _render(form: dict, errors: dict, status: int, editing: str | None = None):
    estates, regions = _directory()
    zones = list(ZONES) + ([form["timezone"]] if form.get("timezone") and form["timezone"] not in ZONES else [])
    return render_template("admin_estates.html", estates=estates, regions=regions, form=form, errors=errors,
                           editing=editing, kinds=KINDS, kind_labels=KIND_LABELS, zones=zones), status


@bp.get("/admin/estates")
@page(*WRITERS)
def estates_page():
    blank = {"code": "", "name": "", "kind": "residential", "region": "", "timezone": "Asia/Shanghai",
             "address": "", "units": "", "active": True}
    return _render(blank, {}, 200)


@bp.get("/admin/estates/<code>")
@page(*WRITERS)
def edit_page(code: str):
    found = [e for e in rpc.client().call("intake", "list_estates") if e.get("code") == code[:40]]
    if not found:
        abort(404)
    e = found[0]
    form = {"code": e["code"], "name": e["name"], "kind": e["kind"], "region": e.get("region") or "",
            "timezone": e["timezone"], "address": e.get("address") or "",
            "units": "" if e.get("units") is None else str(e["units"]), "active": e.get("active", True)}
    return _render(form, {}, 200, editing=e["code"])


def _from_form(creating: bool) -> tuple[dict, dict, dict]:
    """(the form as typed, the values for intake, ``{field: message}`` for each bad field)."""
    form = {name: (request.form.get(name) or "").strip()[:300] for name in FIELDS}
    form["active"] = True if creating else request.form.get("active") == "1"
    errors = {}
    if creating and not _CODE.match(form["code"]):
        errors["code"] = MESSAGES["code"]
    if not 0 < len(form["name"]) <= 100:
        errors["name"] = MESSAGES["name"]
    if form["kind"] not in KINDS:
        errors["kind"] = MESSAGES["kind"]
    if len(form["region"]) > 40:
        errors["region"] = MESSAGES["region"]
    if not valid_zone(form["timezone"]):
        errors["timezone"] = MESSAGES["timezone"]
    if len(form["address"]) > 200:
        errors["address"] = MESSAGES["address"]
    units = None
    if form["units"]:
        digits = form["units"].replace(",", "")
        units = int(digits) if digits.isdigit() and len(digits) <= 8 else 0
        if not 1 <= units <= MAX_UNITS:
            errors["units"] = MESSAGES["units"]
    values = {"name": form["name"], "kind": form["kind"], "region": form["region"] or None,
              "timezone": form["timezone"], "address": form["address"], "units": units, "active": form["active"]}
    if creating:
        values["code"] = form["code"]
    return form, values, {k: str(v) for k, v in errors.items()}


def _save(method: str, args: tuple) -> dict | None:
    """intake's answer, or None with ``g.estate_errors`` for its 4xx on a field; 403 aborts, 5xx is raised."""
    try:
        return rpc.client().call("intake", method, *args)
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or not 400 <= int(found.get("status", 500)) < 500:
            raise
        if int(found["status"]) == 403:
            abort(403)
        if found.get("error") == "estate_exists":
            g.estate_errors = {"code": str(MESSAGES["code_taken"])}
        elif int(found["status"]) == 404:
            abort(404)
        else:
            field = str((found.get("details") or {}).get("field") or "")
            g.estate_errors = {field if field in FIELDS else "other": str(MESSAGES.get(field, MESSAGES["other"]))}
        return None


@bp.post("/admin/estates")
@page(*WRITERS)
def create():
    form, values, errors = _from_form(creating=True)
    saved = None if errors else _save("create_estate", (values,))
    if saved is None:
        return _render(form, errors or g.estate_errors, 422)
    g.estate_saved = saved
    flash(_("Estate %(code)s added.", code=saved["code"]))
    return redirect(url_for("console_estates.estates_page"))


@bp.post("/admin/estates/<code>")
@page(*WRITERS)
def update(code: str):
    form, values, errors = _from_form(creating=False)
    form["code"] = code[:40]
    saved = None if errors else _save("update_estate", (code[:40], values))
    if saved is None:
        return _render(form, errors or g.estate_errors, 422, editing=code[:40])
    g.estate_saved = saved
    flash(_("Estate %(code)s saved.", code=saved["code"]))
    return redirect(url_for("console_estates.estates_page"))
