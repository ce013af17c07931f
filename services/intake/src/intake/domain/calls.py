"""Hotline calls (客服热线) as the telephone system (CTI) reports them, and finding the caller among the owners
who complained before. Plain Python: no framework imports.

A call is keyed by the CTI's own ``call_id`` (unique per tenant). Its events arrive over HTTP, so they may be
repeated or come out of order (``answered`` before ``ringing``): the state only moves forward
(ringing -> answered -> ended), each timestamp is set once, and the first agent who answered stays.

There is no owner register (业主档案) yet: an "owner" is a complainant of an earlier complaint, grouped by
estate, phone and unit.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

CALL_EVENTS = ("ringing", "answered", "ended")
_RANK = {state: rank for rank, state in enumerate(CALL_EVENTS)}
_CALL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$")
_NUMBER = re.compile(r"^\+?[0-9][0-9 -]{0,30}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

MIN_PHONE_DIGITS = 7     # shorter is not a phone number (and would match half the register)
PHONE_KEY_DIGITS = 7     # the tail compared in SQL before the exact suffix check in Python
MIN_UNIT_CHARS = 2


class InvalidCall(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class CallEvent:
    call_id: str
    event: str
    caller: str
    called: str
    agent_user_id: str | None = None   # the gateway user the CTI's "agent" named, when it knew one
    agent_ref: str | None = None       # the CTI's "agent" as given (username or extension)
    estate: str | None = None


@dataclass
class Call:
    tenant_id: str
    id: str
    call_id: str
    caller: str
    called: str
    state: str
    started_at: dt.datetime
    estate_code: str | None = None
    agent_user_id: str | None = None
    agent_ref: str | None = None
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    complaint_id: str | None = None
    events: list = field(default_factory=list)


def _text(data: dict, key: str, limit: int, required: bool = False) -> str:
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidCall(key, f"{key} must be text")
    value = _CONTROL.sub("", value).strip()
    if required and not value:
        raise InvalidCall(key, f"{key} is required")
    if len(value) > limit:
        raise InvalidCall(key, f"{key} is longer than {limit} characters")
    return value


def parse_event(data) -> CallEvent:
    """Validate a CTI event dict. Raises ``InvalidCall`` naming the field."""
    if not isinstance(data, dict):
        raise InvalidCall("body", "a call event must be an object")
    call_id = _text(data, "call_id", 100, required=True)
    if not _CALL_ID.match(call_id):
        raise InvalidCall("call_id", "call_id may hold letters, digits and . _ : @ -")
    event = data.get("event")
    if event not in CALL_EVENTS:
        raise InvalidCall("event", "event must be ringing, answered or ended")
    caller, called = _text(data, "caller", 32), _text(data, "called", 32)
    for name, number in (("caller", caller), ("called", called)):
        if number and not _NUMBER.match(number):
            raise InvalidCall(name, f"{name} is not a phone number")
    agent_user_id = _text(data, "agent_user_id", 36) or None
    return CallEvent(call_id=call_id, event=event, caller=caller, called=called, agent_user_id=agent_user_id,
                     agent_ref=_text(data, "agent", 150) or None, estate=_text(data, "estate", 40) or None)


def new_call(tenant_id: str, call_id: str, ev: CallEvent, at: dt.datetime, new_id: str) -> Call:
    return Call(tenant_id=tenant_id, id=new_id, call_id=call_id, caller=ev.caller, called=ev.called,
                state=ev.event, started_at=at, estate_code=ev.estate)


def apply_event(call: Call, ev: CallEvent, at: dt.datetime) -> bool:
    """Apply ``ev`` received at ``at``; False when this event was already applied (a repeat: nothing changes)."""
    if any(e.get("event") == ev.event for e in call.events):
        return False
    call.events.append({"event": ev.event, "at": at.isoformat(), "caller": ev.caller, "called": ev.called,
                        "agent": ev.agent_ref, "estate": ev.estate})
    if _RANK[ev.event] > _RANK[call.state]:
        call.state = ev.event
    call.caller = call.caller or ev.caller
    call.called = call.called or ev.called
    call.estate_code = call.estate_code or ev.estate
    call.started_at = min(call.started_at, at)
    if ev.event == "answered":
        call.answered_at = call.answered_at or at
    if ev.event == "ended":
        call.ended_at = call.ended_at or at
    if ev.event in ("answered", "ended") and call.agent_user_id is None and ev.agent_user_id:
        call.agent_user_id = ev.agent_user_id
    if ev.agent_ref and call.agent_ref is None:
        call.agent_ref = ev.agent_ref
    return True


def claim(call: Call, user_id: str | None) -> None:
    """The agent who records the call's complaint owns the call when the CTI named nobody (first question)."""
    if call.agent_user_id is None and user_id:
        call.agent_user_id = user_id


# --- phones and owners ---------------------------------------------------------------------------------------

def phone_digits(value) -> str:
    """The digits that identify a number: ``+86 138-1234-5678``, ``008613812345678`` and ``013812345678`` (a
    trunk prefix) all give ``13812345678``."""
    digits = "".join(ch for ch in value if ch.isdigit()) if isinstance(value, str) else ""
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix):]
    if len(digits) == 12 and digits.startswith("01"):
        return digits[1:]
    return digits


def phones_match(a: str, b: str) -> bool:
    """Same number, allowing for an area code on one side (``021-62345678`` and ``62345678``)."""
    a, b = phone_digits(a), phone_digits(b)
    if len(a) < MIN_PHONE_DIGITS or len(b) < MIN_PHONE_DIGITS:
        return False
    return a.endswith(b) or b.endswith(a)


def mask_phone(phone: str) -> str:
    """``138****5678``: enough for the agent to confirm with the caller, not a number to copy."""
    digits = phone_digits(phone)
    if len(digits) >= 11:
        return f"{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) > 4:
        return "*" * (len(digits) - 4) + digits[-4:]
    return "*" * len(digits)


def owners_from(rows, limit: int = 10) -> list[dict]:
    """Owner candidates from complaint rows (``estate_code``, ``estate_name``, ``complainant_*``,
    ``received_at``), newest first: one per estate + phone + unit, named as in their latest complaint."""
    owners: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: r["received_at"], reverse=True):
        key = (r["estate_code"], phone_digits(r["complainant_phone"]), r["complainant_unit"].strip())
        found = owners.get(key)
        if found is None:
            owners[key] = found = {
                "key": "|".join(key), "name": r["complainant_name"], "phone": r["complainant_phone"],
                "phone_masked": mask_phone(r["complainant_phone"]), "email": r["complainant_email"],
                "unit": r["complainant_unit"], "estate": r["estate_code"], "estate_name": r["estate_name"],
                "complaints": 0, "last_complaint_at": r["received_at"].isoformat()}
        found["complaints"] += 1
        found["name"] = found["name"] or r["complainant_name"]
    return list(owners.values())[:limit]


def single_estate(owners: list[dict]) -> str | None:
    """The estate of every candidate when they agree (a call's estate when the CTI did not say)."""
    estates = {o["estate"] for o in owners}
    return estates.pop() if len(estates) == 1 else None
