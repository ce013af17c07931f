"""The per-case fact and what each event changes in it; the rollup counts a fact contributes.

Events arrive in any order (a ``case_opened`` or a ``notification_sent`` may overtake ``complaint_received``),
so every change is a merge that commutes: descriptive fields are filled when missing (both intake and workflow
send the same snapshot), the classification is the one with the newest ``classified_at``, the acknowledgement
is the earliest one sent. Applying an event twice gives the same fact, so the rollup delta is zero.

A fact counts in the rollup once it knows its estate-local day, estate and channel; its bucket and counts are
a function of the fact alone (``contribution``), so moving a case between buckets (reclassification) is
"subtract the old contribution, add the new one" (``rollup_changes``). The case's later life (contact,
resolution, callbacks, breaches, escalations) is merged by ``domain.lifecycle`` with the same rules: earliest
time wins, levels and flags only accumulate, the newest callback answer is the owner's satisfaction.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, replace

from .rollup import InvalidEvent, fact_from_complaint_received, local_day, _optional_text, _required_text

FIRST_CONTACT_STAGE = "first_contact"
RESOLUTION_STAGE = "resolution"
ACKNOWLEDGEMENT = "acknowledgement"
SATISFIED = ("very_satisfied", "satisfied")
TOP_LEVEL = 3  # escalation levels above the default ladder's top (head office) count as level 3
COUNTS = ("received", "first_contact_due", "first_contact_on_time", "first_contact_late", "reclassified",
          # first contact decided by the acknowledgement because no contact was recorded
          "first_contact_proxy",
          # resolution: cases with a resolution deadline (not cancelled), resolved, on time / late against it
          "resolution_due", "resolved", "resolved_on_time", "resolved_late",
          # handling time: resolved cases with working minutes known, and the sum of those minutes
          "handling_count", "handling_minutes",
          # callbacks: resolved cases whose owner answered a callback; answers by satisfaction (the newest)
          "called_back", "callback_answered", "satisfied", "dissatisfied",
          "reopened", "breached", "escalated", "escalated_level_1", "escalated_level_2", "escalated_level_3",
          "repeat", "nonconformity_required",
          # workflow's extensions (延期): cases with a request / with an approved one (revision r8e1x2t3n4s5)
          "extensions_requested", "extensions_approved")


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
    # revision r7k0p1s2t3u4: the case's later life
    repeat_of: str | None = None  # intake: the earlier closed complaint this one repeats
    handling_minutes: int | None = None  # workflow: working minutes from receipt to the first resolution
    nonconformity_required: bool | None = None  # a resolution with a loss of 500 yuan or more
    cancelled_at: dt.datetime | None = None
    reopened_at: dt.datetime | None = None
    satisfaction: str | None = None  # the newest callback answer: very_satisfied | satisfied | neutral | ...
    satisfaction_at: dt.datetime | None = None
    escalated_levels: str | None = None  # every level reached, "1,2,3"
    # revision r8e1x2t3n4s5: extensions (延期); the SLA outcome stays measured against the original deadlines
    extension_requested_at: dt.datetime | None = None  # the first request
    extension_approved_at: dt.datetime | None = None  # the first approval
    # revision r14h1o2t3s4p: where in the estate (intake complaint_received's optional ``location``)
    building: str | None = None
    facility: str | None = None

    def as_row(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def contacted_at(self) -> dt.datetime | None:
        """First contact: recorded by workflow (``case_contacted``); the acknowledgement only as a proxy for a
        case with no contact recorded."""
        return self.first_contact_met_at if self.first_contact_met_at is not None else self.acknowledged_at

    @property
    def levels(self) -> frozenset[int]:
        return frozenset(int(x) for x in self.escalated_levels.split(",")) if self.escalated_levels else frozenset()


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
    counts = {"received": 1, "first_contact_due": int(fact.first_contact_due_at is not None),
              "first_contact_on_time": int(status == "on_time"), "first_contact_late": int(status == "late"),
              "reclassified": int(bool(fact.reclassified)),
              "first_contact_proxy": int(status in ("on_time", "late") and fact.first_contact_met_at is None)}
    counts.update(_resolution_counts(fact))
    levels = fact.levels
    counts.update(breached=int(breached(fact)), escalated=int(bool(levels)),
                  escalated_level_1=int(1 in levels), escalated_level_2=int(2 in levels),
                  escalated_level_3=int(any(level >= TOP_LEVEL for level in levels)),
                  repeat=int(fact.repeat_of is not None),
                  extensions_requested=int(fact.extension_requested_at is not None),
                  extensions_approved=int(fact.extension_approved_at is not None))
    return key, counts


def breached(fact: CaseFact) -> bool:
    """Breached as the on-time figures see it: an ``sla_breached`` of any stage (timed at its original deadline),
    or a first contact or resolution later than the deadline ``case_opened`` brought. An approved extension moves
    workflow's breach past that deadline, so a stage met in the extra time sends no ``sla_breached``; the SLA
    outcome stays late all the same (extensions keep the original outcome). A contact only proxied by the
    acknowledgement decides nothing here: workflow breaches an unrecorded contact itself."""
    due, contacted = fact.first_contact_due_at, fact.first_contact_met_at
    return (fact.breached_at is not None or (due is not None and contacted is not None and contacted > due)
            or resolution_status(fact) == "late")


def resolution_status(fact: CaseFact, now: dt.datetime | None = None) -> str:
    """Against the resolution deadline: ``on_time`` | ``late`` (first resolution after it) | ``overdue`` (due
    passed, unresolved) | ``pending`` | ``cancelled`` | ``unknown`` (no deadline)."""
    if fact.cancelled_at is not None and fact.resolved_at is None:
        return "cancelled"
    due = fact.resolution_due_at
    if due is None:
        return "unknown"
    if fact.resolved_at is not None:
        return "on_time" if fact.resolved_at <= due else "late"
    return "overdue" if now is not None and now > due else "pending"


def _resolution_counts(fact: CaseFact) -> dict:
    status = resolution_status(fact)
    resolved = fact.resolved_at is not None
    answered = fact.satisfaction is not None
    return {"resolution_due": int(fact.resolution_due_at is not None and status != "cancelled"),
            "resolved": int(resolved), "resolved_on_time": int(status == "on_time"),
            "resolved_late": int(status == "late"),
            "handling_count": int(resolved and fact.handling_minutes is not None),
            "handling_minutes": (fact.handling_minutes or 0) if resolved else 0,
            "called_back": int(resolved and fact.callback_at is not None),
            "callback_answered": int(answered), "satisfied": int(fact.satisfaction in SATISFIED),
            "dissatisfied": int(fact.satisfaction == "dissatisfied"),
            "reopened": int(resolved and fact.reopened_at is not None),
            "nonconformity_required": int(bool(fact.nonconformity_required))}


def location_contribution(fact: CaseFact) -> tuple | None:
    """The ``complaint_location_daily`` key ``(day, estate, building, facility)`` ('' = none) this fact counts one
    complaint in, or None: not placed yet, or it names no location."""
    if contribution(fact) is None or not (fact.building or fact.facility):
        return None
    return fact.day, fact.estate_code, fact.building or "", fact.facility or ""


def location_changes(old: CaseFact, new: CaseFact) -> list[tuple[tuple, int]]:
    """``(key, delta of received)`` turning ``old``'s location count into ``new``'s (sorted, zero deltas left out)."""
    before, after = location_contribution(old), location_contribution(new)
    if before == after:
        return []
    return sorted([(k, d) for k, d in ((before, -1), (after, 1)) if k is not None], key=lambda kd: kd[0])


def open_deadline(fact: CaseFact, stage: str) -> dt.datetime | None:
    """The deadline of ``stage`` (``first_contact`` | ``resolution``) while that stage is open, else None: first
    contact until the acknowledgement or a recorded contact, resolution until resolved or cancelled (the partial
    indexes' conditions, ``tables``)."""
    if stage == FIRST_CONTACT_STAGE:
        open_ = fact.acknowledged_at is None and fact.first_contact_met_at is None
        return fact.first_contact_due_at if open_ else None
    return fact.resolution_due_at if fact.resolved_at is None and fact.cancelled_at is None else None


OVERDUE_STAGES = (FIRST_CONTACT_STAGE, RESOLUTION_STAGE)


def overdue_state(fact: CaseFact) -> tuple:
    """What decides where ``fact`` counts in the overdue ledger: when it is unchanged, so is the ledger."""
    return (fact.day, fact.estate_code, *[open_deadline(fact, stage) for stage in OVERDUE_STAGES])


def overdue_keys(fact: CaseFact, watermark: dt.datetime) -> list[tuple]:
    """The overdue ledger's keys ``(stage, month received, estate or '')`` that ``fact`` counts one case in: the
    stages open with a deadline before ``watermark`` (a fact without its day counts in no period)."""
    if fact.day is None:
        return []
    return [(stage, fact.day.replace(day=1), fact.estate_code or "") for stage in OVERDUE_STAGES
            if (due := open_deadline(fact, stage)) is not None and due < watermark]


def overdue_changes(old: CaseFact, new: CaseFact, watermark: dt.datetime) -> list[tuple[tuple, int]]:
    """``(ledger key, +1 | -1)`` turning ``old``'s overdue ledger entries at ``watermark`` into ``new``'s."""
    before, after = set(overdue_keys(old, watermark)), set(overdue_keys(new, watermark))
    return sorted([(k, -1) for k in before - after] + [(k, 1) for k in after - before])


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
                 channel=snap.channel, received_at=snap.received_at, day=snap.day, repeat_of=repeat_of(payload),
                 **location(payload))
    return _classify(fact, snap.category, snap.severity, snap.received_at,
                     _optional_text(payload, "category_source"))


def latest(held: dt.datetime | None, new: dt.datetime | None) -> dt.datetime | None:
    return held if new is None else new if held is None else max(held, new)


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
    # deadlines: the case's own; a later case_opened (redelivery) carries the same ones; a pause (case_resumed)
    # only ever moves them later, so the latest wins whatever order the two arrive in
    fact = replace(fact, first_contact_due_at=latest(fact.first_contact_due_at, due.get(FIRST_CONTACT_STAGE)),
                   resolution_due_at=latest(fact.resolution_due_at, due.get(RESOLUTION_STAGE)))
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


def location(payload: dict) -> dict:
    """intake's optional ``location`` ``{"building", "facility"}`` (absent in events from before intake sent it,
    and when the complaint names none). Text is trimmed to the column's 40 characters; anything unusable is no
    location (never a reason to lose the complaint)."""
    place = payload.get("location")
    if not isinstance(place, dict):
        return {}
    out = {}
    for name in ("building", "facility"):
        value = place.get(name)
        if isinstance(value, str) and value.strip():
            out[name] = value.strip()[:40]
    return out


def repeat_of(payload: dict) -> str | None:
    """intake's ``repeat_of``: ``{"complaint_id", ...}`` of the closed complaint this one repeats (or its id);
    absent or null for a first complaint (and in events from before intake linked repeats)."""
    link = payload.get("repeat_of")
    if isinstance(link, dict):
        link = link.get("complaint_id")
    if link is None or link == "":
        return None
    if not isinstance(link, str):
        raise InvalidEvent("repeat_of is neither an object with complaint_id nor an id")
    return link


def complaint_id_of(payload: dict) -> str:
    return _required_text(payload, "complaint_id")
