"""The per-case fact and what each event changes in it; the rollup counts a fact contributes.

Events arrive in any order (a ``case_opened`` or a ``notification_sent`` may overtake ``complaint_received``),
so every change is a merge that commutes: descriptive fields are filled when missing (both intake and workflow
send the same snapshot), the classification is the one with the newest ``classified_at``, the acknowledgement
is the earliest one sent. Applying an event twice gives the same fact, so the rollup delta is zero.

A fact counts in the rollup once it knows its estate-local day, estate and channel; its bucket and counts are
a function of the fact alone (``contribution``), so moving a case between buckets (reclassification) is
"subtract the old contribution, add the new one" (``rollup_changes``).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, replace

from .rollup import InvalidEvent, fact_from_complaint_received, local_day, _optional_text, _required_text

FIRST_CONTACT_STAGE = "first_contact"
RESOLUTION_STAGE = "resolution"
ACKNOWLEDGEMENT = "acknowledgement"
COUNTS = ("received", "first_contact_due", "first_contact_on_time", "first_contact_late", "reclassified")


@dataclass(frozen=True)
class CaseFact:
    tenant_id: str
    complaint_id: str
    reference: str | None = None
    estate_code: str | None = None
    channel: str | None = None
    category: str | None = None
    severity: str | None = None
    category_source: str | None = None
    classified_at: dt.datetime | None = None
    reclassified: bool | None = None
    received_at: dt.datetime | None = None
    day: dt.date | None = None
    case_id: str | None = None
    opened_at: dt.datetime | None = None
    first_contact_due_at: dt.datetime | None = None
    resolution_due_at: dt.datetime | None = None
    acknowledged_at: dt.datetime | None = None
    acknowledgement_failed_at: dt.datetime | None = None
    first_contact_met_at: dt.datetime | None = None
    breached_at: dt.datetime | None = None
    escalation_level: int | None = None
    resolved_at: dt.datetime | None = None
    callback_at: dt.datetime | None = None
    satisfied: bool | None = None

    def as_row(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def contacted_at(self) -> dt.datetime | None:
        """First contact: recorded by workflow (future) or, as the proxy until then, the acknowledgement."""
        times = [t for t in (self.first_contact_met_at, self.acknowledged_at) if t is not None]
        return min(times) if times else None


FIELDS = tuple(f.name for f in dataclasses.fields(CaseFact))


def first_contact_status(fact: CaseFact, now: dt.datetime | None = None) -> str:
    """``on_time`` | ``late`` | ``overdue`` (due passed, no contact) | ``pending`` | ``unknown`` (no deadline).

    Without ``now`` an open case is ``pending``: the rollup stores only what events decide."""
    due, met = fact.first_contact_due_at, fact.contacted_at
    if due is None:
        return "unknown"
    if met is not None:
        return "on_time" if met <= due else "late"
    if now is not None and now > due:
        return "overdue"
    return "pending"


def contribution(fact: CaseFact) -> tuple[tuple, dict] | None:
    """``(bucket key, counts)`` this fact adds to ``complaint_daily``, or None while it cannot be placed."""
    if fact.day is None or fact.estate_code is None or fact.channel is None:
        return None
    key = (fact.day, fact.estate_code, fact.channel, fact.category or "", fact.severity or "")
    status = first_contact_status(fact)
    return key, {"received": 1, "first_contact_due": int(fact.first_contact_due_at is not None),
                 "first_contact_on_time": int(status == "on_time"), "first_contact_late": int(status == "late"),
                 "reclassified": int(bool(fact.reclassified))}


def rollup_changes(old: CaseFact, new: CaseFact) -> list[tuple[tuple, dict]]:
    """The ``(key, delta)`` pairs that turn ``old``'s contribution into ``new``'s (sorted: stable lock order)."""
    before, after = contribution(old), contribution(new)
    deltas: dict[tuple, dict] = {}
    for sign, part in ((-1, before), (1, after)):
        if part is None:
            continue
        key, counts = part
        bucket = deltas.setdefault(key, dict.fromkeys(COUNTS, 0))
        for name, value in counts.items():
            bucket[name] += sign * value
    return sorted(((k, d) for k, d in deltas.items() if any(d.values())), key=lambda kd: kd[0])


def _fill(fact: CaseFact, **values) -> CaseFact:
    """Set the fields that are still None (first writer wins: every source sends the same snapshot)."""
    changes = {k: v for k, v in values.items() if v is not None and getattr(fact, k) is None}
    return replace(fact, **changes) if changes else fact


def _classify(fact: CaseFact, category, severity, at: dt.datetime, source=None, reclassified=False) -> CaseFact:
    """Take this classification if it is at least as new as the one held (a late original never undoes a
    correction)."""
    if fact.classified_at is not None and at < fact.classified_at:
        return replace(fact, reclassified=True) if reclassified and not fact.reclassified else fact
    return replace(fact, category=category, severity=severity, classified_at=at,
                   category_source=source if source is not None else fact.category_source,
                   reclassified=True if reclassified else fact.reclassified)


def _utc(value, name: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(_required_text({name: value}, name))
    except ValueError:
        raise InvalidEvent(f"{name} is not an ISO date-time") from None
    if parsed.tzinfo is None:
        raise InvalidEvent(f"{name} has no UTC offset")
    return parsed.astimezone(dt.timezone.utc)


# --- one function per event: (fact, payload) -> fact -------------------------------------------------------

def apply_complaint_received(fact: CaseFact, payload: dict) -> CaseFact:
    snap = fact_from_complaint_received(fact.tenant_id, payload)
    fact = _fill(fact, reference=_optional_text(payload, "reference"), estate_code=snap.estate.code,
                 channel=snap.channel, received_at=snap.received_at, day=snap.day)
    return _classify(fact, snap.category, snap.severity, snap.received_at,
                     _optional_text(payload, "category_source"))


def apply_case_opened(fact: CaseFact, payload: dict) -> CaseFact:
    """Same snapshot as complaint_received, plus the case id, when it was opened and its deadlines."""
    estate = payload.get("estate")
    if not isinstance(estate, dict):
        raise InvalidEvent("estate is missing or not an object")
    received_at = _utc(payload.get("received_at"), "received_at")
    try:
        day = local_day(received_at, _required_text(estate, "timezone", "estate."))
    except Exception as exc:
        raise InvalidEvent(f"bad estate.timezone: {exc}") from exc
    due = {}
    for d in payload.get("deadlines") or []:
        if isinstance(d, dict) and d.get("stage") in (FIRST_CONTACT_STAGE, RESOLUTION_STAGE):
            due[d["stage"]] = _utc(d.get("due_at"), "deadlines.due_at")
    fact = _fill(fact, reference=_optional_text(payload, "reference"),
                 estate_code=_required_text(estate, "code", "estate."), channel=_required_text(payload, "channel"),
                 received_at=received_at, day=day, case_id=_optional_text(payload, "case_id"),
                 opened_at=_utc(payload["opened_at"], "opened_at") if payload.get("opened_at") else None)
    # deadlines: the case's own; a later case_opened (redelivery) carries the same ones
    fact = replace(fact, first_contact_due_at=due.get(FIRST_CONTACT_STAGE, fact.first_contact_due_at),
                   resolution_due_at=due.get(RESOLUTION_STAGE, fact.resolution_due_at))
    if fact.classified_at is None:
        fact = _classify(fact, _optional_text(payload, "category"), _optional_text(payload, "severity"),
                         received_at)
    return fact


def apply_notification(fact: CaseFact, payload: dict, sent: bool) -> CaseFact:
    """Only the acknowledgement matters: the earliest one sent; a failure is kept while none was sent."""
    if payload.get("kind") != ACKNOWLEDGEMENT:
        return fact
    if sent:
        at = _utc(payload.get("sent_at"), "sent_at")
        if fact.acknowledged_at is None or at < fact.acknowledged_at:
            fact = replace(fact, acknowledged_at=at)
        return fact
    at = _utc(payload.get("failed_at"), "failed_at")
    return _fill(fact, case_id=_optional_text(payload, "case_id"), acknowledgement_failed_at=at)


def apply_reclassified(fact: CaseFact, payload: dict, occurred_at: str | None) -> CaseFact:
    """intake's ``complaint_reclassified``: ``new_category``/``new_severity`` (``category``/``severity`` also
    read), decided at ``reclassified_at`` (else the envelope's ``occurred_at``)."""
    at = _utc(payload.get("reclassified_at") or occurred_at, "reclassified_at")
    category = payload["new_category"] if "new_category" in payload else payload.get("category")
    severity = payload["new_severity"] if "new_severity" in payload else payload.get("severity")
    for name, value in (("new_category", category), ("new_severity", severity)):
        if value is not None and not isinstance(value, str):
            raise InvalidEvent(f"{name} is not text")
    return _classify(fact, category or None, severity or None, at, _optional_text(payload, "category_source"),
                     reclassified=True)


def complaint_id_of(payload: dict) -> str:
    return _required_text(payload, "complaint_id")
