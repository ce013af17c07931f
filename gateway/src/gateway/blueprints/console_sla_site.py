"""Site settings of the time limits: ``/settings/sla/site`` (营业时间与升级), the forms beside the YAML editor of
``/settings/sla`` (``console_sla_settings.py``), for the same people and scopes: a site manager their estates, a
group admin the group, each region and each estate.

- ``GET /settings/sla/site?scope=`` — business hours (several periods a day), closures and extra working days
  (each with a reason), time zone and calendar, the escalation ladder and warning points, filled from the
  scope's own layer (or, for what it inherits, the values in force); the ladder in force as a table of who is
  told at which point per severity; the live preview.
- ``POST /settings/sla/site/preview`` (console JSON, CSRF header; the form's own fields) — the form checked
  (``sla_site_form``: 422 ``validation_failed`` with ``details.fields`` {field id: message}), then
  ``workflow.preview_sla`` twice: the policy in force and the edited layer on top of the other layers, so each
  stage shows its due time now and after the change.
- ``POST /settings/sla/site`` — the same checks, then ``workflow.save_sla_policy`` with the scope's layer as a
  new effective-dated version (the other keys of the layer, e.g. its stages, are kept as they are). Open cases
  keep their deadlines unless "recompute" is ticked, as on the YAML page.

The report after saving is the YAML page's (same session key): the redirect goes back here and shows it.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from nameko.exceptions import RemoteError

from .. import labels, rpc, sla_site_form as site_form
from ..web import select_locale
from .console import page, page_error
from .console_extensions import local_to_instant
from .console_sla_settings import (MESSAGES, REPORT_ROWS, SETTINGS_ROLES, ZONE, _context, _json, _refusal,
                                   _starting_point)

bp = Blueprint("console_sla_site", __name__)


def _state(scope_code):
    """The chosen scope, what is in force for it, its own layer and the severities."""
    chosen, scopes, covered = _context(scope_code)
    in_force = rpc.client().call("workflow", "get_sla_policy", chosen["estate"], None)
    own = next((lv for lv in in_force["levels"] if lv["scope"] == chosen["scope"]), None)
    severities = list((in_force["document"].get("severities") or {}).keys())
    return chosen, scopes, covered, in_force, own, severities


def _posted_state():
    chosen, scopes, covered, in_force, own, severities = _state(request.form.get("scope"))
    if chosen["scope"] != request.form.get("scope"):
        abort(403)
    years = rpc.client().call("workflow", "list_calendar_years")["calendars"]
    rows, errors = site_form.read(request.form, chosen["scope"] == "group", severities,
                                  in_force["document"].get("calendar", "cn"), years)
    base = own["document"] if own else (_starting_point(in_force["document"], "group")
                                        if chosen["scope"] == "group" else {})
    document = site_form.layer(base, rows, chosen["scope"] == "group", severities)
    return chosen, scopes, covered, in_force, own, severities, rows, errors, document


@bp.get("/settings/sla/site")
@page(*SETTINGS_ROLES)
def settings():
    chosen, scopes, covered, in_force, own, severities = _state(request.args.get("scope"))
    group = chosen["scope"] == "group"
    rows = site_form.rows_from(in_force["document"])
    sections = site_form.sections_set(own["document"] if own else None, group)
    if own:  # what this layer sets is shown from the layer itself
        mine = site_form.rows_from(own["document"])
        for name, keys in (("calendar", ("timezone", "calendar", "hours")), ("days", ("closures", "extra")),
                           ("ladder", ("rungs", "warning", "severity_warning"))):
            if name in sections:
                rows.update({k: mine[k] for k in keys})
    if not rows["rungs"]:
        rows["rungs"] = [dict(r) for r in site_form.DEFAULT_LADDER]
    rows["sections"] = sections
    return _render(chosen, scopes, covered, in_force, own, severities, rows, {}, 200, {})


def _render(chosen, scopes, covered, in_force, own, severities, rows, errors, status, form, problems=()):
    zone = chosen.get("timezone") or (covered[0].get("timezone") if covered else None) or ZONE
    for key, blank in (("hours", {"start": "", "end": ""}), ("closures", {"date": "", "reason": ""}),
                       ("extra", {"date": "", "reason": ""}), ("rungs", {"role": "", "limit": ""})):
        rows[key] = list(rows[key]) + [dict(blank)]  # one empty row to add to (settings_rows.js adds more)
    return render_template(
        "settings_sla_site.html", chosen=chosen, scopes=scopes, covered=covered, in_force=in_force, own=own,
        severities=severities, rows=rows, errors=errors, form=form, zone=zone, problems=list(problems),
        group=chosen["scope"] == "group", calendars=site_form.CALENDARS, rung_roles=site_form.RUNG_ROLES,
        ladder=site_form.ladder_table(in_force["document"], severities), report=session.pop("sla_report", None),
        inherited=site_form.rows_from(in_force["document"])), status


@bp.post("/settings/sla/site/preview")
@_json
def preview():
    chosen, _scopes, covered, _in_force, _own, severities, _rows, errors, document = _posted_state()
    if errors:
        return _invalid(errors)
    estate = next((e for e in covered if e["code"] == request.form.get("p_estate")), covered[0] if covered else None)
    received = local_to_instant(request.form.get("p_received_at", "")[:40], (estate or {}).get("timezone") or ZONE)
    if received is None:
        return _invalid({"p_received_at": str(MESSAGES["received_at"])})
    severity = request.form.get("p_severity", "")
    if severity not in severities:
        return _invalid({"p_severity": str(MESSAGES["severity"])})
    target = {"code": estate["code"], "region": estate.get("region")} if estate else chosen["estate"]
    args = (received.isoformat(), severity, None, target, None)
    try:
        now, after = rpc.client().call_many([("workflow", "preview_sla", (None,) + args),
                                             ("workflow", "preview_sla", (document,) + args + (chosen["scope"],))])
    except Exception as exc:  # noqa: BLE001 - a caller error of either call is the form's; anything else re-raised
        return _workflow_refusal(exc)
    before = {s["name"]: s["due_at"] for s in now["stages"]}
    english = select_locale() == "en"
    return jsonify({"policy_version": after["policy_version"], "timezone": after["timezone"],
                    "stages": [{"name": s["name"], "label": labels.stage(s["name"]),
                                "before_local": _local(before.get(s["name"])), "due_local": _local(s["due_at"]),
                                "changed": before.get(s["name"]) != s["due_at"],
                                "explanation": s["explanation_en"] if english else s["explanation"]}
                               for s in after["stages"]]})


def _local(instant: str | None) -> str:
    return instant[:16].replace("T", " ") if instant else "—"


def _invalid(fields: dict):
    first = next(iter(fields))
    return jsonify({"error": "validation_failed", "message": _("Check the marked fields."),
                    "details": {"field": first, "fields": fields}}), 422


def _workflow_refusal(exc):
    if not isinstance(exc, RemoteError):
        raise exc
    found = _refusal(exc)
    details = found.get("details") or {}
    fields = _fields_of(details.get("problems") or [])
    code = found.get("error")
    message = str(MESSAGES[code]) if code in MESSAGES else str(MESSAGES["other"])
    return jsonify({"error": code, "message": message,
                    "details": {"field": details.get("field"), "fields": fields,
                                "problems": details.get("problems") or [], "year": details.get("year")}}), 422


def _fields_of(problems: list[dict]) -> dict:
    out = {}
    for p in problems:
        field = site_form.field_of(p.get("path"))
        if field and field not in out:
            out[field] = p.get("problem") or ""
    return out


@bp.post("/settings/sla/site")
@page(*SETTINGS_ROLES)
def save():
    chosen, scopes, covered, in_force, own, severities, rows, errors, document = _posted_state()
    form = {"effective_from": request.form.get("effective_from", "")[:40],
            "recompute_open": request.form.get("recompute_open") == "1"}
    zone = chosen.get("timezone") or ZONE
    effective = None
    if form["effective_from"].strip():
        effective = local_to_instant(form["effective_from"], zone)
        if effective is None:
            errors["effective_from"] = str(MESSAGES["effective_from"])
    if errors:
        return _render(chosen, scopes, covered, in_force, own, severities, rows, errors, 422, form)
    directory = [{"code": e.get("code"), "region": e.get("region")}
                 for e in rpc.client().call("intake", "list_estates")]
    try:
        report = rpc.client().call("workflow", "save_sla_policy", chosen["scope"], document,
                                   effective.isoformat() if effective else None, form["recompute_open"], directory,
                                   timeout=60)
    except Exception as exc:  # noqa: BLE001 - see _workflow_refusal
        body, _status = _workflow_refusal(exc)
        details = body.get_json()
        errors = dict(details["details"]["fields"])
        code = details["error"]
        if code == "validation_failed" and details["details"].get("field") in MESSAGES:
            errors[details["details"]["field"]] = str(MESSAGES[details["details"]["field"]])
        errors["form"] = details["message"]
        return _render(chosen, scopes, covered, in_force, own, severities, rows, errors, 422, form,
                       details["details"]["problems"])
    session["sla_report"] = {
        "scope": report["scope"], "version": report["version"], "effective_from": report["effective_from"],
        "recompute": form["recompute_open"], "recomputed": report["recomputed"][:REPORT_ROWS],
        "recomputed_total": len(report["recomputed"]), "unchanged": report["unchanged"],
        "failed": [f | {"error": str(f.get("error"))[:120]} for f in report["failed"][:REPORT_ROWS]],
        "failed_total": len(report["failed"])}
    flash(_("Saved version %(version)d of %(scope)s.", version=report["version"], scope=chosen["label"]))
    return redirect(url_for("console_sla_site.settings", scope=chosen["scope"]))


bp.register_error_handler(Exception, page_error)
