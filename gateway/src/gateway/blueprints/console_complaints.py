"""Complaint pages: record one (``/complaints/new``, agents), read one (``/complaints/<id>``, with the
action forms of ``console_case_actions``), list them (``/complaints``: filtered, sorted and paged in intake's
query by the case's status as intake keeps it from workflow's events, ``intake.case_status``; headers sort by received
time, severity, estate or status: ``sorting.COMPLAINT_PAGE``). They call
the same intake RPCs as the API, validate with the API's ``ComplaintSchema`` and show the API's merged view (``complaints.full_view``), so the console cannot drift from the API.
"""
from __future__ import annotations

import logging
import uuid

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from marshmallow import ValidationError
from nameko.exceptions import RemoteError

from estatedesk_common.db import utcnow
from estatedesk_common.errors import parse_remote

from .. import labels, privacy, rpc, scope, sorting, uploads
from ..errors import UNAVAILABLE
from ..schemas import ComplaintSchema
from .complaints import full_view, with_actor_names
from .case_actions import ACTING_ROLES
from .console_lookup import call_for_form, local_number
from .console import STAFF, estates_in_scope, page, page_error

bp = Blueprint("console_complaints", __name__)
log = logging.getLogger(__name__)

PAGE_SIZE = 20
CASE_DONE = ("resolved", "closed", "cancelled")
FIELDS = ("estate", "channel", "name", "phone", "email", "unit", "description")
LOCATION_FIELDS = ("building", "building_other", "facility")  # templates/_location.html
HEAD_OFFICE_FIELDS = ("fwd_name", "fwd_title", "fwd_phone", "fwd_email", "instructions")  # channel head_office
# the form's field for each field the schema (or intake) may name
_FORM_FIELD = {"estate": "estate", "channel": "channel", "description": "description",
               "complainant": "phone", "complainant.name": "name", "complainant.phone": "phone",
               "complainant.email": "email", "complainant.unit": "unit", "call_id": "call",
               "forwarded_by": "fwd_name", "forwarded_by.name": "fwd_name", "forwarded_by.title": "fwd_title",
               "forwarded_by.phone": "fwd_phone", "forwarded_by.email": "fwd_email", "instructions": "instructions",
               "location": "building", "location.building": "building", "location.facility": "facility"}
_MESSAGES = {
    "estate": _l("Choose the estate."),
    "channel": _l("Choose how the complaint came in."),
    "description": _l("Describe the complaint (at most 5000 characters)."),
    "name": _l("The name can have at most 50 characters."),
    "phone": _l("Enter a valid phone number (7 to 20 digits), or an e-mail address."),
    "email": _l("Enter a valid e-mail address."),
    "unit": _l("The unit can have at most 50 characters."),
    "call": _l("This call cannot be linked: it is unknown or outside your estates."),
    "fwd_name": _l("Enter the name of the superior who forwarded it."),
    "fwd_title": _l("The title can have at most 50 characters."),
    "fwd_phone": _l("Enter the superior's phone number or e-mail address: they are told when the case is closed."),
    "fwd_email": _l("Enter a valid e-mail address."),
    "instructions": _l("Enter the superior's instructions (at most 2000 characters)."),
    "building": _l("This estate has no such building: choose one from the list, or \"Other / unknown\"."),
    "facility": _l("The facility can have at most 40 characters."),
}


def _estates(principal) -> list[dict]:
    """The estates this agent records for (all of the tenant's when the role is not estate-scoped)."""
    scope = estates_in_scope(principal, ("agent",))
    estates = rpc.client().call("intake", "list_estates")
    return [e for e in estates if (scope is None or e["code"] in scope) and e.get("active", True)]


def _to_body(form: dict) -> dict:
    blank = lambda key: form.get(key, "").strip() or None  # noqa: E731 - empty inputs are "not given"
    body = {"estate": form.get("estate", ""), "channel": form.get("channel", ""),
            "description": form.get("description", ""), "urgent": form.get("urgent") == "on",
            "complainant": {"name": blank("name"), "phone": blank("phone"), "email": blank("email"),
                            "unit": blank("unit")}}
    body |= {"location": location_body(form)} if location_body(form) else {}  # absent when not given
    if body["channel"] == "head_office":  # forwarded by a superior: who, and what they asked for
        body |= {"forwarded_by": {"name": form.get("fwd_name", ""), "title": blank("fwd_title"),
                                  "phone": blank("fwd_phone"), "email": blank("fwd_email")},
                 "instructions": blank("instructions")}
    return body


def location_body(form: dict) -> dict | None:
    """The form's building (chosen from the estate's, or typed where it registered none) and facility as the API's
    ``location``; None when neither is given ("other / unknown" and no facility)."""
    blank = lambda key: (form.get(key) or "").strip() or None  # noqa: E731
    place = {"building": blank("building") or blank("building_other"), "facility": blank("facility")}
    return place if any(place.values()) else None


def building_choices(estate_codes) -> dict:
    """``{estate code: [{code, name}]}`` for the form's building choice (intake scopes it to the caller)."""
    codes = sorted(set(estate_codes))
    return rpc.client().call("intake", "list_building_choices", codes) if codes else {}


def _field_errors(messages: dict, prefix: str = "") -> dict:
    found = {}
    for key, value in messages.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict):
            found.update(_field_errors(value, f"{dotted}."))
            continue
        form_field = _FORM_FIELD.get(dotted, "phone" if dotted.startswith("complainant") else "description")
        found.setdefault(form_field, str(_MESSAGES[form_field]))
    return found


@bp.route("/complaints/new", methods=["GET", "POST"])
@page("agent")
def new_complaint():
    estates = _estates(g.principal)
    form, errors = {"channel": "hotline"}, {}
    call = call_for_form(request.values.get("call"))  # ?call=<CTI call id>: record that call (hotline)
    form |= {"phone": local_number(call["caller"]), "estate": call["estate"] or ""} if call else {}
    if request.method == "POST":
        form = {key: request.form.get(key, "")[:6000] for key in FIELDS + HEAD_OFFICE_FIELDS + LOCATION_FIELDS} | {
            "urgent": request.form.get("urgent")}
        data, errors = _validate(form, estates)
        data = data | {"call_id": call["call_id"]} if data and call else data  # linked in intake's transaction
        scans, refused = uploads.scans_from_request(request.files.getlist("scans"))  # letters, box slips
        errors |= {"scans": refused} if refused else {}
        if not errors:
            try:
                created = rpc.client().call("intake", "register_complaint",
                                            data | ({"attachments": scans} if scans else {}))
            except RemoteError as exc:
                errors = _service_errors(exc)
            else:
                flash(_("Complaint recorded. Reference: %(reference)s", reference=created["reference"]))
                return redirect(url_for("console_complaints.case_page", complaint_id=created["id"]))
    return render_template("complaint_new.html", estates=estates, channels=labels.AGENT_CHANNELS, form=form,
                           errors=errors, call=call, choices=building_choices(e["code"] for e in estates)), \
        422 if errors else 200


def _validate(form: dict, estates: list[dict]) -> tuple[dict | None, dict]:
    """``(body, {})`` for a good form, ``(None, {form field: message in the user's language})`` otherwise."""
    try:
        data = ComplaintSchema().load(_to_body(form))
    except ValidationError as exc:
        return None, _field_errors(exc.messages if isinstance(exc.messages, dict) else {"description": exc.messages})
    if data["estate"] not in {e["code"] for e in estates}:
        return None, {"estate": str(_MESSAGES["estate"])}
    if data["channel"] not in labels.AGENT_CHANNELS:
        return None, {"channel": str(_MESSAGES["channel"])}
    return data, {}


def _service_errors(exc: RemoteError) -> dict:
    """Intake refused the complaint: put its 4xx on the field it names; anything else is a page error."""
    data = parse_remote(exc.value)
    if data is None or not 400 <= int(data.get("status", 500)) < 500:
        raise exc
    field = str((data.get("details") or {}).get("field") or "description")
    return _field_errors({field: ["refused"]})


@bp.get("/complaints/<complaint_id>")
@page(*STAFF)
def case_page(complaint_id: str):
    return render_case(complaint_id)


def valid_uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        abort(404)


def render_case(complaint_id: str, attempt: dict | None = None, status: int = 200):
    """The case page; ``attempt`` = an action form that failed ({action, form, errors, message}), shown open
    with the input kept. A complaint outside the user's estate scope is 404 (``scope.require``)."""
    complaint_id = valid_uuid(complaint_id)
    complaint = scope.require(g.principal, rpc.client().call("intake", "get_complaint", complaint_id))
    view = privacy.complaint_view(g.principal, with_actor_names(full_view(complaint), g.principal.tenant_id))
    now = utcnow()
    timezone = (complaint.get("estate") or {}).get("timezone")
    deadlines = [d | {"state": labels.deadline_state_of(d, view["received_at"], now),
                      "remaining": labels.remaining(d, now)} for d in view["deadlines"]]
    kinds = {e["kind"] for e in view["timeline"]}
    settling = (now - labels.parse_instant(view["received_at"])).total_seconds() < 120 and not (
        deadlines and "notification_sent" in kinds) and attempt is None
    offered = (available_actions(view["status"], (view["case"] or {}).get("severity"))
               if view["case"] and g.principal.has_role(*ACTING_ROLES) else [])
    if view["case"] and may_decide_nonconformity(g.principal, (view.get("estate") or {}).get("code"), view["case"]):
        offered = ["decide_nonconformity", *offered]
    return render_template("complaint_case.html", c=view, deadlines=deadlines, timezone=timezone,
                           refresh=settling, actions=offered, attempt=attempt or {}), status


def may_decide_nonconformity(principal, estate: str | None, case: dict) -> bool:
    """A record of the case waits for a decision and the caller may take it (the estate's site manager, head
    office, group admins: workflow.domain.quality.may_decide, which stays the authority)."""
    waiting = any(r.get("status") == "open" for r in case.get("nonconformities") or [])
    return waiting and any(role in ("head_office", "group_admin") or (role == "site_manager" and at == estate)
                           for role, at in principal.roles)


def available_actions(status: str | None, severity: str | None = None) -> list[str]:
    """The actions workflow accepts in ``status`` (mirrors ``workflow.domain.actions.decide``; workflow
    stays the authority and refuses anything else with a 422). A deferred case can only be resumed; ``defer`` is
    not offered for the top severity of the preset schemes (workflow refuses it for the tenant's top level)."""
    if status == "resolved":
        return ["accept"]
    if status == "deferred":
        return ["resume"]
    if status in CASE_DONE or status is None:
        return []
    offered = ["contact", "assign", "plan", "progress", "resolve", "cancel"]
    return offered if severity in labels.TOP_SEVERITIES else offered[:-1] + ["defer", "cancel"]


@bp.get("/complaints")
@page(*STAFF)
def list_page():
    args = request.args
    filters = {"estate": args.get("estate") or None, "status": args.get("status") or None,
               "channel": args.get("channel") or None}
    if filters["channel"] not in (None, *labels.CHANNELS):
        filters["channel"] = None
    if filters["status"] not in (None, *labels.COMPLAINT_STATUSES):  # a hand-edited link: no status filter
        filters["status"] = None
    try:
        page_no = max(1, min(int(args.get("page", 1)), 10**6))
    except ValueError:
        page_no = 1
    chosen = sorting.page_sort(args, sorting.COMPLAINT_PAGE)  # intake sorts; an unknown key: the default
    client = rpc.client()
    result, estates = client.call_many([  # list_complaints(estate, status, channel, limit, offset, mine, sort, order)
        ("intake", "list_complaints", (filters["estate"], filters["status"], filters["channel"], PAGE_SIZE,
                                       (page_no - 1) * PAGE_SIZE, False, chosen.key, chosen.order)),
        ("intake", "list_estates", ())])
    # the status intake filtered and sorted on is the one shown (no second look at workflow: one order, one truth)
    result["items"] = privacy.complaint_list(g.principal, result)["items"]
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    return render_template("complaint_list.html", result=result, estates=estates, filters=filters,
                           page_no=page_no, pages=pages, sort=chosen)


def with_case_status(items: list[dict]) -> list[dict]:
    """Intake's rows with workflow's status (and SLA state) where the case exists and is in scope."""
    if not items:
        return items
    try:
        found = rpc.client().call("workflow", "list_cases", status=None, limit=len(items),
                                  complaint_ids=[i["id"] for i in items])
    except UNAVAILABLE as exc:  # workflow down: the list still answers, with intake's status
        log.warning("complaint list without workflow status: %s", exc)
        return items
    cases = {c["complaint_id"]: c for c in found["items"]}
    return [i | {"status": cases[i["id"]]["status"]} if i["id"] in cases else i for i in items]


bp.register_error_handler(Exception, page_error)
