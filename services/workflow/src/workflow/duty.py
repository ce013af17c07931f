"""Night shift: the duty roster (值班表) of each estate (``get_duty_roster`` / ``save_duty_roster``) and the
assignment of a case opened outside the estate's business hours (``on_duty_now``, called by
``handlers.open_case`` in its transaction).

Who may do what (the call context's roles): group_admin and head_office read and save any estate's roster; an
estate's site_manager its own; its cs_supervisor reads it. The roster is data (domain/duty.py).

A case opened (the moment workflow opens it) outside the business hours of its policy's calendar, at an estate
with someone on duty that night, is assigned to that person; **the roster wins over the routing rules at
night**: the rules are not consulted, so no team member's round-robin turn or workload is spent on a night the
day team was not there. The department is the entry's post (default 「值班」); the assignment meets the
``assignment``/``start`` stages as a routed assignment does, the owner of record (the receiver) is untouched,
and the on-duty person hands the case on in the morning with ``assign``. Nobody on duty (or a calendar that
cannot count the day) leaves the case to the routing rules, as in the daytime. Timeline kind ``case_on_duty``;
``case_assigned`` with ``routed: true`` and ``on_duty: true``.
"""
from __future__ import annotations

import logging

from sqlalchemy import delete, select, update

from estatedesk_common.errors import Forbidden, ValidationFailed
from estatedesk_common.tenant import GROUP_ROLES

from . import policies, repository
from .domain import duty as rules
from .domain import offhours, sla
from .tables import cases, duty_roster

log = logging.getLogger(__name__)
WRITERS = ("site_manager",)
READERS = ("site_manager", "cs_supervisor")


class RosterForbidden(Forbidden):
    code = "forbidden"


def _allowed(roles, estate: str, site_roles) -> bool:
    for item in roles or ():
        role, scope = (list(item) + [None, None])[:2]
        if role in GROUP_ROLES or (role in site_roles and scope == estate):
            return True
    return False


def _entries(conn, tenant_id: str, estate: str):
    return conn.execute(select(duty_roster).where(duty_roster.c.tenant_id == tenant_id,
                                                  duty_roster.c.estate_code == estate)
                        .order_by(duty_roster.c.position)).mappings().all()


def _entry(row) -> rules.Entry:
    return rules.Entry(row["person"], row["post"], tuple(row["weekdays"] or ()), row["date_from"], row["date_to"],
                       row["note"] or "")


def get_roster(conn, tenant_id: str, roles, estate: str, now) -> dict:
    """``{estate, entries, updated_at, updated_by, off_hours_now, on_duty_now: {person, post} | None}``."""
    if not _allowed(roles, estate, READERS):
        raise RosterForbidden("only the estate's site manager or supervisor, or head office, may read its roster",
                              field="estate")
    rows = _entries(conn, tenant_id, estate)
    entries = [_entry(r) for r in rows]
    cal = policies.effective_policy(conn, tenant_id, estate, now).calendar
    try:
        off = not offhours.in_business_hours(cal, now)
        current = rules.on_duty(entries, offhours.duty_date(cal, now)) if off else None
    except sla.CalendarUnavailable:
        off, current = None, None
    return {"estate": estate, "entries": [e.as_dict() for e in entries],
            "updated_at": rows[0]["updated_at"].isoformat() if rows else None,
            "updated_by": rows[0]["updated_by"] if rows else None, "off_hours_now": off,
            "on_duty_now": {"person": current.person, "post": current.post} if current else None}


def save_roster(uow, tenant_id: str, user_id: str | None, roles, estate: str, raw) -> dict:
    """Replace ``estate``'s roster (an empty list removes it); ``duty_roster_saved``."""
    if not isinstance(estate, str) or not estate.strip() or len(estate) > 40:
        raise ValidationFailed("estate is required", field="estate")
    if not _allowed(roles, estate, WRITERS):
        raise RosterForbidden("only the estate's site manager, a group admin or head office may change its roster",
                              field="estate")
    try:
        entries = rules.parse_roster(raw)
    except rules.RosterInvalid as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    with uow:
        now = uow.clock.now()
        uow.conn.execute(delete(duty_roster).where(duty_roster.c.tenant_id == tenant_id,
                                                   duty_roster.c.estate_code == estate))
        for position, e in enumerate(entries):
            uow.conn.execute(duty_roster.insert().values(
                tenant_id=tenant_id, estate_code=estate, position=position, person=e.person, post=e.post,
                weekdays=list(e.weekdays), date_from=e.date_from, date_to=e.date_to, note=e.note or None,
                updated_at=now, updated_by=user_id))
        uow.publish("duty_roster_saved", tenant_id, {"estate_code": estate, "entries": len(entries), "by": user_id,
                                                     "at": now.isoformat()})
        uow.commit()
    return {"estate": estate, "entries": [e.as_dict() for e in entries]}


def on_duty_now(conn, tenant_id: str, estate: str, cal, now) -> rules.Entry | None:
    """The roster entry that takes a case opened ``now`` at ``estate``; None inside business hours or when
    nobody is on duty (the routing rules then apply)."""
    rows = _entries(conn, tenant_id, estate)
    if not rows:
        return None
    try:
        if offhours.in_business_hours(cal, now):
            return None
        return rules.on_duty([_entry(r) for r in rows], offhours.duty_date(cal, now))
    except sla.CalendarUnavailable as exc:
        log.error("estate %s: cannot tell business hours at %s (%s); routing rules apply", estate, now, exc)
        return None


def record(conn, tenant_id: str, case_id: str, entry: rules.Entry) -> None:
    conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)
                 .values(assignee=entry.person, department=entry.post, status="assigned"))


def announce(uow, case: dict, entry: rules.Entry, met: list[str], now) -> None:
    """Timeline entry (kind ``case_on_duty``) and ``case_assigned`` (``routed`` and ``on_duty`` true)."""
    text = (f"非工作时间，派给值班人员：{entry.post} {entry.person}（值班表）"
            + (f"；已完成时限：{'、'.join(met)}" if met else ""))
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "case_on_duty", "workflow", text)
    uow.publish("case_assigned", case["tenant_id"], {
        "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "action": "assign", "status": "assigned", "by": None, "routed": True,
        "version": case["version"], "on_duty": True, "stages_met": met, "note": "", "assignee": entry.person, "department": entry.post,
        "at": now.isoformat()})
