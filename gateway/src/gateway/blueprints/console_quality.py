"""Supervisor and site-manager pages (issue 8): ``/quality`` (不合格与纠正预防) and ``/workload`` (团队工作量).

- ``GET /quality?estate=&nc_status=&capa_status=`` — workflow's nonconformity records (a loss of 500 yuan or more;
  those waiting for the site manager's decision first, each linking to its case) and CAPA records (cause, the
  cases behind it, owner, due and check dates, overdue). Filters: estate, and each list's status (default: every
  status of the records, open CAPA only).
- ``POST /quality/capa/<capa_id>/check`` (CSRF) — the effectiveness check of an open CAPA record (workflow
  ``check_capa``): effective (closes it) or not yet (due again in 30 days), a note required for "not yet". Offered
  where workflow allows it: the estate's site manager, head office, group admin. Field errors are shown next to
  the record's form (422); a refusal by workflow (403, 404) is the page's error.
- ``GET /workload?estate=`` — per estate in scope and per assignee: open, overdue now, due within 24 h and
  deferred cases (workflow ``team_workload``, one SQL query), with a link to the estate's overdue queue.

Readers: cs_supervisor and site_manager (their estates), head_office and group_admin (every estate). Workflow
scopes every row by the roles in the call context, so the query string cannot widen the scope.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error
from .quality import CAPA_STATUSES, NONCONFORMITY_STATUSES, reach

bp = Blueprint("console_quality", __name__)
bp.register_error_handler(Exception, page_error)

PAGE_ROLES = ("cs_supervisor", "site_manager", "head_office", "group_admin")
CHECK_ROLES = ("site_manager", "head_office", "group_admin")  # may_check's roles: a supervisor only reads
GROUP_ROLES = ("head_office", "group_admin")
NC_STATUSES = {"open": _l("Waiting for the site manager"), "approved": _l("Approved"), "rejected": _l("Rejected")}
CAPA_LABELS = {"open": _l("In progress"), "closed": _l("Closed (effective)")}
TRIGGERS = {"nonconformity": _l("Approved nonconformity record"), "cluster": _l("Same cause 3 times in 30 days")}
NOTE_MAX = 2000
MESSAGES = {
    "effective": _l("Choose whether the action worked."),
    "note": _l("Say why it has not worked yet (at most 2000 characters)."),
    "note_long": _l("At most 2000 characters."),
    "closed": _l("This CAPA record is already closed."),
}


def _estates() -> list[dict]:
    allowed = reach(g.principal)
    if allowed is not None and not allowed:
        abort(403)
    return [e for e in rpc.client().call("intake", "list_estates") if allowed is None or e["code"] in allowed]


def may_check(principal, estate: str) -> bool:
    """workflow's rule (domain/quality.may_decide): the estate's site manager, or a group role."""
    return any(role in GROUP_ROLES or (role == "site_manager" and at == estate) for role, at in principal.roles)


@bp.get("/quality")
@page(*PAGE_ROLES)
def quality():
    return _render_quality({}, None, 200)


def _render_quality(errors: dict, form: dict | None, status: int):
    estates = _estates()
    args = request.args
    estate = args.get("estate") if args.get("estate") in {e["code"] for e in estates} else None
    nc_status = args.get("nc_status") if args.get("nc_status") in NONCONFORMITY_STATUSES else ""
    capa_status = args.get("capa_status", "open")
    capa_status = capa_status if capa_status in CAPA_STATUSES else ""
    records, capa = rpc.client().call_many([
        ("workflow", "list_nonconformities", (estate, nc_status or None)),
        ("workflow", "list_capa", (estate, capa_status or None))])
    records = sorted(records["items"], key=lambda r: r["status"] != "open")  # pending first, else newest first
    names = {e["code"]: e.get("name") or e["code"] for e in estates}
    references = {r["complaint_id"]: r["reference"] for r in records}
    return render_template(
        "quality.html", estates=estates, names=names, records=records, capa=capa["items"], references=references,
        filters={"estate": estate, "nc_status": nc_status, "capa_status": capa_status},
        nc_labels=NC_STATUSES, capa_labels=CAPA_LABELS, triggers=TRIGGERS, errors=errors, form=form or {},
        may_check=lambda e: may_check(g.principal, e)), status


@bp.post("/quality/capa/<capa_id>/check")
@page(*CHECK_ROLES)
def check(capa_id: str):
    try:
        capa_id = str(uuid.UUID(capa_id))
    except ValueError:
        abort(404)
    effective = {"yes": True, "no": False}.get(request.form.get("effective", ""))
    note = request.form.get("note", "")[: NOTE_MAX + 1].strip()
    form = {"capa_id": capa_id, "effective": request.form.get("effective", "")[:3], "note": note}
    errors = {}
    if effective is None:
        errors["effective"] = str(MESSAGES["effective"])
    if len(note) > NOTE_MAX:
        errors["note"] = str(MESSAGES["note_long"])
    elif effective is False and not note:
        errors["note"] = str(MESSAGES["note"])
    if errors:
        return _render_quality(errors, form, 422)
    try:
        done = rpc.client().call("workflow", "check_capa", capa_id, effective, note)
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or int(found.get("status", 500)) != 422:
            raise
        field = (found.get("details") or {}).get("field")
        return _render_quality({"note": str(MESSAGES["note"])} if field == "note" else
                               {"effective": str(MESSAGES["closed"])}, form, 422)
    if done["status"] == "closed":
        flash(_("The CAPA record is closed: the action worked."))
    else:
        flash(_("Recorded: not effective yet. The record stays open and is due again in 30 days."))
    return redirect(url_for("console_quality.quality", estate=request.args.get("estate") or None))


@bp.get("/workload")
@page(*PAGE_ROLES)
def workload():
    estates = _estates()
    estate = request.args.get("estate") if request.args.get("estate") in {e["code"] for e in estates} else None
    found = rpc.client().call("workflow", "team_workload", estate)
    groups = []
    for e in estates:
        if estate and e["code"] != estate:
            continue
        rows = [r for r in found["items"] if r["estate"] == e["code"]]
        totals = {k: sum(r[k] for r in rows) for k in ("open", "overdue", "due_24h", "deferred")}
        groups.append({"code": e["code"], "name": e.get("name") or e["code"], "rows": rows, "totals": totals})
    return render_template("workload.html", estates=estates, groups=groups, filters={"estate": estate},
                           as_of=found.get("as_of"))
