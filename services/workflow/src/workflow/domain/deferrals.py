"""Deferral with the owner's consent (seed 001 part 5 §4.1.5): at night a non-urgent complaint may wait for
office hours if the owner agrees. No framework imports.

``defer`` {consented_by (who agreed: the owner's name, or e.g. 「业主（电话确认）」), until (optional ISO 8601
with offset; default the start of the estate's next working period), note}: only below the top of the policy's
severity scheme (an urgent/major case, or one whose scheme cannot be ranked, is refused on ``severity``). While
deferred the case's pending stage clocks stand still; ``resume`` (by hand, or the timer at ``until``) moves each
pending due time by the time paused:

- a wall-clock limit (``m``, ``h``, ``d``) by the whole paused duration;
- a business-hours or working-day limit (``bh``, ``wd``) by the business time the pause took: the business time
  left at the deferral is counted again from the resumption (a night's pause costs such a stage nothing, as its
  clock was not running at night anyway);
- a stage already overdue when deferred keeps its due time (the breach happened before the owner agreed).

A pause never shortens a deadline.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from . import offhours
from .sla.workdays import WorkCalendar

ACTIONS = ("defer", "resume")
STATUS = "deferred"
MAX_DEFERRAL = dt.timedelta(days=30)
BUSINESS_UNITS = ("bh", "wd")
LABELS_ZH = {"defer": "经业主同意延后处理", "resume": "恢复处理"}


class NotDeferrable(Exception):
    """The case may not be deferred (severity) or the request is malformed; ``field`` names the cause."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Deferral:
    consented_by: str
    until: dt.datetime
    note: str


def check_severity(order, severity: str | None) -> None:
    """Only a non-urgent case may wait: below the top of the ranked scheme (``order`` lowest first)."""
    if not order or severity not in order:
        raise NotDeferrable("severity", "the policy does not rank its severities (severity_order), so this case "
                                        "cannot be shown to be non-urgent; it cannot be deferred")
    if severity == order[-1]:
        raise NotDeferrable("severity", f"an urgent/major case ({severity}) cannot be deferred; it is handled "
                                        "at once, day or night")


def parse_defer(data: dict, now: dt.datetime, default_until: dt.datetime) -> Deferral:
    consented_by = data.get("consented_by")
    if not isinstance(consented_by, str) or not consented_by.strip():
        raise NotDeferrable("consented_by", "say who consented to the deferral (the owner's name, or "
                                            "'owner by phone')")
    if len(consented_by.strip()) > 100:
        raise NotDeferrable("consented_by", "consented_by is longer than 100 characters")
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > 2000:
        raise NotDeferrable("note", "note must be text of at most 2000 characters")
    until = _instant(data.get("until")) if data.get("until") else default_until
    if until <= now:
        raise NotDeferrable("until", "until must be in the future")
    if until - now > MAX_DEFERRAL:
        raise NotDeferrable("until", f"a deferral lasts at most {MAX_DEFERRAL.days} days")
    return Deferral(consented_by.strip(), until, note.strip())


def _instant(value) -> dt.datetime:
    if isinstance(value, dt.datetime):
        instant = value
    else:
        try:
            instant = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise NotDeferrable("until", "until is not an ISO 8601 date-time") from None
    if instant.tzinfo is None:
        raise NotDeferrable("until", "until needs a UTC offset (e.g. 2026-11-25T08:30:00+08:00)")
    return instant


def resumed_due(cal: WorkCalendar | None, unit: str | None, due: dt.datetime, deferred_at: dt.datetime,
                resumed_at: dt.datetime) -> dt.datetime:
    """The due time of a pending stage after a pause from ``deferred_at`` to ``resumed_at`` (module docstring).
    ``cal`` None (a calendar that cannot count those days) counts every limit as wall clock."""
    if due <= deferred_at or resumed_at <= deferred_at:
        return due
    if cal is not None and unit in BUSINESS_UNITS:
        left = offhours.business_seconds(cal, deferred_at, due)
        return max(due, offhours.add_business(cal, resumed_at, left))
    return due + (resumed_at - deferred_at)


def unit_of(limit_spec: str | None) -> str | None:
    """``"4bh"`` -> ``"bh"``; None for a row without a limit."""
    if not limit_spec:
        return None
    return limit_spec.lstrip("0123456789") or None
