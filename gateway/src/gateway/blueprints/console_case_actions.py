"""Acting on a case from its page: ``POST /complaints/<id>/actions/<action>`` (CSRF), one form per action.

Each form posts the case version it was rendered with (hidden ``version``) and goes through the same workflow
RPC as the API (``act(complaint_id, action, data, expected_version)``), so a second agent with an old page gets
「案件已被他人更新，请刷新后再操作」 instead of overwriting. Success redirects to the case page with a flash
message (post/redirect/get); a refusal renders the case page again with that form open, the input kept and the
message in the user's language: 409 for a stale version, 422 for a field workflow refused.
"""
from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import audit, labels, rpc, scope
from .case_actions import ACTING_ROLES
from .console_extensions import local_to_instant
from .console import page, page_error
from .console_complaints import render_case, valid_uuid

bp = Blueprint("console_case_actions", __name__)

# the form fields of each action and their length limits (the API's ActionSchema)
FIELDS = {
    "contact": ("note",), "assign": ("assignee", "note"), "plan": ("note",), "progress": ("note",),
    "resolve": ("cause", "remedy", "loss_amount", "note"), "accept": ("note",), "cancel": ("reason",),
    "defer": ("consented_by", "until", "note"), "resume": ("note",), "decide_nonconformity": ("approve", "note"),
}
LIMITS = {"note": 2000, "assignee": 100, "cause": 40, "remedy": 2000, "loss_amount": 20, "reason": 500,
          "consented_by": 100, "until": 40, "approve": 10}
MESSAGES = {
    "note": _l("Write what was done or agreed (at most 2000 characters)."),
    "assignee": _l("Enter who handles the case (at most 100 characters)."),
    "cause": _l("Choose the cause."),
    "remedy": _l("Describe the remedy (at most 2000 characters)."),
    "loss_amount": _l("Enter the owner's loss in yuan: a number, 0 or more."),
    "reason": _l("Give the reason for cancelling (at most 500 characters)."),
    "consented_by": _l("Say who agreed to wait: the owner's name, or 'owner by phone' (at most 100 characters)."),
    "until": _l("Enter a future date and time (the estate's local time), at most 30 days ahead, or leave it empty."),
    "severity": _l("An urgent or major complaint cannot be deferred; it is handled at once."),
    "action": _l("This action is not possible in the case's current status."),
    "version": _l("Someone else updated the case; reload it and try again."),
    "approve": _l("Choose approve or reject."),
    "reject_note": _l("Say why the record is rejected."),
}


@bp.post("/complaints/<complaint_id>/actions/<action>")
@page(*ACTING_ROLES)
def act(complaint_id: str, action: str):
    complaint_id = valid_uuid(complaint_id)
    if action not in FIELDS:
        abort(404)
    form = {name: request.form.get(name, "")[: LIMITS[name] + 1] for name in FIELDS[action]}
    data, errors = _data(form)
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    if errors:
        return _refused(complaint_id, action, form, errors, 422)
    if version is None:
        return _refused(complaint_id, action, form, {}, 409, str(MESSAGES["version"]))
    client = rpc.client()
    if action == "defer" and data.get("until"):  # a datetime-local value in the estate's time zone
        complaint = scope.require(g.principal, client.call("intake", "get_complaint", complaint_id))
        until = local_to_instant(data["until"], (complaint.get("estate") or {}).get("timezone"))
        if until is None:
            return _refused(complaint_id, action, form, {"until": str(MESSAGES["until"])}, 422)
        data["until"] = until.isoformat()
    client = rpc.client()
    case = scope.require(g.principal, client.call("workflow", "get_case", complaint_id))  # 404 outside the scope
    try:
        answer = client.call("workflow", "act", complaint_id, action, data, version)
    except RemoteError as exc:
        status, field = _refusal(exc)
        if status == 409:
            return _refused(complaint_id, action, form, {}, 409, str(MESSAGES["version"]))
        field = field if field in MESSAGES else "action"
        target = {field: str(MESSAGES[field])} if field in form else {}
        return _refused(complaint_id, action, form, target, 422, None if target else str(MESSAGES[field]))
    audit.keep_case(case, action, data, answer)
    flash(_("Recorded: %(action)s.", action=labels.action(action)))
    if action == "resolve" and data.get("loss_amount", 0) >= labels.NONCONFORMITY_LOSS_YUAN:
        flash(_("The owner's loss is %(yuan)s yuan: fill in a nonconformity record for the management "
                "representative to approve.", yuan=_yuan(data["loss_amount"])))
    return redirect(url_for("console_complaints.case_page", complaint_id=complaint_id))


def _data(form: dict) -> tuple[dict, dict]:
    """What to send to workflow, and the fields refused here already (length, number)."""
    data, errors = {}, {}
    for name, raw in form.items():
        value = raw.strip()
        if len(value) > LIMITS[name]:
            errors[name] = str(MESSAGES[name])
        elif name == "loss_amount":
            if value:
                try:
                    amount = float(value.replace(",", ""))
                except ValueError:
                    amount = -1
                if not 0 <= amount <= 10_000_000:  # also refuses nan and inf
                    errors[name] = str(MESSAGES[name])
                else:
                    data[name] = amount
        elif name == "approve":
            if value not in ("yes", "no"):
                errors[name] = str(MESSAGES[name])
            else:
                data[name] = value == "yes"
        elif value:
            data[name] = value
    if data.get("approve") is False and not data.get("note"):
        errors["note"] = str(MESSAGES["reject_note"])
    return data, errors


def _refusal(exc: RemoteError) -> tuple[int, str | None]:
    """(status, field) of a workflow refusal; anything but a 4xx is a page error."""
    found = parse_remote(exc.value)
    if found is None or not 400 <= int(found.get("status", 500)) < 500 or int(found["status"]) == 404:
        raise exc
    return int(found["status"]), (found.get("details") or {}).get("field")


def _refused(complaint_id, action, form, errors, status, message=None):
    if message is None and not errors:
        message = str(MESSAGES["action"])
    return render_case(complaint_id, {"action": action, "form": form, "errors": errors, "message": message},
                       status)


def _yuan(amount: float) -> str:
    return f"{amount:.0f}" if amount == int(amount) else f"{amount:.2f}"


bp.register_error_handler(Exception, page_error)
