"""Complaints (``/api/v1/complaints``: create, list, read) and the estate directory (``/api/v1/estates``),
both owned by intake.

Reading one complaint merges three services: intake's record, workflow's case (absent until the case is
opened: ``case_not_found``) and notify's timeline (absent is an empty list).
"""
from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, current_app, request, url_for
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import accounts, privacy, rpc, scope
from ..auth import current_principal
from ..errors import ApiError
from ..schemas import ComplaintSchema
from . import load_json
from .committee import committee_only

bp = Blueprint("complaints", __name__)

_FIELDS = ("id", "reference", "status", "estate", "channel", "category", "severity", "urgent", "description",
           "complainant", "received_at", "category_source", "severity_source", "classification", "attachments",
           "repeat_of", "committee_received_at", "forwarded_by", "instructions", "closed_at", "call_id",
           "location")  # {building, facility, building_name} or null


@bp.post("/complaints")
def create_complaint():
    principal = current_principal()
    if committee_only(principal):  # a committee forwards through /committee/complaints (channel committee)
        raise ApiError(403, "forbidden")
    data = load_json(ComplaintSchema())
    created = privacy.complaint_view(principal, rpc.client().call("intake", "register_complaint", data))
    location = url_for("complaints.get_complaint", complaint_id=created["id"])
    # the same complaint again (same message id, or merged into the first): 200 with the first one
    return created, 200 if created.get("duplicate") else 201, {"Location": location}


@bp.get("/complaints")
def list_complaints():
    """The tenant's complaints, newest first: ``?estate=&status=&channel=&limit=(1-200, 50)&offset=``;
    ``sort=received_at|severity|estate|status&order=asc|desc`` sorts in intake's query (anything else: intake's
    400 ``invalid_sort`` with ``details.field``)."""
    principal = current_principal()
    if committee_only(principal):  # what it forwarded: /committee/complaints
        raise ApiError(403, "forbidden")
    args = request.args
    return privacy.complaint_list(principal, rpc.client().call(
        "intake", "list_complaints", estate=args.get("estate") or None, status=args.get("status") or None,
        channel=args.get("channel") or None, limit=_int_arg("limit", 50, 1, 200),
        offset=_int_arg("offset", 0, 0, 10**9), sort=args.get("sort") or None, order=args.get("order") or None))


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ApiError(422, "validation_failed", details={"field": name, "fields": {
            name: [f"Must be an integer from {low} to {high}."]}}, field=name)
    return value


@bp.get("/complaints/<complaint_id>")
def get_complaint(complaint_id: str):
    principal = current_principal()
    try:
        complaint_id = str(uuid.UUID(complaint_id))
    except ValueError:
        raise ApiError(404, "complaint_not_found", details={"field": "id"}) from None
    complaint = scope.require(principal, rpc.client().call("intake", "get_complaint", complaint_id))
    if committee_only(principal) and complaint.get("received_by") != principal.user_id:
        raise ApiError(404, "complaint_not_found", details={"field": "id"})  # only what it forwarded
    view = privacy.complaint_view(principal, with_actor_names(full_view(complaint), principal.tenant_id))
    headers = {"ETag": f'"{view["case"]["version"]}"'} if view.get("case") else {}
    return view, 200, headers


def full_view(complaint: dict) -> dict:
    """Intake's record merged with workflow's case and notify's timeline (the API's and the pages' view)."""
    case, notes = rpc.client().call_many([("workflow", "get_case", (complaint["id"],)),
                                          ("notify", "get_timeline", (complaint["id"],))], return_exceptions=True)
    return merge(complaint, _absent_if_not_found(case, None), _absent_if_not_found(notes, []))


@bp.get("/estates")
def list_estates():
    """The tenant's estates in the caller's scope (group roles: all; site roles: theirs), inactive ones too."""
    allowed = scope.estates_of(current_principal())
    return [e for e in rpc.client().call("intake", "list_estates") if allowed is None or e.get("code") in allowed]


def _absent_if_not_found(result, default):
    """A service's 404 means "nothing yet"; any other failure is raised as is."""
    if isinstance(result, RemoteError):
        data = parse_remote(result.value)
        if data is not None and int(data.get("status", 0)) == 404:
            return default
    if isinstance(result, BaseException):
        raise result
    return result


_CASE_FIELDS = ("version", "escalation_level", "assignee", "cause", "remedy", "loss_amount", "resolved_at",
                "policy_version", "severity", "extensions",  # extensions: 延期 requests (workflow.extensions)
                "department",  # the department routing chose (workflow.routing)
                "nonconformities")  # the case's nonconformity records (workflow.quality); open = awaiting decision


def merge(complaint: dict, case: dict | None, notes: list | None) -> dict:
    """The complaint as the API shows it: the case's status and deadlines, and one timeline sorted by time."""
    view = {key: complaint.get(key) for key in _FIELDS}
    view["deadlines"] = [
        {"stage": d.get("stage"), "due_at": d.get("due_at"), "met_at": d.get("met_at"),
         "explanation": d.get("explanation"), "original_due_at": d.get("original_due_at")}
        for d in (case or {}).get("deadlines") or []
    ]
    if case and case.get("status"):
        view["status"] = case["status"]
    view["case"] = {key: case.get(key) for key in _CASE_FIELDS} if case else None
    entries = list(complaint.get("timeline") or []) + list((case or {}).get("timeline") or []) + list(notes or [])
    view["timeline"] = sorted(
        ({"at": e.get("at"), "kind": e.get("kind"), "actor": e.get("actor"), "text": e.get("text")}
         for e in entries),
        key=lambda e: _instant(e["at"]),
    )
    return view


def with_actor_names(view: dict, tenant_id: str) -> dict:
    """Timeline actors that are users of this tenant are shown by display name (services only know ids)."""
    with current_app.extensions["db"].connect() as conn:
        names = accounts.display_names(conn, tenant_id, [e["actor"] for e in view["timeline"]])
    for entry in view["timeline"]:
        entry["actor"] = names.get(entry["actor"], entry["actor"])
    return view


_EPOCH = dt.datetime.min.replace(tzinfo=dt.timezone.utc)


def _instant(value) -> dt.datetime:
    """Sort key for ISO 8601 strings from different services (``Z`` or ``+00:00``, any precision)."""
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return _EPOCH
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
