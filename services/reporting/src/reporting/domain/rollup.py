"""What reporting takes from a ``complaint_received`` event, and the date ranges its queries accept.

Days are the estate's local calendar days: a complaint received at 23:30 in Shanghai counts for that Shanghai
date, although it is 15:30 UTC. The estate's time zone comes with the event (intake's estate snapshot), so
reporting never needs intake's tables.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MAX_RANGE_DAYS = 366  # inclusive; a leap year fits
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InvalidEvent(ValueError):
    """The event's payload lacks what reporting needs: a poison message (it is dead-lettered, not retried)."""


class InvalidRange(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class EstateSnapshot:
    code: str
    name: str
    kind: str
    timezone: str
    region: str | None
    units: int | None = None  # the estate's unit count, when intake's snapshot carries it


@dataclass(frozen=True)
class ComplaintFact:
    tenant_id: str
    complaint_id: str
    estate: EstateSnapshot
    channel: str
    category: str | None
    severity: str | None
    received_at: dt.datetime  # UTC
    day: dt.date  # the estate-local date of received_at

    @property
    def rollup_key(self) -> dict:
        """The ``complaint_daily`` key this complaint counts towards ('' for no category / severity)."""
        return {"tenant_id": self.tenant_id, "day": self.day, "estate_code": self.estate.code,
                "channel": self.channel, "category": self.category or "", "severity": self.severity or ""}


def local_day(received_at: dt.datetime, timezone: str) -> dt.date:
    """The calendar date at the estate when the complaint arrived."""
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return received_at.astimezone(ZoneInfo(timezone)).date()


def _required_text(data: dict, key: str, prefix: str = "") -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{prefix}{key} is missing or not text")
    return value.strip()


def _optional_text(data: dict, key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidEvent(f"{key} is not text")
    return value


def _units(value) -> int | None:
    """``estate.units`` if it is a whole number above 0; anything else is unknown (never a reason to lose the
    complaint)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def fact_from_complaint_received(tenant_id: str, payload: dict) -> ComplaintFact:
    """Read a ``complaint_received`` payload (schema 1). Raises ``InvalidEvent`` when it is unusable."""
    estate = payload.get("estate")
    if not isinstance(estate, dict):
        raise InvalidEvent("estate is missing or not an object")
    snapshot = EstateSnapshot(
        code=_required_text(estate, "code", "estate."), name=_required_text(estate, "name", "estate."),
        kind=_optional_text(estate, "kind") or "", timezone=_required_text(estate, "timezone", "estate."),
        region=_optional_text(estate, "region"), units=_units(estate.get("units")),
    )
    try:
        received_at = dt.datetime.fromisoformat(_required_text(payload, "received_at"))
        if received_at.tzinfo is None:
            raise InvalidEvent("received_at has no UTC offset")
        day = local_day(received_at, snapshot.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        if isinstance(exc, InvalidEvent):
            raise
        raise InvalidEvent(f"bad received_at or estate.timezone: {exc}") from exc
    return ComplaintFact(
        tenant_id=tenant_id, complaint_id=_required_text(payload, "complaint_id"), estate=snapshot,
        channel=_required_text(payload, "channel"), category=_optional_text(payload, "category"),
        severity=_optional_text(payload, "severity"), received_at=received_at.astimezone(dt.timezone.utc),
        day=day,
    )


def estate_from_estate_saved(payload: dict, occurred_at: str | None) -> tuple[EstateSnapshot, bool, dt.datetime]:
    """Read intake's ``estate_saved`` (schema 1): ``(estate as saved, active, as of)``. ``as of`` is the save's
    ``at`` (else the envelope's ``occurred_at``); ``units`` null means none registered. Raises ``InvalidEvent``."""
    estate = payload.get("estate")
    if not isinstance(estate, dict):
        raise InvalidEvent("estate is missing or not an object")
    active = estate.get("active", True)
    if not isinstance(active, bool):
        raise InvalidEvent("estate.active is not true or false")
    snapshot = EstateSnapshot(
        code=_required_text(estate, "code", "estate."), name=_required_text(estate, "name", "estate."),
        kind=_optional_text(estate, "kind") or "", timezone=_optional_text(estate, "timezone") or "",
        region=_optional_text(estate, "region"), units=_units(estate.get("units")),
    )
    try:
        as_of = dt.datetime.fromisoformat(_required_text({"at": payload.get("at") or occurred_at}, "at"))
    except ValueError:
        raise InvalidEvent("at is not an ISO date-time") from None
    if as_of.tzinfo is None:
        raise InvalidEvent("at has no UTC offset")
    return snapshot, active, as_of.astimezone(dt.timezone.utc)


def _parse_date(value, field_name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise InvalidRange(field_name, f"{field_name} must be a date like 2026-11-24")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidRange(field_name, f"{field_name} is not a calendar date") from None


def parse_range(date_from, date_to) -> tuple[dt.date | None, dt.date | None]:
    """Inclusive ``(from, to)``; either side may be open (None). A closed range spans at most 366 days."""
    start, end = _parse_date(date_from, "from"), _parse_date(date_to, "to")
    if start and end:
        if end < start:
            raise InvalidRange("from", "from is after to")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise InvalidRange("to", f"the range is longer than {MAX_RANGE_DAYS} days")
    return start, end


def parse_closed_range(date_from, date_to) -> tuple[dt.date, dt.date]:
    """Like ``parse_range`` but both bounds are required (the dashboard's periods are closed)."""
    start, end = parse_range(date_from, date_to)
    if start is None:
        raise InvalidRange("from", "from is required")
    if end is None:
        raise InvalidRange("to", "to is required")
    return start, end


def _whole_months(start: dt.date, end: dt.date) -> int | None:
    """How many calendar months ``start..end`` is, if it is exactly whole months; else None."""
    if start.day != 1 or (end + dt.timedelta(days=1)).day != 1:
        return None
    return (end.year - start.year) * 12 + end.month - start.month + 1


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first of the month ``months`` away from ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def earlier_period(start: dt.date, end: dt.date, back: int = 1) -> tuple[dt.date, dt.date]:
    """The period ``back`` periods before ``start..end`` (inclusive bounds): for whole calendar months the same
    number of months before (Q3 -> Q2, November -> October), otherwise the same number of days before."""
    months = _whole_months(start, end)
    if months is not None:
        first = _add_months(start, -months * back)
        return first, _add_months(first, months) - dt.timedelta(days=1)
    length = (end - start).days + 1
    return start - dt.timedelta(days=length * back), end - dt.timedelta(days=length * back)
