"""Quiet hours: no non-urgent SMS to owners at night, in the estate's own time zone.

A window like 22:00-07:00 wraps midnight; a window whose start equals its end is "never quiet". The
per-tenant setting comes later (issue 6); for now the window is service config.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo


def parse_hhmm(value) -> dt.time:
    """``"22:00"`` -> ``time(22, 0)``; raises ``ValueError`` on anything else."""
    hours, _, minutes = str(value).strip().partition(":")
    return dt.time(int(hours), int(minutes or 0))


@dataclass(frozen=True)
class QuietHours:
    start: dt.time = dt.time(22, 0)
    end: dt.time = dt.time(7, 0)

    def _quiet(self, local: dt.time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def deferred_until(self, now: dt.datetime, timezone: str) -> dt.datetime | None:
        """The end of the quiet period ``now`` falls in (UTC), or None when sending now is fine."""
        zone = ZoneInfo(timezone)
        local = now.astimezone(zone)
        if not self._quiet(local.time().replace(tzinfo=None)):
            return None
        day = local.date() if local.time() < self.end else local.date() + dt.timedelta(days=1)
        return dt.datetime.combine(day, self.end, tzinfo=zone).astimezone(dt.timezone.utc)

    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"
