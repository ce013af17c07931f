"""Site settings, time limits: ``/settings/sla`` (时限设置) for site managers (their estates), head office (总部:
the group's default policy and each region's, presets included) and group admins (the group, each region, each
estate). Head office sets the defaults; an estate's override is its site manager's (DOMAIN.md: each site
configures its own limits inside the group's defaults), so head office gets no estate scope here.

- ``GET /settings/sla?scope=`` — the policy in force for the scope (``workflow.get_sla_policy``: its layers and
  the merged stages of each severity), a YAML editor holding the scope's own layer (or, for an estate without
  an override yet, the stages in force as a starting point), the live preview and the version history
  (``workflow.list_sla_policy_versions``). ``&preset=NAME`` fills the editor with a shipped preset
  (``workflow.list_sla_presets``: the complete ones for the group layer, the handover override for a region or
  estate); nothing is stored until the user saves, and the live preview follows the text as for any edit.
- ``POST /settings/sla/preview`` (console JSON, CSRF header) — ``workflow.preview_sla`` with the edited text as
  the scope's layer on top of the layers in force (``scope=``), for a severity and a received-at in the
  estate's time; a policy error answers 422 with workflow's problems (path, line, problem). ``console_sla.js``
  calls it 400 ms after the last keystroke.
- ``POST /settings/sla`` — ``workflow.save_sla_policy`` (effective from now or a later local time; optionally
  recompute the open cases); the report (version, cases whose deadlines moved, unchanged, failed) is shown
  after the redirect; a refused document keeps the text and lists the problems with their lines.

Who may save what is the API's rule (``blueprints/sla.py``, ``may_save``): group_admin any scope, head_office
``group`` and ``region:<code>``, a site_manager only ``estate:<their estate>``; workflow checks the document.
"""
from __future__ import annotations

import functools

import yaml
from flask import (Blueprint, abort, current_app, flash, g, jsonify, redirect, render_template, request, session,
                   url_for)
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import accounts, labels, rpc
from ..web import select_locale
from .console import page, page_error
from .console_extensions import local_to_instant
from .sla import MAX_POLICY_TEXT

bp = Blueprint("console_sla_settings", __name__)

SETTINGS_ROLES = ("site_manager", "head_office", "group_admin")
ZONE = "Asia/Shanghai"
REPORT_ROWS = 10  # rows of the save report shown (the totals are exact)
MESSAGES = {
    "policy_invalid": _l("The policy has errors: fix the lines shown."),
    "calendar_unavailable": _l("The statutory calendar has no data for that year yet."),
    "effective_from": _l("Enter a time from now on (estate time), or leave it empty for now."),
    "received_at": _l("Enter when the complaint would be received (estate time)."),
    "severity": _l("Choose a severity the policy defines."),
    "document": _l("Write the policy as YAML (at most 64 KiB)."),
    "preset": _l("Choose one of the presets offered."),
    "other": _l("The policy could not be checked; try again."),
}


def scopes_for(principal, estates: list[dict]) -> list[dict]:
    """``[{scope, label, estate}]`` the principal may edit: group admins everything, head office the group and
    its regions, site managers their estates."""
    admin = principal.has_role("group_admin")
    group_level = admin or principal.has_role("head_office")
    mine = {where for role, where in principal.roles if role == "site_manager"}
    out = [{"scope": "group", "label": _("Group policy"), "estate": None}] if group_level else []
    if group_level:
        regions = sorted({e["region"] for e in estates if e.get("region")})
        out += [{"scope": f"region:{r}", "label": _("Region %(code)s", code=r), "estate": {"code": None, "region": r}}
                for r in regions]
    out += [{"scope": f"estate:{e['code']}", "label": e.get("name") or e["code"],
             "estate": {"code": e["code"], "region": e.get("region")}, "timezone": e.get("timezone")}
            for e in estates if admin or e["code"] in mine]
    return out


def _context(scope_code: str | None) -> tuple[dict, list[dict], list[dict]]:
    estates = rpc.client().call("intake", "list_estates")
    scopes = scopes_for(g.principal, estates)
    if not scopes:
        abort(403)
    chosen = next((s for s in scopes if s["scope"] == scope_code), scopes[0])
    kind, _sep, code = chosen["scope"].partition(":")
    covered = [e for e in estates if kind == "group" or (kind == "region" and e.get("region") == code)
               or e["code"] == code]
    return chosen, scopes, covered


def _json(view):
    """Console JSON: 401/403 as JSON (a fetch cannot follow the login redirect)."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if g.get("principal") is None:
            return jsonify({"error": "unauthenticated"}), 401
        if not g.principal.has_role(*SETTINGS_ROLES):
            return jsonify({"error": "forbidden"}), 403
        return view(*args, **kwargs)
    return wrapper


@bp.get("/settings/sla")
@page(*SETTINGS_ROLES)
def settings():
    chosen, scopes, covered = _context(request.args.get("scope"))
    return _render(chosen, scopes, covered, document=None, problems=[], errors={}, status=200,
                   preset=request.args.get("preset") or None)


def _render(chosen, scopes, covered, document, problems, errors, status, form=None, preset=None):
    client = rpc.client()
    in_force, versions, shipped = client.call_many([
        ("workflow", "get_sla_policy", (chosen["estate"], None)),
        ("workflow", "list_sla_policy_versions", (chosen["scope"],)),
        ("workflow", "list_sla_presets", ())])
    own = next((lv for lv in in_force["levels"] if lv["scope"] == chosen["scope"]), None)
    severities = list((in_force["document"].get("severities") or {}).keys())
    offered = [p for p in shipped["items"] if (p["kind"] == "group") == (chosen["scope"] == "group")]
    loaded = next((p for p in offered if p["name"] == preset), None) if document is None and preset else None
    if preset and loaded is None and document is None:
        errors = errors | {"preset": str(MESSAGES["preset"])}
    if loaded is not None:  # into the editor only: the user previews, then saves it as a new version
        document = loaded["text"]
        if loaded["kind"] == "group":
            severities = [s["key"] for s in loaded["severities"]]
    if document is None:
        document = _yaml(own["document"] if own else _starting_point(in_force["document"], chosen["scope"]))
    items = versions["items"]
    names = {}
    if items:
        with current_app.extensions["db"].connect() as conn:
            names = accounts.display_names(conn, g.principal.tenant_id, [i["created_by"] for i in items if i["created_by"]])
    zone = chosen.get("timezone") or (covered[0].get("timezone") if covered else None) or ZONE
    return render_template(
        "settings_sla.html", chosen=chosen, scopes=scopes, covered=covered, in_force=in_force, own=own,
        document=document, problems=problems, errors=errors, form=form or {}, zone=zone,
        severities=severities, presets=offered, loaded=loaded,
        versions=[i | {"created_by_name": names.get(i["created_by"], i["created_by"])} for i in items],
        report=session.pop("sla_report", None), max_text=MAX_POLICY_TEXT), status


def _starting_point(merged: dict, scope: str) -> dict:
    """For a scope without its own layer: the stages in force, as an override that changes nothing yet."""
    if scope == "group":
        return {k: v for k, v in merged.items() if k != "severities"} | {"severities": _plain(merged)}
    return {"severities": _plain(merged)}


def _plain(merged: dict) -> dict:
    keep = ("name", "limit", "after", "channels", "met_by")  # met_by: which actions meet the stage (docs/sla.md)
    return {sev: {"stages": [{k: s[k] for k in keep if k in s} for s in spec.get("stages", [])]}
            for sev, spec in (merged.get("severities") or {}).items()}


def _yaml(document) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False, default_flow_style=None, width=100)


@bp.post("/settings/sla/preview")
@_json
def preview():
    body = request.get_json(silent=True) or {}
    chosen, _scopes, covered = _context(body.get("scope"))
    if chosen["scope"] != body.get("scope"):
        return jsonify({"error": "forbidden"}), 403
    text = body.get("document")
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_POLICY_TEXT:
        return _invalid("document")
    estate = next((e for e in covered if e["code"] == body.get("estate")), covered[0] if covered else None)
    zone = (estate or {}).get("timezone") or ZONE
    received = local_to_instant(str(body.get("received_at") or ""), zone)
    if received is None:
        return _invalid("received_at")
    severity = body.get("severity")
    if not isinstance(severity, str) or not 0 < len(severity) <= 40:
        return _invalid("severity")
    target = {"code": estate["code"], "region": estate.get("region")} if estate else chosen["estate"]
    try:
        result = rpc.client().call("workflow", "preview_sla", text, received.isoformat(), severity, None, target,
                                   None, scope=chosen["scope"])
    except RemoteError as exc:
        found = _refusal(exc)
        details = found.get("details") or {}
        code = found.get("error")
        key = code if code in MESSAGES else details.get("field") if details.get("field") in MESSAGES else "other"
        return jsonify({"error": code, "message": str(MESSAGES[key]),
                        "details": {"field": details.get("field"), "problems": details.get("problems") or []}}), 422
    return jsonify({"policy_version": result["policy_version"], "timezone": result["timezone"],
                    "estate": (estate or {}).get("code"),
                    "stages": [{"name": s["name"], "label": _stage_label(s["name"]), "due_at": s["due_at"],
                                "due_local": s["due_at"][:16].replace("T", " "),
                                "explanation": s["explanation_en"] if _english() else s["explanation"]}
                               for s in result["stages"]]})


def _invalid(field: str):
    return jsonify({"error": "validation_failed", "message": str(MESSAGES[field]),
                    "details": {"field": field, "problems": []}}), 422


def _refusal(exc: RemoteError) -> dict:
    found = parse_remote(exc.value)
    if found is None or not 400 <= int(found.get("status", 500)) < 500:
        raise exc
    return found


def _stage_label(code: str) -> str:
    return labels.stage(code)


def _english() -> bool:
    return select_locale() == "en"


@bp.post("/settings/sla")
@page(*SETTINGS_ROLES)
def save():
    chosen, scopes, covered = _context(request.form.get("scope"))
    if chosen["scope"] != request.form.get("scope"):
        abort(403)
    text = request.form.get("document", "")[: MAX_POLICY_TEXT + 1]
    form = {"effective_from": request.form.get("effective_from", "")[:40],
            "recompute_open": request.form.get("recompute_open") == "1"}
    zone = chosen.get("timezone") or ZONE
    errors, effective = {}, None
    if not text.strip() or len(text) > MAX_POLICY_TEXT:
        errors["document"] = str(MESSAGES["document"])
    if form["effective_from"].strip():
        effective = local_to_instant(form["effective_from"], zone)
        if effective is None:
            errors["effective_from"] = str(MESSAGES["effective_from"])
    if errors:
        return _render(chosen, scopes, covered, text, [], errors, 422, form)
    directory = [{"code": e.get("code"), "region": e.get("region")}
                 for e in rpc.client().call("intake", "list_estates")]
    try:
        report = rpc.client().call("workflow", "save_sla_policy", chosen["scope"], text,
                                   effective.isoformat() if effective else None, form["recompute_open"], directory,
                                   timeout=60)
    except RemoteError as exc:
        found = _refusal(exc)
        details = found.get("details") or {}
        code, field = found.get("error"), details.get("field")
        if code in ("policy_invalid", "calendar_unavailable"):
            errors["document"] = str(MESSAGES[code])
        elif field in MESSAGES:
            errors[field] = str(MESSAGES[field])
        else:
            errors["document"] = str(MESSAGES["other"])
        return _render(chosen, scopes, covered, text, details.get("problems") or [], errors, 422, form)
    # the report rides in the (cookie) session to the page after the redirect: a bounded summary
    session["sla_report"] = {
        "scope": report["scope"], "version": report["version"], "effective_from": report["effective_from"],
        "recompute": form["recompute_open"], "recomputed": report["recomputed"][:REPORT_ROWS],
        "recomputed_total": len(report["recomputed"]), "unchanged": report["unchanged"],
        "failed": [f | {"error": str(f.get("error"))[:120]} for f in report["failed"][:REPORT_ROWS]], "failed_total": len(report["failed"])}
    flash(_("Saved version %(version)d of %(scope)s.", version=report["version"], scope=chosen["label"]))
    return redirect(url_for("console_sla_settings.settings", scope=chosen["scope"]))


bp.register_error_handler(Exception, page_error)
