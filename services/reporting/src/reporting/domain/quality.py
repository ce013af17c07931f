"""Quality records as reporting sees them: workflow's nonconformity records (《不合格品/服务记录处理单》)
and CAPA records (纠正/预防措施), one row each, merged from workflow's events. No framework imports.

Every merge commutes and is idempotent, so the events may arrive in any order and more than once:
- the snapshot fields (estate, case, cause, loss, trigger, owner) are filled by whichever event brings them first
  (workflow sends the same values in every event of a record);
- ``opened_at`` is the earliest opening seen; a nonconformity record is ``open`` until a decision arrives, whose
  ``status`` (approved | rejected) and time win whatever the order (the **newest** decision if ever two);
- a CAPA record's ``status`` and ``due_at`` come from its **newest** effectiveness check (``capa_checked``:
  ``closed``, or still ``open`` with a new due date), else from ``capa_opened``; ``case_ids`` is the union of the
  cases of ``capa_opened`` and ``capa_case_added``.

The figures (``nonconformity_figures``, ``capa_figures``) sum per-estate counts the queries make: records opened,
approved and rejected in the period (by the event's ``at`` in the estate-local period, see ``period_bounds``),
CAPA records open now and overdue now (open with the due date passed; a record closed by its check is never
overdue).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, fields, replace
from zoneinfo import ZoneInfo

from .facts import _utc
from .rollup import InvalidEvent

NONCONFORMITY_EVENTS = ("nonconformity_opened", "nonconformity_decided")
CAPA_EVENTS = ("capa_opened", "capa_case_added", "capa_checked")
DECISIONS = ("approved", "rejected")
CAPA_STATUSES = ("open", "closed")
# Workflow's quality events carry no time zone: a record counts in the period by its time in the group's zone
# (every estate of a group is in it today; the complaints' own days use each estate's zone).
GROUP_TIMEZONE = "Asia/Shanghai"
NONCONFORMITY_COUNTS = ("opened", "approved", "rejected")
CAPA_COUNTS = ("open_now", "overdue_now", "opened", "closed")


@dataclass(frozen=True)
class Nonconformity:
    tenant_id: str
    record_id: str
    estate_code: str | None = None
    case_id: str | None = None
    cause: str | None = None
    loss_amount: int | None = None
    status: str | None = None  # open | approved | rejected (None: only an empty row so far)
    opened_at: dt.datetime | None = None
    decided_at: dt.datetime | None = None


@dataclass(frozen=True)
class Capa:
    tenant_id: str
    capa_id: str
    estate_code: str | None = None
    cause: str | None = None
    trigger: str | None = None  # nonconformity | cluster
    owner: str | None = None
    case_ids: tuple[str, ...] = ()
    status: str | None = None  # open | closed
    opened_at: dt.datetime | None = None
    due_at: dt.datetime | None = None
    checked_at: dt.datetime | None = None  # the newest effectiveness check
    closed_at: dt.datetime | None = None

    def overdue(self, now: dt.datetime) -> bool:
        return self.status == "open" and self.due_at is not None and self.due_at < now


NONCONFORMITY_FIELDS = tuple(f.name for f in fields(Nonconformity))
CAPA_FIELDS = tuple(f.name for f in fields(Capa))


def _text(payload: dict, key: str, required: bool = True) -> str | None:
    value = payload.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidEvent(f"{key} is missing or not text")
    return value.strip()


def _fill(record, **values):
    """Set the fields that are still None (first writer wins: workflow sends the same snapshot each time)."""
    changes = {k: v for k, v in values.items() if v is not None and getattr(record, k) is None}
    return replace(record, **changes) if changes else record


def record_key(event_type: str, payload: dict) -> tuple[str, str]:
    """``(kind, id)`` of the record an event is about: ``("nonconformity", record_id)`` or ``("capa", capa_id)``."""
    if event_type in NONCONFORMITY_EVENTS:
        return "nonconformity", _text(payload, "record_id")
    if event_type in CAPA_EVENTS:
        return "capa", _text(payload, "capa_id")
    raise InvalidEvent(f"reporting does not consume {event_type!r}")


RECORDS = {"nonconformity": Nonconformity, "capa": Capa}


def empty(kind: str, tenant_id: str, record_id: str):
    return RECORDS[kind](tenant_id, record_id)


def _nonconformity_snapshot(record: Nonconformity, p: dict) -> Nonconformity:
    loss = p.get("loss_amount")
    if loss is not None and (isinstance(loss, bool) or not isinstance(loss, (int, float)) or loss < 0):
        raise InvalidEvent("loss_amount is not a non-negative number")
    return _fill(record, estate_code=_text(p, "estate_code"), case_id=_text(p, "case_id", required=False),
                 cause=_text(p, "cause", required=False), loss_amount=round(loss) if loss is not None else None)


def apply_nonconformity_opened(record: Nonconformity, p: dict) -> Nonconformity:
    at = _utc(p.get("at"), "at")
    record = _nonconformity_snapshot(record, p)
    if record.opened_at is None or at < record.opened_at:
        record = replace(record, opened_at=at)
    return record if record.status is not None else replace(record, status="open")


def apply_nonconformity_decided(record: Nonconformity, p: dict) -> Nonconformity:
    at, status = _utc(p.get("at"), "at"), p.get("status")
    if status not in DECISIONS:
        raise InvalidEvent(f"status is not one of {', '.join(DECISIONS)}")
    record = _nonconformity_snapshot(record, p)
    if record.decided_at is None or at >= record.decided_at:
        record = replace(record, status=status, decided_at=at)
    return record


def _capa_snapshot(record: Capa, p: dict) -> Capa:
    return _fill(record, estate_code=_text(p, "estate_code"), cause=_text(p, "cause", required=False))


def _with_cases(record: Capa, case_ids) -> Capa:
    if not isinstance(case_ids, list) or not all(isinstance(c, str) and c for c in case_ids):
        raise InvalidEvent("case_ids is not a list of ids")
    merged = tuple(sorted(set(record.case_ids) | set(case_ids)))
    return record if merged == record.case_ids else replace(record, case_ids=merged)


def apply_capa_opened(record: Capa, p: dict) -> Capa:
    at, due = _utc(p.get("at"), "at"), _utc(p.get("due_at"), "due_at")
    record = _with_cases(_fill(_capa_snapshot(record, p), trigger=_text(p, "trigger", required=False),
                               owner=_text(p, "owner", required=False)), p.get("case_ids", []))
    if record.opened_at is None or at < record.opened_at:
        record = replace(record, opened_at=at)
    if record.checked_at is None:  # else a check (newer by nature) decided status and due date
        record = replace(record, status="open", due_at=due)
    return record


def apply_capa_case_added(record: Capa, p: dict) -> Capa:
    _utc(p.get("at"), "at")
    return _with_cases(_capa_snapshot(record, p), [_text(p, "case_id")])


def apply_capa_checked(record: Capa, p: dict) -> Capa:
    at, due, status = _utc(p.get("at"), "at"), _utc(p.get("due_at"), "due_at"), p.get("status")
    if status not in CAPA_STATUSES:
        raise InvalidEvent(f"status is not one of {', '.join(CAPA_STATUSES)}")
    record = _capa_snapshot(record, p)
    if record.checked_at is None or at >= record.checked_at:
        record = replace(record, status=status, due_at=due, checked_at=at,
                         closed_at=at if status == "closed" else None)
    return record


MERGES = {
    "nonconformity_opened": apply_nonconformity_opened,
    "nonconformity_decided": apply_nonconformity_decided,
    "capa_opened": apply_capa_opened,
    "capa_case_added": apply_capa_case_added,
    "capa_checked": apply_capa_checked,
}


def period_bounds(start: dt.date, end: dt.date, timezone: str = GROUP_TIMEZONE) -> tuple[dt.datetime, dt.datetime]:
    """``[lo, hi)`` in UTC: from the start of ``start`` to the start of the day after ``end`` in ``timezone``."""
    zone = ZoneInfo(timezone)
    lo = dt.datetime.combine(start, dt.time(), zone)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), zone)
    return lo.astimezone(dt.timezone.utc), hi.astimezone(dt.timezone.utc)


def nonconformity_figures(per_estate: dict[str, dict]) -> dict:
    """``{opened, approved, rejected}`` summed over the estates' counts (records opened / decided in the
    period)."""
    return {k: sum(c.get(k, 0) for c in per_estate.values()) for k in NONCONFORMITY_COUNTS}


def capa_figures(per_estate: dict[str, dict]) -> dict:
    """``{open_now, overdue_now, opened, closed}`` summed over the estates' counts."""
    return {k: sum(c.get(k, 0) for c in per_estate.values()) for k in CAPA_COUNTS}


def per_1000_units(received: int, units) -> float | None:
    """Complaints per 1,000 units, two decimals; None unless the unit count is known and above 0."""
    return round(1000.0 * received / units, 2) if units else None
