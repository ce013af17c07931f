"""Working days and business hours of a site, in its own time zone.

Working day = Monday-Friday unless the national calendar makes it a holiday, plus the make-up working days
(调休) it declares, minus the site's closures, plus the site's extra working days. Calendar ``cn`` is the
mainland statutory calendar (``statutory.py``: years an operator loaded, else the ``chinese-calendar`` package);
``none`` is plain Monday-Friday. A year neither knows raises ``CalendarUnavailable``: deadlines are never
computed from a guess.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from . import statutory

CALENDARS = ("cn", "none")


@dataclass(frozen=True)
class DayInfo:
    date: dt.date
    working: bool
    reason: str  # weekday | weekend | holiday | makeup | closure | extra
    name: str | None = None  # the holiday's name (chinese_calendar's English name) for holiday/makeup


@dataclass(frozen=True)
class WorkCalendar:
    timezone: str
    calendar: str
    business_hours: tuple[tuple[dt.time, dt.time], ...]
    closures: frozenset = field(default_factory=frozenset)
    extra_working_days: frozenset = field(default_factory=frozenset)
    reasons: tuple = ()  # ((date, reason), ...) of closures and extra working days that give one (explanations)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def day(self, date: dt.date) -> DayInfo:
        if date in self.closures:
            return DayInfo(date, False, "closure", self._reason(date))
        if date in self.extra_working_days:
            return DayInfo(date, True, "extra", self._reason(date))
        weekend = date.weekday() >= 5
        if self.calendar == "none":
            return DayInfo(date, not weekend, "weekend" if weekend else "weekday")
        working, name = _cn(date)
        if working:
            return DayInfo(date, True, "makeup", name) if weekend else DayInfo(date, True, "weekday")
        if name or not weekend:
            return DayInfo(date, False, "holiday", name)
        return DayInfo(date, False, "weekend")

    def _reason(self, date: dt.date) -> str | None:
        return next((reason for day, reason in self.reasons if day == date), None)

    def periods(self, date: dt.date) -> list[tuple[dt.datetime, dt.datetime]]:
        """The day's business-hour periods as aware instants (UTC), in order; empty on a non-working day."""
        zone = self.zone
        return [(_at(date, start, zone), _at(date, end, zone)) for start, end in self.business_hours]

    def closing(self, date: dt.date) -> dt.datetime:
        """The last ``end`` of the day's business hours (where a working-day limit falls due)."""
        return _at(date, self.business_hours[-1][1], self.zone)

    def local_date(self, instant: dt.datetime) -> dt.date:
        return instant.astimezone(self.zone).date()


def _at(date: dt.date, time: dt.time, zone: ZoneInfo) -> dt.datetime:
    """A local wall time as a UTC instant (a time skipped by a DST change resolves forward, as zoneinfo does)."""
    local = dt.datetime.combine(date, time, tzinfo=zone)
    return local.astimezone(dt.timezone.utc).astimezone(zone).astimezone(dt.timezone.utc)


def _cn(date: dt.date) -> tuple[bool, str | None]:
    return statutory.cn_day(date)


def check_year(calendar: str, year: int) -> None:
    """``CalendarUnavailable`` unless ``calendar`` knows ``year``."""
    if calendar == "cn":
        _cn(dt.date(year, 1, 1))
