"""Deadlines from a policy: each stage's due instant and the structured record of how it was counted.

``m``/``h``/``d`` are elapsed time (``7d`` is 7 x 24 h, so across a DST change the local hour moves).
``bh`` counts minutes inside business hours on working days; a clock started outside them starts at the next
opening. ``wd`` falls due at the last ``end`` of business hours on the Nth working day after the local day of
receipt (day 0, whatever the hour). ``after: <stage>`` counts from that stage's due instant instead of receipt.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import CalendarUnavailable, NoWorkingTime, PolicyInvalid
from .grammar import Limit
from .policy import Policy, Stage
from .workdays import DayInfo, WorkCalendar

MAX_DAYS = 400  # a year of closures is a policy error, not a reason to loop forever


@dataclass(frozen=True)
class Deadline:
    stage: str
    due_at: dt.datetime  # UTC
    limit: Limit
    explanation: dict  # structured; rendered by ``explain.render``


def compute(policy: Policy, received_at: dt.datetime, severity: str, category: str | None = None,
            channel: str | None = None, failures: list | None = None, starts: dict | None = None) -> list[Deadline]:
    """Every stage's deadline. With ``failures`` (a list), a stage the calendar cannot count (and the stages
    counted after it) is recorded there as ``{"stage", "error"}`` and left out instead of raising.
    ``starts`` {stage: (instant, reason)} counts a stage from an instant other than the receipt (the committee
    stage from when the owner told the committee); ``reason`` names the start in the explanation."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    received_at = received_at.astimezone(dt.timezone.utc)
    stages = {s.name: s for s in policy.stages_for(severity, category, channel)}
    done: dict[str, Deadline] = {}
    failed: set = set()

    def due(name: str, chain: tuple = ()) -> Deadline:
        if name in done:
            return done[name]
        if name in failed:
            raise _Skipped(name)
        if name in chain or name not in stages:
            raise PolicyInvalid([{"path": f"severities.{severity}.stages", "line": None,
                                  "problem": f"after: stage {name!r} is unknown or part of a cycle"}])
        stage = stages[name]
        given = (starts or {}).get(name)
        start = due(stage.after, chain + (name,)).due_at if stage.after else (
            given[0].astimezone(dt.timezone.utc) if given else received_at)
        try:
            done[name] = _deadline(policy, severity, stage, start, received_at,
                                   None if stage.after or not given else given[1])
        except (CalendarUnavailable, NoWorkingTime) as exc:
            if failures is None:
                raise
            failures.append({"stage": name, "error": str(exc)})
            failed.add(name)
            raise _Skipped(name) from None
        return done[name]

    out = []
    for name in stages:
        try:
            out.append(due(name))
        except _Skipped as skipped:
            if skipped.stage != name:
                failed.add(name)
                failures.append({"stage": name, "error": f"counts from {skipped.stage!r}, which has no deadline"})
    return out


def count(cal: WorkCalendar, start: dt.datetime, limit: Limit) -> tuple[dt.datetime, dict]:
    """``limit`` counted from ``start`` on ``cal`` exactly as a stage's limit is (escalation rungs, a warning point
    or an extension approval bound written in the limit grammar): (due instant in UTC, detail for the
    explanation). ``CalendarUnavailable``/``NoWorkingTime`` as for stages."""
    counted = {"m": _elapsed, "h": _elapsed, "d": _elapsed, "bh": _business_hours, "wd": _working_days}[limit.unit]
    return counted(cal, start.astimezone(dt.timezone.utc), limit)


def limit_explanation(cal: WorkCalendar, start: dt.datetime, limit: Limit, detail: dict, due_at: dt.datetime,
                      source: str = "preview") -> dict:
    """A structured record ``explain.render`` can read for a limit counted by ``count`` outside any stage."""
    zone = cal.zone
    return {"stage": None, "label": None, "severity": None, "limit": str(limit), "unit": limit.unit,
            "amount": limit.amount, "after": None, "repeat": False, "channels": None,
            "policy": {"version": None, "levels": [], "source": source, "source_version": None, "category": None},
            "timezone": cal.timezone, "calendar": cal.calendar,
            "business_hours": [f"{a:%H:%M}-{b:%H:%M}" for a, b in cal.business_hours],
            "received_at": start.astimezone(zone).isoformat(), "start": start.astimezone(zone).isoformat(),
            "start_reason": None, "due_at": due_at.astimezone(zone).isoformat(), **detail}


def restart(policy: Policy, severity: str, stage: Stage, start: dt.datetime) -> Deadline:
    """One stage counted afresh from ``start`` (a reopened case's new resolution deadline)."""
    start = start.astimezone(dt.timezone.utc)
    return _deadline(policy, severity, stage, start, start)


class _Skipped(Exception):
    def __init__(self, stage: str):
        super().__init__(stage)
        self.stage = stage


def _deadline(policy: Policy, severity: str, stage: Stage, start: dt.datetime, received_at: dt.datetime,
              start_reason: str | None = None) -> Deadline:
    cal = policy.calendar
    due_at, detail = count(cal, start, stage.limit)
    zone = cal.zone
    explanation = {
        "stage": stage.name, "label": stage.label, "severity": severity, "limit": str(stage.limit),
        "unit": stage.limit.unit, "amount": stage.limit.amount, "after": stage.after, "repeat": stage.repeat,
        "channels": list(stage.channels) if stage.channels else None,
        "policy": {"version": policy.version_label, "levels": [{"scope": s, "version": v} for s, v in policy.levels],
                   "source": stage.source, "source_version": stage.version, "category": stage.category},
        "timezone": cal.timezone, "calendar": cal.calendar,
        "business_hours": [f"{a:%H:%M}-{b:%H:%M}" for a, b in cal.business_hours],
        "received_at": received_at.astimezone(zone).isoformat(), "start": start.astimezone(zone).isoformat(),
        "start_reason": start_reason,
        "due_at": due_at.astimezone(zone).isoformat(),
        **detail,
    }
    return Deadline(stage.name, due_at, stage.limit, explanation)


def _elapsed(cal: WorkCalendar, start: dt.datetime, limit: Limit):
    return start + dt.timedelta(minutes=limit.minutes), {"skipped_days": [], "makeup_days": [], "out_of_hours": []}


def _day_note(info: DayInfo) -> dict:
    return {"date": info.date.isoformat(), "reason": info.reason, "name": info.name}


def _working_days(cal: WorkCalendar, start: dt.datetime, limit: Limit):
    day0 = cal.local_date(start)
    skipped, makeup, counted, day = [], [], 0, day0
    for _ in range(MAX_DAYS):
        day += dt.timedelta(days=1)
        info = cal.day(day)
        if not info.working:
            skipped.append(_day_note(info))
            continue
        if info.reason in ("makeup", "extra"):
            makeup.append(_day_note(info))
        counted += 1
        if counted == limit.amount:
            return cal.closing(day), {"day0": day0.isoformat(), "skipped_days": skipped, "makeup_days": makeup,
                                      "out_of_hours": []}
    raise NoWorkingTime(f"fewer than {limit.amount} working days in the {MAX_DAYS} days after {day0}")


def _business_hours(cal: WorkCalendar, start: dt.datetime, limit: Limit):
    remaining = dt.timedelta(minutes=limit.minutes)
    skipped, makeup, gaps = [], [], []
    cursor = start  # the instant the clock stands at; a gap opens whenever the next period starts later
    day = cal.local_date(start)
    clock_start = None
    for _ in range(MAX_DAYS):
        info = cal.day(day)
        if not info.working:
            skipped.append(_day_note(info))
        else:
            if info.reason in ("makeup", "extra"):
                makeup.append(_day_note(info))
            for opens, closes in cal.periods(day):
                if closes <= cursor:
                    continue
                begin = max(opens, cursor)
                if begin > cursor:
                    gaps.append((cursor, begin))
                clock_start = clock_start or begin
                if begin + remaining <= closes:
                    due = begin + remaining
                    return due, {"clock_start": clock_start.astimezone(cal.zone).isoformat(),
                                 "skipped_days": skipped, "makeup_days": makeup,
                                 "out_of_hours": _gaps(cal, gaps)}
                remaining -= closes - begin
                cursor = closes
        day += dt.timedelta(days=1)
    raise NoWorkingTime(f"not enough business hours in the {MAX_DAYS} days after {start.date()}")


def _gaps(cal: WorkCalendar, gaps: list) -> list[dict]:
    """Out-of-hours spans the clock stood still through, in local time. A span that covers whole
    non-working days is kept whole (the days themselves are listed in ``skipped_days``)."""
    zone = cal.zone
    return [{"from": a.astimezone(zone).isoformat(), "to": b.astimezone(zone).isoformat(),
             "minutes": int((b - a).total_seconds() // 60)} for a, b in gaps]
