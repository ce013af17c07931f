"""Business time on a site's calendar: is an instant inside business hours, when the next working period
starts, and business time between and after instants. No framework imports.

Used by the night shift (a case opened outside business hours goes to the person on duty, domain/duty.py) and by
deferral (the clock pauses while the owner agreed to wait, domain/deferrals.py). ``WorkCalendar`` is the
policy's calendar (domain/sla/workdays.py); a year it cannot count raises ``CalendarUnavailable`` as it does for
deadlines.
"""
from __future__ import annotations

import datetime as dt

from .sla.errors import NoWorkingTime
from .sla.workdays import WorkCalendar

MAX_DAYS = 400


def _periods(cal: WorkCalendar, day: dt.date):
    return cal.periods(day) if cal.day(day).working else []


def in_business_hours(cal: WorkCalendar, at: dt.datetime) -> bool:
    """Whether ``at`` falls in one of the business-hour periods of a working day (start inclusive, end not)."""
    return any(opens <= at < closes for opens, closes in _periods(cal, cal.local_date(at)))


def next_period_start(cal: WorkCalendar, at: dt.datetime) -> dt.datetime:
    """The start of the next working period after ``at`` (``at`` itself when it is exactly an opening time; the
    next opening when ``at`` is inside a period): where a night's deferral ends by default."""
    day = cal.local_date(at)
    for _ in range(MAX_DAYS):
        for opens, _closes in _periods(cal, day):
            if opens >= at:
                return opens
        day += dt.timedelta(days=1)
    raise NoWorkingTime(f"no working period in the {MAX_DAYS} days after {at.date()}")


def business_seconds(cal: WorkCalendar, start: dt.datetime, end: dt.datetime) -> float:
    """Seconds of business hours on working days between ``start`` and ``end`` (0 when ``end`` <= ``start``)."""
    if end <= start:
        return 0.0
    total, day = 0.0, cal.local_date(start)
    while day <= cal.local_date(end):
        for opens, closes in _periods(cal, day):
            total += max((min(closes, end) - max(opens, start)).total_seconds(), 0.0)
        day += dt.timedelta(days=1)
    return total


def add_business(cal: WorkCalendar, start: dt.datetime, seconds: float) -> dt.datetime:
    """The instant ``seconds`` of business time after ``start`` (a due time that falls at a period's end stays at
    that end rather than moving to the next opening)."""
    remaining = dt.timedelta(seconds=seconds)
    if remaining <= dt.timedelta(0):
        return start
    cursor, day = start, cal.local_date(start)
    for _ in range(MAX_DAYS):
        for opens, closes in _periods(cal, day):
            if closes <= cursor:
                continue
            begin = max(opens, cursor)
            if begin + remaining <= closes:
                return begin + remaining
            remaining -= closes - begin
            cursor = closes
        day += dt.timedelta(days=1)
    raise NoWorkingTime(f"not enough business hours in the {MAX_DAYS} days after {start.date()}")


def duty_date(cal: WorkCalendar, at: dt.datetime) -> dt.date:
    """The date whose duty shift covers ``at``: a night belongs to the evening it starts on, so the hours before
    the day's first opening time count for the day before (Tuesday 03:00 is Monday's night shift)."""
    local = at.astimezone(cal.zone)
    first_open = cal.business_hours[0][0] if cal.business_hours else dt.time(0, 0)
    return local.date() - dt.timedelta(days=1) if local.time() < first_open else local.date()
