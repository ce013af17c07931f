"""What workflow's and notify's events about a case's later life change in its fact. No framework imports.

Every merge commutes and is idempotent, so the events may arrive in any order and more than once:
- times are the **earliest** seen: first contact (``case_contacted``), first resolution (``case_resolved``, with
  the working minutes and the nonconformity flag of that resolution), cancellation, first reopening, first
  breach;
- a reopened case keeps its first resolution for timeliness and handling time (the reopening itself is counted
  by ``reopened``); a later resolution only adds its nonconformity flag;
- deadlines moved by a pause (``case_resumed`` after a deferral with the owner's consent) are the **latest**
  seen, so paused time does not count against the first-contact and resolution limits;
- escalation levels accumulate (the set of levels reached; the highest is ``escalation_level``);
- the owner's satisfaction is the **newest** callback answer (ties: the less satisfied one, so the order of
  two answers at the same instant does not matter); ``callback_at`` is the first answer.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

from .facts import FIRST_CONTACT_STAGE, RESOLUTION_STAGE, CaseFact, _fill, _utc, latest
from .rollup import InvalidEvent

SATISFACTIONS = ("dissatisfied", "neutral", "satisfied", "very_satisfied")  # worst first: the tie-break order


def _at(payload: dict, occurred_at: str | None, key: str = "at") -> dt.datetime:
    """The event's own time (``at``), else the envelope's ``occurred_at``."""
    return _utc(payload.get(key) or occurred_at, key)


def _earliest(fact: CaseFact, name: str, at: dt.datetime) -> CaseFact:
    current = getattr(fact, name)
    return replace(fact, **{name: at}) if current is None or at < current else fact


def apply_case_contacted(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """An agent recorded contact with the owner: the earliest is the first contact."""
    return _earliest(fact, "first_contact_met_at", _at(payload, occurred_at))


def apply_case_resolved(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """The first resolution sets ``resolved_at`` and its handling time (``handling_working_hours``, working
    hours on the site's calendar as workflow counts them; absent from older events -> unknown)."""
    at = _at(payload, occurred_at)
    hours = payload.get("handling_working_hours")
    if hours is not None and (isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours < 0):
        raise InvalidEvent("handling_working_hours is not a non-negative number")
    nonconformity = payload.get("nonconformity_required")
    if nonconformity is not None and not isinstance(nonconformity, bool):
        raise InvalidEvent("nonconformity_required is not true or false")
    if nonconformity and not fact.nonconformity_required:
        fact = replace(fact, nonconformity_required=True)
    elif nonconformity is False and fact.nonconformity_required is None:
        fact = replace(fact, nonconformity_required=False)
    if fact.resolved_at is None or at < fact.resolved_at:
        minutes = round(hours * 60) if hours is not None else None
        fact = replace(fact, resolved_at=at, handling_minutes=minutes)
    return _fill(fact, case_id=payload.get("case_id") if isinstance(payload.get("case_id"), str) else None)


def apply_case_cancelled(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    return _earliest(fact, "cancelled_at", _at(payload, occurred_at))


def apply_case_reopened(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """A dissatisfied callback sent the case back to its handler."""
    return _earliest(fact, "reopened_at", _at(payload, occurred_at))


def apply_sla_breached(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """A stage passed its deadline unmet: the breach time is its **original** deadline (``original_due_at``,
    before an approved extension moved ``due_at``; events without it: ``due_at``), the deadline the on-time
    figures measure against too."""
    key = "original_due_at" if payload.get("original_due_at") else "due_at"
    return _earliest(fact, "breached_at", _at(payload, occurred_at, key))


def apply_case_escalated(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    level = payload.get("level")
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise InvalidEvent("level is not a positive integer")
    levels = fact.levels | {level}
    return replace(fact, escalated_levels=",".join(str(x) for x in sorted(levels)), escalation_level=max(levels))


def apply_extension_requested(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """workflow's ``extension_requested``: the case asked for a later due date (the first request counts)."""
    return _earliest(fact, "extension_requested_at", _at(payload, occurred_at))


def apply_extension_decided(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """workflow's ``extension_decided``: an approval counts (the first); a rejection changes nothing. The
    deadlines reporting measures against stay the ones ``case_opened`` brought (the original SLA outcome)."""
    approved = payload.get("approved")
    if not isinstance(approved, bool):
        raise InvalidEvent("approved is not true or false")
    return _earliest(fact, "extension_approved_at", _at(payload, occurred_at)) if approved else fact


def apply_case_resumed(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """workflow's ``case_resumed``: the first-contact and resolution due times the pause moved (``deadlines``:
    ``[{stage, due_at, new_due_at}]``)."""
    moved = payload.get("deadlines")
    if not isinstance(moved, list):
        raise InvalidEvent("deadlines is not a list")
    fields = {FIRST_CONTACT_STAGE: "first_contact_due_at", RESOLUTION_STAGE: "resolution_due_at"}
    for m in moved:
        if isinstance(m, dict) and m.get("stage") in fields:
            name = fields[m["stage"]]
            fact = replace(fact, **{name: latest(getattr(fact, name), _utc(m.get("new_due_at"), "new_due_at"))})
    return fact


def apply_callback_answer(fact: CaseFact, payload: dict, occurred_at: str | None = None) -> CaseFact:
    """notify's ``callback_completed`` / ``callback_dissatisfied``: the owner was reached and answered."""
    satisfaction = payload.get("satisfaction")
    if satisfaction not in SATISFACTIONS:
        raise InvalidEvent(f"satisfaction must be one of {', '.join(SATISFACTIONS)}")
    at = _utc(occurred_at, "occurred_at")
    fact = _earliest(fact, "callback_at", at)
    held = fact.satisfaction_at
    newer = held is None or at > held or (
        at == held and SATISFACTIONS.index(satisfaction) < SATISFACTIONS.index(fact.satisfaction))
    if newer:
        fact = replace(fact, satisfaction=satisfaction, satisfaction_at=at,
                       satisfied=satisfaction in ("satisfied", "very_satisfied"))
    return fact
