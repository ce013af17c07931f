"""The hotline channel's use cases: CTI call events, finding the caller among earlier complainants, the agents'
list of calls to record, and linking a call to the complaint recorded from it.

Calls have no outgoing events: a call changes nothing other services react to; the complaint recorded from it
is announced by ``complaint_received`` as from any channel (with the link written in the same transaction).
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from .domain.calls import (MIN_PHONE_DIGITS, MIN_UNIT_CHARS, PHONE_KEY_DIGITS, Call, InvalidCall, apply_event,
                           claim, new_call, owners_from, parse_event, phone_digits, phones_match, single_estate)
from .exceptions import CallNotFound, ValidationFailed
from .tables import call_events, calls, complaints, estates
from . import repository

log = logging.getLogger(__name__)

RETRIES = 3                 # two events of one new call at the same moment: the loser's insert is retried
LOOKUP_ROWS = 300           # complaint rows read per lookup before grouping them into owners
LOOKUP_COMPLAINTS = 20
RECENT_ENDED = dt.timedelta(hours=2)  # ended calls nobody recorded yet stay on the agents' list this long


# --- CTI events ----------------------------------------------------------------------------------------------

def record_call_event(data: dict, tenant_id: str, uow) -> dict:
    """Record one CTI event (idempotent per call and event) and return the screen pop:
    ``{"call", "duplicate", "caller": lookup_caller(...) or None}``."""
    try:
        ev = parse_event(data)
    except InvalidCall as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    for attempt in range(RETRIES):
        try:
            call, duplicate = _record(ev, tenant_id, uow)
            break
        except (IntegrityError, OperationalError) as exc:  # a concurrent first event of the same call
            if attempt == RETRIES - 1:
                raise
            log.info("call %s: retrying after %s", ev.call_id, type(exc).__name__)
    found = None
    if len(phone_digits(call.caller)) >= MIN_PHONE_DIGITS:
        found = lookup_caller(tenant_id, uow.engine, phone=call.caller)
    return {"call": call_view(call), "duplicate": duplicate, "caller": found}


def _record(ev, tenant_id: str, uow) -> tuple[Call, bool]:
    now = uow.clock.now()
    with uow:
        conn = uow.conn
        if ev.estate is not None and repository.get_estate(conn, tenant_id, ev.estate) is None:
            raise ValidationFailed(f"no estate {ev.estate!r}", field="estate")
        call = _load(conn, tenant_id, ev.call_id, lock=True)
        if call is not None and any(e["event"] == ev.event for e in call.events):
            return call, True
        # a concurrent repeat of this very event fails on the key here: the retry then finds it recorded
        conn.execute(call_events.insert().values(
            tenant_id=tenant_id, call_id=ev.call_id, event=ev.event, at=now,
            payload={"caller": ev.caller, "called": ev.called, "agent": ev.agent_ref,
                     "agent_user_id": ev.agent_user_id, "estate": ev.estate}))
        if call is None:
            call = new_call(tenant_id, ev.call_id, ev, now, str(uuid.uuid4()))
            apply_event(call, ev, now)
            if call.estate_code is None and len(phone_digits(ev.caller)) >= MIN_PHONE_DIGITS:
                call.estate_code = single_estate(_owners_by_phone(conn, tenant_id, ev.caller))
            conn.execute(calls.insert().values(_row(call, now) | {"tenant_id": tenant_id, "id": call.id,
                                                                   "call_id": call.call_id}))
        else:
            apply_event(call, ev, now)
            conn.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call.id)
                         .values(_row(call, now)))
        uow.commit()
    log.info("call %s: %s (state %s)", ev.call_id, ev.event, call.state)
    return call, False


def _row(call: Call, now: dt.datetime) -> dict:
    return dict(caller=call.caller, called=call.called, state=call.state, estate_code=call.estate_code,
                agent_user_id=call.agent_user_id, agent_ref=call.agent_ref, started_at=call.started_at,
                answered_at=call.answered_at, ended_at=call.ended_at, complaint_id=call.complaint_id,
                updated_at=now)


def _load(conn, tenant_id: str, call_id: str, lock: bool = False) -> Call | None:
    q = select(calls).where(calls.c.tenant_id == tenant_id, calls.c.call_id == call_id)
    row = conn.execute(q.with_for_update() if lock else q).mappings().first()
    if row is None:
        return None
    events = conn.execute(select(call_events.c.event, call_events.c.at).where(
        call_events.c.tenant_id == tenant_id, call_events.c.call_id == call_id).order_by(call_events.c.at))
    return Call(tenant_id=tenant_id, id=row["id"], call_id=row["call_id"], caller=row["caller"],
                called=row["called"], state=row["state"], started_at=row["started_at"],
                estate_code=row["estate_code"], agent_user_id=row["agent_user_id"], agent_ref=row["agent_ref"],
                answered_at=row["answered_at"], ended_at=row["ended_at"], complaint_id=row["complaint_id"],
                events=[{"event": e.event, "at": e.at.isoformat()} for e in events])


def call_view(call: Call) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"call_id": call.call_id, "caller": call.caller, "called": call.called, "state": call.state,
            "estate": call.estate_code, "agent_user_id": call.agent_user_id, "agent_ref": call.agent_ref,
            "started_at": iso(call.started_at), "answered_at": iso(call.answered_at),
            "ended_at": iso(call.ended_at), "complaint_id": call.complaint_id}


# --- the agents' side ----------------------------------------------------------------------------------------

def _visible(call: Call | None, scope) -> bool:
    """A call without an estate (a group-wide hotline, unknown caller) is for every agent of the tenant."""
    return call is not None and (scope is None or call.estate_code is None or call.estate_code in scope)


def get_call(call_id, tenant_id: str, engine, scope=None) -> dict:
    if not isinstance(call_id, str) or not 0 < len(call_id) <= 100:
        raise CallNotFound("no such call", field="call_id")
    with engine.connect() as conn:
        call = _load(conn, tenant_id, call_id)
    if not _visible(call, scope):
        raise CallNotFound("no such call", field="call_id")
    return call_view(call)


def list_calls(tenant_id: str, engine, now: dt.datetime, scope=None, limit: int = 20) -> list[dict]:
    """Calls an agent may record now: ringing or answered, and those ended in the last two hours with no
    complaint yet; newest first, within the caller's estates (calls without an estate included)."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100:
        raise ValidationFailed("limit must be an integer from 1 to 100", field="limit")
    where = [calls.c.tenant_id == tenant_id,
             or_(calls.c.state.in_(("ringing", "answered")),
                 (calls.c.complaint_id.is_(None)) & (calls.c.ended_at >= now - RECENT_ENDED))]
    if scope is not None:
        where.append(or_(calls.c.estate_code.is_(None), calls.c.estate_code.in_(sorted(scope))))
    q = select(calls.c.call_id).where(*where).order_by(calls.c.started_at.desc(), calls.c.id).limit(limit)
    with engine.connect() as conn:
        return [call_view(_load(conn, tenant_id, call_id)) for call_id in conn.execute(q).scalars()]


def link_complaint(conn, tenant_id: str, call_id, complaint_id: str, user_id: str | None, scope=None) -> None:
    """Inside ``register_complaint``'s transaction: the complaint carries the call, the call its first
    complaint, and the agent recording it owns the call when the CTI named nobody."""
    if not isinstance(call_id, str) or not 0 < len(call_id) <= 100:
        raise ValidationFailed("call_id must be a call id", field="call_id")
    call = _load(conn, tenant_id, call_id, lock=True)
    if not _visible(call, scope):
        raise CallNotFound("no such call", field="call_id")
    claim(call, user_id)
    conn.execute(update(complaints).where(complaints.c.tenant_id == tenant_id, complaints.c.id == complaint_id)
                 .values(call_id=call_id))
    conn.execute(update(calls).where(calls.c.tenant_id == tenant_id, calls.c.id == call.id)
                 .values(complaint_id=call.complaint_id or complaint_id, agent_user_id=call.agent_user_id))


# --- who is calling ------------------------------------------------------------------------------------------

def lookup_caller(tenant_id: str, engine, phone=None, unit=None, estate=None, scope=None) -> dict:
    """Owners (earlier complainants) matching a phone number and/or a unit, and their complaints, newest first:
    ``{"owners": [...], "complaints": [...]}``. Open or finished is workflow's to say (the gateway merges it)."""
    phone, unit, estate = _query_text(phone, "phone", 32), _query_text(unit, "unit", 50), _query_text(
        estate, "estate", 40)
    if phone is None and unit is None:
        raise ValidationFailed("give a phone number or a unit", field="phone")
    if phone is not None and len(phone_digits(phone)) < MIN_PHONE_DIGITS:
        raise ValidationFailed(f"a phone number has at least {MIN_PHONE_DIGITS} digits", field="phone")
    if unit is not None and len(unit) < MIN_UNIT_CHARS:
        raise ValidationFailed(f"a unit has at least {MIN_UNIT_CHARS} characters", field="unit")
    if (scope is not None and not scope) or (estate is not None and scope is not None and estate not in scope):
        return {"owners": [], "complaints": []}
    with engine.connect() as conn:
        rows = _complaint_rows(conn, tenant_id, phone, unit, estate, scope)
    owners = owners_from(rows)
    keys = {o["key"] for o in owners}
    listed = []
    for r in rows:
        key = "|".join((r["estate_code"], phone_digits(r["complainant_phone"]), r["complainant_unit"].strip()))
        if key in keys and len(listed) < LOOKUP_COMPLAINTS:
            listed.append({"id": r["id"], "reference": r["reference"], "status": r["status"],
                           "estate_code": r["estate_code"], "estate_name": r["estate_name"],
                           "channel": r["channel"], "category": r["category"], "severity": r["severity"],
                           "received_at": r["received_at"].isoformat(), "complainant_name": r["complainant_name"],
                           "summary": _summary(r["description"]), "owner": key})
    return {"owners": owners, "complaints": listed}


def _owners_by_phone(conn, tenant_id: str, phone: str) -> list[dict]:
    return owners_from(_complaint_rows(conn, tenant_id, phone, None, None, None))


def _complaint_rows(conn, tenant_id: str, phone, unit, estate, scope) -> list:
    c = complaints
    where = [c.c.tenant_id == tenant_id]
    if phone is not None:  # a tail match in SQL, the exact suffix rule in Python
        tail = phone_digits(phone)[-PHONE_KEY_DIGITS:]
        where.append(func.replace(func.replace(c.c.complainant_phone, "-", ""), " ", "").like(f"%{tail}"))
    if unit is not None:
        where.append(func.lower(c.c.complainant_unit).like(f"%{_escape(unit.lower())}%", escape="\\"))
    if estate is not None:
        where.append(c.c.estate_code == estate)
    if scope is not None:
        where.append(c.c.estate_code.in_(sorted(scope)))
    q = (select(c.c.id, c.c.reference, c.c.status, c.c.estate_code, estates.c.name.label("estate_name"),
                c.c.channel, c.c.category, c.c.severity, c.c.received_at, c.c.description,
                c.c.complainant_name, c.c.complainant_phone, c.c.complainant_email, c.c.complainant_unit)
         .join(estates, (estates.c.tenant_id == c.c.tenant_id) & (estates.c.code == c.c.estate_code))
         .where(*where).order_by(c.c.received_at.desc(), c.c.id).limit(LOOKUP_ROWS))
    rows = list(conn.execute(q).mappings())
    return [r for r in rows if phone is None or phones_match(r["complainant_phone"], phone)]


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _summary(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _query_text(value, field: str, limit: int) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise ValidationFailed(f"{field} must be text of at most {limit} characters", field=field)
    return value.strip()
