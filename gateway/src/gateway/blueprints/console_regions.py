"""The group's regions: ``/admin/regions`` (区域管理), owned by intake (``intake.regions_admin``).

- ``GET /admin/regions`` — every region (code, name, active estates in it, active) and a form to add one.
- ``POST /admin/regions`` — add (code and name checked here first, each bad one next to itself in the user's
  language; a taken code is intake's refusal, shown on the code).
- ``POST /admin/regions/<region_code>`` — rename (``name``) or deactivate / reactivate (``active``: 0 or 1). A
  region with active estates is not deactivated: the page names them.

group_admin and head_office only (intake refuses anyone else too); saves are audited as ``region_saved``.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error
from .estate_directory import REGION_WRITERS
from .estates import CODE_PATTERN

bp = Blueprint("console_regions", __name__)
bp.register_error_handler(Exception, page_error)

MESSAGES = {
    "code": _l("2 to 40 letters, digits, - and _, starting with a letter or digit."),
    "code_taken": _l("A region with this code exists already."),
    "name": _l("Enter a name of at most 100 characters."),
    "other": _l("The region could not be saved; check it and try again."),
}
_CODE = re.compile(CODE_PATTERN)


def _render(form: dict, errors: dict, status: int, problem: str | None = None):
    regions = rpc.client().call("intake", "list_regions")
    return render_template("admin_regions.html", regions=regions, form=form, errors=errors, problem=problem), status


@bp.get("/admin/regions")
@page(*REGION_WRITERS)
def regions_page():
    return _render({"code": "", "name": ""}, {}, 200)


def _save(method: str, args: tuple) -> tuple[dict | None, dict, str | None]:
    """(intake's answer, field errors, a problem for the whole page); 403/404 abort, 5xx is raised."""
    try:
        return rpc.client().call("intake", method, *args), {}, None
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or not 400 <= int(found.get("status", 500)) < 500:
            raise
        status, code = int(found["status"]), found.get("error")
        if status in (403, 404):
            abort(status)
        if code == "region_exists":
            return None, {"code": str(MESSAGES["code_taken"])}, None
        if code == "region_in_use":
            names = ", ".join((found.get("details") or {}).get("estates") or [])
            return None, {}, _("Estates are still active in this region (%(estates)s). Move them to another region "
                               "or deactivate them first.", estates=names)
        field = str((found.get("details") or {}).get("field") or "")
        return None, ({field: str(MESSAGES[field])} if field in ("code", "name") else {}), str(MESSAGES["other"])


@bp.post("/admin/regions")
@page(*REGION_WRITERS)
def create():
    form = {k: (request.form.get(k) or "").strip()[:200] for k in ("code", "name")}
    errors = {}
    if not _CODE.match(form["code"]):
        errors["code"] = str(MESSAGES["code"])
    if not 0 < len(form["name"]) <= 100:
        errors["name"] = str(MESSAGES["name"])
    saved, found, problem = (None, errors, None) if errors else _save("create_region", (form,))
    if saved is None:
        return _render(form, found, 422, problem)
    g.directory_saved = saved
    flash(_("Region %(code)s added.", code=saved["code"]))
    return redirect(url_for("console_regions.regions_page"))


@bp.post("/admin/regions/<region_code>")
@page(*REGION_WRITERS)
def update(region_code: str):
    changes = {}
    if "name" in request.form:
        changes["name"] = (request.form.get("name") or "").strip()[:200]
        if not 0 < len(changes["name"]) <= 100:
            return _render({"code": "", "name": ""}, {}, 422, str(MESSAGES["name"]))
    if request.form.get("active") in ("0", "1"):
        changes["active"] = request.form["active"] == "1"
    saved, errors, problem = _save("update_region", (region_code[:40], changes))
    if saved is None:
        return _render({"code": "", "name": ""}, {}, 422, problem or next(iter(errors.values()), None))
    g.directory_saved = saved
    flash(_("Region %(code)s saved.", code=saved["code"]))
    return redirect(url_for("console_regions.regions_page"))
