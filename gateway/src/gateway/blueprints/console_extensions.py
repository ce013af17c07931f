"""Extensions (延期) in the console: the case page's request and decision forms, and the 延期审批 inbox.

| route | who | what |
|---|---|---|
| ``POST /complaints/<id>/extensions/request`` | acting roles | stage, new due date-time (the estate's local time), reason -> ``workflow.act(id, "request_extension", ...)`` |
| ``POST /complaints/<id>/extensions/decide`` | acting roles | approve or reject (note required to reject) -> ``workflow.act(id, "decide_extension", ...)`` |
| ``GET /extensions`` | cs_supervisor, site_manager, head_office, group_admin | cases in scope with a request waiting (``workflow.list_cases(extension_pending=True)``) |

Workflow decides who may (a ladder role at the estate below head office asks; someone a rung higher than the
requester decides, never the requester). The page offers the forms to the roles that might and renders
workflow's refusals on the case page: 403 ``extension_not_allowed`` as a message, 422 on the field it names,
409 as the stale-version message. The panel's data comes through the ``extension_panel`` template global so
``render_case`` needs no change.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import accounts, audit, labels, rpc, scope
from .case_actions import ACTING_ROLES
from .console import page, page_error
from .console_complaints import render_case, valid_uuid

bp = Blueprint("console_extensions", __name__)

INBOX_ROLES = ("cs_supervisor", "site_manager", "head_office", "group_admin")
# the ladder's rungs (workflow/domain/extensions.py RANKS): who might ask and who might decide
RANKS = {"agent": 0, "department_head": 0, "cs_supervisor": 1, "site_manager": 2, "head_office": 3,
         "group_admin": 3}
TOP_RANK = 3
GROUP_ROLES = ("head_office", "group_admin")
DONE = ("resolved", "closed", "cancelled")
PAGE_SIZE = 50
MESSAGES = {
    "stage": _l("Choose the stage to extend."),
    "new_due_at": _l("Enter the new due date and time, later than the current one and not in the past."),
    "reason": _l("Give the reason for the extension (at most 500 characters)."),
    "note": _l("Write a note (required to reject; at most 2000 characters)."),
    "approve": _l("Choose approve or reject."),
    "action": _l("This extension cannot be requested or decided now."),
    "version": _l("Someone else updated the case; reload it and try again."),
    "forbidden": _l("An extension is decided by the next level up, never by its requester."),
}
LIMITS = {"stage": 40, "new_due_at": 40, "reason": 500, "note": 2000}


def rank_of(principal, estate: str | None) -> int | None:
    """The principal's highest rung for ``estate`` (group roles count everywhere); None without a ladder role."""
    found = [RANKS[role] for role, where in principal.roles
             if role in RANKS and (role in GROUP_ROLES or where == estate)]
    return max(found) if found else None


@bp.app_context_processor
def _globals() -> dict:
    return {"extension_panel": extension_panel}


def extension_panel(c: dict) -> dict | None:
    """What the case page offers: ``{can_request, stages, pending, history, can_decide}``; None without a case."""
    case = c.get("case")
    principal = g.get("principal")
    if not case or principal is None or not principal.has_role(*ACTING_ROLES):
        return None
    rank = rank_of(principal, scope.estate_code_of(c))
    requests = case.get("extensions") or []
    pending = [r for r in requests if r.get("status") == "pending"]
    waiting = {r["stage"] for r in pending}
    open_case = c.get("status") not in DONE
    stages = [d["stage"] for d in c.get("deadlines") or [] if not d.get("met_at") and d["stage"] not in waiting]
    names = _names([r.get("requested_by") for r in requests] + [r.get("decided_by") for r in requests])
    return {
        "can_request": open_case and rank is not None and rank < TOP_RANK and bool(stages),
        "stages": stages,
        "pending": [r | {"requested_by_name": names.get(r.get("requested_by"), r.get("requested_by"))}
                    for r in pending],
        "history": [r | {"requested_by_name": names.get(r.get("requested_by"), r.get("requested_by")),
                         "decided_by_name": names.get(r.get("decided_by"), r.get("decided_by"))}
                    for r in requests if r.get("status") != "pending"],
        "can_decide": open_case and rank is not None and rank >= 1 and any(
            r.get("requested_by") != principal.user_id for r in pending),
        "user_id": principal.user_id,
    }


def _names(user_ids) -> dict:
    ids = [u for u in user_ids if u]
    if not ids:
        return {}
    with current_app.extensions["db"].connect() as conn:
        return accounts.display_names(conn, g.principal.tenant_id, ids)


@bp.post("/complaints/<complaint_id>/extensions/request")
@page(*ACTING_ROLES)
def request_extension(complaint_id: str):
    complaint_id = valid_uuid(complaint_id)
    form = {name: request.form.get(name, "")[: LIMITS[name] + 1] for name in ("stage", "new_due_at", "reason")}
    complaint = scope.require(g.principal, rpc.client().call("intake", "get_complaint", complaint_id))
    zone = (complaint.get("estate") or {}).get("timezone")
    data, errors = {}, {}
    if not form["stage"].strip() or len(form["stage"]) > LIMITS["stage"]:
        errors["stage"] = str(MESSAGES["stage"])
    due = local_to_instant(form["new_due_at"], zone)
    if due is None:
        errors["new_due_at"] = str(MESSAGES["new_due_at"])
    if not form["reason"].strip() or len(form["reason"]) > LIMITS["reason"]:
        errors["reason"] = str(MESSAGES["reason"])
    if not errors:
        data = {"stage": form["stage"].strip(), "new_due_at": due.isoformat(), "reason": form["reason"].strip()}
    return _act(complaint_id, "request_extension", form, data, errors)


@bp.post("/complaints/<complaint_id>/extensions/decide")
@page(*ACTING_ROLES)
def decide_extension(complaint_id: str):
    complaint_id = valid_uuid(complaint_id)
    form = {"note": request.form.get("note", "")[: LIMITS["note"] + 1], "stage": request.form.get("stage", "")[:41]}
    decision = request.form.get("decision")
    errors = {}
    if decision not in ("approve", "reject"):
        errors["approve"] = str(MESSAGES["approve"])
    if len(form["note"]) > LIMITS["note"] or (decision == "reject" and not form["note"].strip()):
        errors["note"] = str(MESSAGES["note"])
    data = {"approve": decision == "approve", "note": form["note"].strip()}
    if form["stage"].strip():
        data["stage"] = form["stage"].strip()
    return _act(complaint_id, "decide_extension", form, data, errors)


def local_to_instant(value: str, timezone: str | None) -> dt.datetime | None:
    """A ``datetime-local`` value (``2026-12-05T18:00``) in the estate's zone as an aware instant; None if bad."""
    try:
        naive = dt.datetime.fromisoformat(value.strip().replace(" ", "T"))
        zone = ZoneInfo(timezone or "Asia/Shanghai")
    except (ValueError, ZoneInfoNotFoundError):
        return None
    return naive if naive.tzinfo else naive.replace(tzinfo=zone)


def _act(complaint_id: str, action: str, form: dict, data: dict, errors: dict):
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    if errors:
        return _refused(complaint_id, action, form, errors, 422)
    if version is None:
        return _refused(complaint_id, action, form, {}, 409, str(MESSAGES["version"]))
    client = rpc.client()
    case = scope.require(g.principal, client.call("workflow", "get_case", complaint_id))  # 404 outside the scope
    try:
        answer = client.call("workflow", "act", complaint_id, action, data, version)
    except RemoteError as exc:
        found = parse_remote(exc.value)
        status = int((found or {}).get("status", 500))
        if found is None or not 400 <= status < 500 or status == 404:
            raise
        if status == 409:
            return _refused(complaint_id, action, form, {}, 409, str(MESSAGES["version"]))
        if status == 403 and found.get("error") == "extension_needs_higher_approval":
            role = (found.get("details") or {}).get("required_role")
            return _refused(complaint_id, action, form, {}, 403,
                            _("This extension is longer than your level may approve under the estate's time-limit "
                              "policy; %(role)s or above decides.", role=str(labels.ROLES.get(role, role))))
        if status == 403:
            return _refused(complaint_id, action, form, {}, 403, str(MESSAGES["forbidden"]))
        field = (found.get("details") or {}).get("field")
        if field in form and field in MESSAGES:
            return _refused(complaint_id, action, form, {field: str(MESSAGES[field])}, 422)
        return _refused(complaint_id, action, form, {}, 422, str(MESSAGES["action"]))
    audit.keep_case(case, action, data, answer)
    if action == "request_extension":
        flash(_("Extension requested; the next level up decides."))
    else:
        flash(_("Extension approved.") if data["approve"] else _("Extension rejected."))
    target = request.form.get("next")
    if target == "inbox" and g.principal.has_role(*INBOX_ROLES):
        return redirect(url_for("console_extensions.inbox"))
    return redirect(url_for("console_complaints.case_page", complaint_id=complaint_id) + "#extensions")


def _refused(complaint_id, action, form, errors, status, message=None):
    attempt = {"action": action, "form": form, "errors": errors, "message": message}
    return render_case(complaint_id, attempt, status)


@bp.get("/extensions")
@page(*INBOX_ROLES)
def inbox():
    """延期审批: the cases in scope with an extension request waiting for a decision, oldest request first."""
    try:
        page_no = max(1, min(int(request.args.get("page", 1)), 10**6))
    except ValueError:
        page_no = 1
    result = rpc.client().call("workflow", "list_cases", status="active", extension_pending=True,
                               limit=PAGE_SIZE, offset=(page_no - 1) * PAGE_SIZE,
                               sort="extension_requested_at", order="asc")  # oldest request first, across pages
    rows = []
    for item in result["items"]:
        for ask in item.get("pending_extensions") or []:
            rows.append(item | {"ask": ask})
    names = _names([r["ask"].get("requested_by") for r in rows])
    for row in rows:
        row["requested_by_name"] = names.get(row["ask"].get("requested_by"), row["ask"].get("requested_by"))
        row["mine"] = row["ask"].get("requested_by") == g.principal.user_id
        row["may_decide"] = (rank_of(g.principal, row["estate"]) or 0) >= 1 and not row["mine"]
    rows.sort(key=lambda r: r["ask"]["requested_at"])  # a case's own requests (the cases come in that order)
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    return render_template("extensions.html", rows=rows, total=result["total"], page_no=page_no, pages=pages)


bp.register_error_handler(Exception, page_error)
