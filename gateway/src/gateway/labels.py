"""What the pages show for codes (channels, statuses, roles, deadline stages) and instants, in the user's language.

Templates reach these as ``labels.channel(code)`` etc.; an unknown code is shown as is, never an error.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _, lazy_gettext as _l

CHANNELS = {
    "web": _l("Website"), "wechat": _l("WeChat"), "hotline": _l("Hotline"), "walk_in": _l("Walk-in"),
    "email": _l("E-mail"), "letter": _l("Letter"), "complaint_box": _l("Complaint box"),
    "committee": _l("Residents' committee"), "head_office": _l("Forwarded by head office"),
    "open311": _l("City service platform"),
}
# the facility suggestions of every complaint form (hotline console, committee, the owner's form): the value is
# stored as given (zh-CN, so reporting's hot spots by facility count one word once); the label is what an
# English page shows next to it. Free text stays possible: these are suggestions, not a closed list.
FACILITIES = {
    "电梯": _l("Lift"), "门禁": _l("Access control"), "停车场": _l("Car park"), "绿化": _l("Greenery"),
    "供水": _l("Water supply"), "供电": _l("Power supply"), "消防": _l("Fire safety"),
    "公共照明": _l("Public lighting"), "垃圾房": _l("Refuse room"), "楼道": _l("Stairwell and corridors"),
}


def facility_choices() -> list[tuple[str, str]]:
    """``[(stored value, label in the user's language)]``; the label is empty where it equals the value."""
    return [(value, "" if str(label) == value else str(label)) for value, label in FACILITIES.items()]


# what an agent records by hand (the other channels arrive by themselves)
AGENT_CHANNELS = ("hotline", "walk_in", "letter", "complaint_box", "head_office")

STATUSES = {
    "received": _l("Received"), "open": _l("Open"), "in_progress": _l("In progress"),
    "resolved": _l("Resolved"), "closed": _l("Closed"), "invalid": _l("Invalid"),
    # workflow's case statuses (services/workflow/src/workflow/domain/actions.py RANK)
    "assigned": _l("Assigned"), "contacted": _l("Owner contacted"), "callback": _l("Callback"),
    "cancelled": _l("Cancelled"), "deferred": _l("Deferred (owner consented)"),
}
# what the queue's status filter offers (workflow's statuses; "active" = not resolved, closed or cancelled)
CASE_STATUSES = ("open", "assigned", "contacted", "in_progress", "deferred", "resolved", "callback", "closed",
                 "cancelled")
# the complaint list's status filter, console and API alike: received (no case yet) and the case statuses
# (intake.case_status.LIST_STATUSES, which refuses anything else with 400 invalid_filter)
COMPLAINT_STATUSES = ("received", *CASE_STATUSES)

# workflow's CAUSES (domain/actions.py; seed 001 part 5 §4.3, seed 000 §4.2)
CAUSES = {
    "facility_fault": _l("Facility or equipment fault"), "staff_service": _l("Staff service or attitude"),
    "staff_fault_with_loss": _l("Staff fault with a loss to the owner"),
    "other_owner": _l("Caused by another owner"), "developer_defect": _l("Developer's legacy defect"),
    "municipal": _l("Municipal utilities"), "owner_misunderstanding": _l("Owner's misunderstanding"),
    "invalid_complaint": _l("Invalid complaint (verified)"), "other": _l("Other"),
}
# the top severity of the preset schemes: workflow refuses to defer them (its rule uses the tenant's own order)
TOP_SEVERITIES = ("major", "urgent")
NONCONFORMITY_LOSS_YUAN = 500  # workflow's rule: a loss of 500 yuan or more needs a nonconformity record

# case actions (workflow's act), in the order the case page offers them
ACTIONS = {
    "contact": _l("Contact the owner"), "assign": _l("Assign"), "plan": _l("Handling plan"),
    "progress": _l("Progress update"), "resolve": _l("Resolve"), "accept": _l("Owner acceptance"),
    "cancel": _l("Cancel the case"), "defer": _l("Defer with the owner's consent"), "resume": _l("Resume handling"),
    "decide_nonconformity": _l("Decide the nonconformity record"),
}

ROLES = {
    "group_admin": _l("Group admin"), "head_office": _l("Head office"), "site_manager": _l("Site manager"),
    "cs_supervisor": _l("Customer-service supervisor"), "agent": _l("Customer-service agent"),
    "department_head": _l("Department head"), "committee_member": _l("Committee member"),
}

# the stage names of the workflow's SLA presets (services/workflow/src/workflow/presets)
STAGES = {
    "first_contact": _l("First contact with the owner"), "reply": _l("Reply to the owner"),
    "start": _l("Work started"), "assignment": _l("Assignment"), "department_plan": _l("Department plan"),
    "progress_check": _l("Progress check"), "plan": _l("Plan"), "plan_told": _l("Plan told to the owner"),
    "special_team": _l("Special team formed"), "site_investigation": _l("Site investigation"),
    "on_site": _l("Team on site"), "simple_fix": _l("Simple fix"), "resolution": _l("Resolution"),
    "owner_acceptance": _l("Owner acceptance"), "callback": _l("Callback"),
    "committee_forward": _l("Forwarded to the service centre"),
}

TIMELINE = {"complaint_received": _l("Complaint received"), "case_opened": _l("Case opened"),
            "notification_sent": _l("Notification sent"), "notification_delivered": _l("Notification delivered"),
            "notification_failed": _l("Notification failed"), "notification_queued": _l("Notification queued"),
            "notification_deferred": _l("Notification deferred (quiet hours)"),
            "case_contacted": _l("Owner contacted"), "case_assigned": _l("Assigned"),
            "case_plan_recorded": _l("Plan recorded"), "case_progress_recorded": _l("Progress told to the owner"),
            "case_resolved": _l("Resolved"), "owner_accepted": _l("Owner accepted"),
            "case_cancelled": _l("Cancelled"), "sla_warning": _l("Deadline warning"),
            "sla_breached": _l("Deadline missed"), "case_escalated": _l("Escalated"),
            "case_closed": _l("Closed after the callback"), "case_reopened": _l("Reopened after the callback"),
            "extension_requested": _l("Extension requested"), "extension_decided": _l("Extension decided"),
            "case_on_duty": _l("Assigned to the person on duty"),
            "case_deferred": _l("Deferred with the owner's consent"),
            "case_resumed": _l("Handling resumed")}

# Categories and severities are tenant data; until the pages read each tenant's own labels from intake, the
# default codes (intake's classify_defaults, the seeds' severity schemes) are labelled here.
CATEGORIES = {
    "facilities_equipment": _l("Facilities & equipment"), "sanitation": _l("Sanitation"),
    "security": _l("Security"), "greening": _l("Greening"), "customer_service": _l("Customer service"),
    "house_quality": _l("House quality"), "handover": _l("Handover procedures"),
    "municipal": _l("Municipal utilities"), "suggestion": _l("Suggestion"),
}
SEVERITIES = {
    "minor": _l("Minor"), "moderate": _l("Moderate"), "major": _l("Major"), "general": _l("General"),
    "important": _l("Important"), "urgent": _l("Urgent, high impact"), "routine": _l("Routine"),
    "suggestion": _l("Suggestion"),
}

DEADLINE_STATES = {"met": _l("Met"), "on_time": _l("On time"), "due_soon": _l("Due soon"),
                   "overdue": _l("Overdue"), "met_late": _l("Met late")}

DUE_SOON_SHARE = 0.25  # less than a quarter of the allowed time left


def _label(table: dict, code) -> str:
    return str(table[code]) if code in table else (code or "")


def channel(code) -> str:
    return _label(CHANNELS, code)


def status(code) -> str:
    return _label(STATUSES, code)


def category(code) -> str:
    return _label(CATEGORIES, code)


def severity(code) -> str:
    return _label(SEVERITIES, code)


def cause(code) -> str:
    return _label(CAUSES, code)


def action(code) -> str:
    return _label(ACTIONS, code)


def role(code) -> str:
    return _label(ROLES, code)


def stage(code) -> str:
    return _label(STAGES, code)


def timeline_kind(code) -> str:
    return _label(TIMELINE, code)


def deadline_state(code) -> str:
    return _label(DEADLINE_STATES, code)


def parse_instant(value) -> dt.datetime | None:
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def local_time(value, timezone: str | None = "Asia/Shanghai") -> str:
    """``2026-11-24 13:05`` in the estate's zone (the zone's abbreviation-free form staff expect)."""
    instant = parse_instant(value)
    if instant is None:
        return ""
    try:
        zone = ZoneInfo(timezone or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.timezone.utc
    return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def deadline_state_of(deadline: dict, received_at, now: dt.datetime) -> str:
    """met / met_late (met after it fell due) / overdue / due_soon (< 25 % of the allowed time left) / on_time."""
    if deadline.get("met_at"):
        met, due = parse_instant(deadline["met_at"]), parse_instant(deadline.get("due_at"))
        return "met_late" if met and due and met > due else "met"
    due, start = parse_instant(deadline.get("due_at")), parse_instant(received_at)
    if due is None:
        return "on_time"
    if now >= due:
        return "overdue"
    if start is not None and due > start and (due - now) < (due - start) * DUE_SOON_SHARE:
        return "due_soon"
    return "on_time"


def remaining(deadline: dict, now: dt.datetime) -> str:
    """"45 minutes left" / "overdue by 2 h 5 min" (rounded down to minutes)."""
    due = parse_instant(deadline.get("due_at"))
    if due is None or deadline.get("met_at"):
        return ""
    minutes = int(abs((due - now).total_seconds()) // 60)
    if minutes >= 48 * 60:
        span = _("%(d)d d %(h)d h", d=minutes // 1440, h=minutes % 1440 // 60)
    elif minutes >= 60:
        span = _("%(h)d h %(m)d min", h=minutes // 60, m=minutes % 60)
    else:
        span = _("%(m)d min", m=minutes)
    return _("%(span)s left", span=span) if due > now else _("overdue by %(span)s", span=span)
