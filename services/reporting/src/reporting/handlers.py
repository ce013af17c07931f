"""reporting's event use cases: each takes an envelope and a unit of work, and updates one complaint's fact
and, through it, the rollup (dashboard queries are in ``reports``).

Every handler: claim the event in the inbox (a redelivered ``event_id`` is skipped), lock the complaint's fact
row (created empty if this is the first event about it), merge the event into it (``domain.facts``), store it,
and append the difference of its rollup contribution (and the event's estate snapshot) as a delta: all in one
transaction; then merge the deltas into the rollups (``rollup_merge``: one merger at a time, many deltas per
merge) before returning. The merge is order-independent and idempotent, so events in any order end in the same
fact and the same rollup.
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy.exc import DBAPIError

from estatedesk_common.envelope import Envelope

from . import queries, repository, rollup_merge
from .domain import facts, lifecycle, quality
from .domain.facts import CaseFact
from .domain.rollup import (EstateSnapshot, InvalidEvent, InvalidRange, estate_from_estate_saved,
                            fact_from_complaint_received, parse_range)
from .exceptions import ValidationFailed

log = logging.getLogger(__name__)
COMPLAINT_RECEIVED_CONSUMER = "reporting.on_complaint_received"
COMPLAINT_RECLASSIFIED_CONSUMER = "reporting.on_complaint_reclassified"
CASE_OPENED_CONSUMER = "reporting.on_case_opened"
NOTIFICATION_SENT_CONSUMER = "reporting.on_notification_sent"
NOTIFICATION_FAILED_CONSUMER = "reporting.on_notification_failed"
ESTATE_SAVED_CONSUMER = "reporting.on_estate_saved"
# the case's later life: event type -> merge (domain.lifecycle); consumer "reporting.on_<event type>"
LIFECYCLE = {
    "case_contacted": lifecycle.apply_case_contacted,
    "case_resolved": lifecycle.apply_case_resolved,
    "case_cancelled": lifecycle.apply_case_cancelled,
    "case_reopened": lifecycle.apply_case_reopened,
    "sla_breached": lifecycle.apply_sla_breached,
    "case_escalated": lifecycle.apply_case_escalated,
    "extension_requested": lifecycle.apply_extension_requested,
    "extension_decided": lifecycle.apply_extension_decided,
    "case_resumed": lifecycle.apply_case_resumed,
    "callback_completed": lifecycle.apply_callback_answer,
    "callback_dissatisfied": lifecycle.apply_callback_answer,
}


def _apply(envelope: Envelope, uow, consumer: str, change: Callable[[CaseFact], CaseFact],
           estate: EstateSnapshot | None = None, as_of=None) -> bool:
    """True if the fact changed (False: a redelivery, or an event that adds nothing new)."""
    complaint_id = facts.complaint_id_of(envelope.payload)
    change(CaseFact(envelope.tenant_id, complaint_id))  # a payload we cannot read fails before any write
    delta_id = None
    with uow:
        if not uow.claim(envelope, consumer):
            return False
        old = repository.lock_fact(uow.conn, envelope.tenant_id, complaint_id)
        new = change(old)
        if new != old:
            repository.save_fact(uow.conn, new)
        # the overdue ledger moves only when the case's day, estate or open deadlines do
        overdue = (facts.overdue_changes(old, new, repository.watermark_for_change(uow.conn))
                   if facts.overdue_state(old) != facts.overdue_state(new) else ())
        # the rollups, the ledger and the estate dimension: a delta, merged after the commit (no shared row locked)
        body = rollup_merge.delta_body(old, new, estate, as_of, overdue)
        if body is not None:
            delta_id = repository.add_delta(uow.conn, envelope.tenant_id, body, uow.clock.now())
        uow.commit()
    if delta_id is not None:
        try:
            rollup_merge.merge_own(uow.engine, delta_id)
        except DBAPIError as exc:  # the event is handled (committed): the merger loop merges its delta
            log.warning("rollup delta %s left to the merger loop: %s", delta_id, exc)
    return new != old


def record_complaint_received(envelope: Envelope, uow) -> bool:
    """Fill the fact from intake's snapshot and count it in its estate-local day, once."""
    snap = fact_from_complaint_received(envelope.tenant_id, envelope.payload)
    return _apply(envelope, uow, COMPLAINT_RECEIVED_CONSUMER,
                  lambda f: facts.apply_complaint_received(f, envelope.payload), snap.estate, snap.received_at)


def record_case_opened(envelope: Envelope, uow) -> bool:
    """The case's deadlines (first contact, resolution); the complaint's snapshot if it is not there yet."""
    p = envelope.payload
    snap = fact_from_complaint_received(envelope.tenant_id, p)  # the same snapshot fields, checked the same way
    return _apply(envelope, uow, CASE_OPENED_CONSUMER, lambda f: facts.apply_case_opened(f, p), snap.estate,
                  snap.received_at)


def record_notification(envelope: Envelope, uow) -> bool:
    """``notification_sent`` / ``notification_failed``: the acknowledgement (the first-contact proxy) sent or
    failed; other kinds of message are ignored."""
    sent = envelope.event_type == "notification_sent"
    if envelope.payload.get("kind") != facts.ACKNOWLEDGEMENT:
        return False
    consumer = NOTIFICATION_SENT_CONSUMER if sent else NOTIFICATION_FAILED_CONSUMER
    return _apply(envelope, uow, consumer, lambda f: facts.apply_notification(f, envelope.payload, sent))


def record_complaint_reclassified(envelope: Envelope, uow) -> bool:
    """Move the complaint from its old bucket to the new one (the newest classification wins)."""
    return _apply(envelope, uow, COMPLAINT_RECLASSIFIED_CONSUMER,
                  lambda f: facts.apply_reclassified(f, envelope.payload, envelope.occurred_at))


def record_case_event(envelope: Envelope, uow) -> bool:
    """A workflow or notify event about the case's later life (``LIFECYCLE``) merged into its fact."""
    merge = LIFECYCLE.get(envelope.event_type)
    if merge is None:
        raise InvalidEvent(f"reporting does not consume {envelope.event_type!r}")
    return _apply(envelope, uow, f"reporting.on_{envelope.event_type}",
                  lambda f: merge(f, envelope.payload, envelope.occurred_at))


def record_quality_event(envelope: Envelope, uow) -> bool:
    """A workflow nonconformity or CAPA event (``domain.quality.MERGES``) merged into its record's row: claim,
    lock the row (created empty by the first event about the record), merge, save; True if it changed."""
    merge = quality.MERGES.get(envelope.event_type)
    if merge is None:
        raise InvalidEvent(f"reporting does not consume {envelope.event_type!r}")
    kind, record_id = quality.record_key(envelope.event_type, envelope.payload)
    merge(quality.empty(kind, envelope.tenant_id, record_id), envelope.payload)  # unreadable: fail before writing
    with uow:
        if not uow.claim(envelope, f"reporting.on_{envelope.event_type}"):
            return False
        old = repository.lock_quality_record(uow.conn, kind, envelope.tenant_id, record_id)
        new = merge(old, envelope.payload)
        if new != old:
            repository.save_quality_record(uow.conn, kind, new)
        uow.commit()
    return new != old


def record_estate_saved(envelope: Envelope, uow) -> bool:
    """intake's ``estate_saved`` (created, renamed, region or units changed, deactivated): the estate dimension
    takes the estate as saved, so league tables, regions and per-1,000-units figures follow at once. A snapshot
    newer than the save (a complaint received after it) is kept; a redelivery is skipped by its claim. True if
    the row changed."""
    estate, active, as_of = estate_from_estate_saved(envelope.payload, envelope.occurred_at)
    with uow:
        if not uow.claim(envelope, ESTATE_SAVED_CONSUMER):
            return False
        changed = repository.save_estate(uow.conn, envelope.tenant_id, estate, active, as_of)
        uow.commit()
    return changed


def complaint_counts(tenant_id: str, date_from, date_to, engine, scope=None) -> dict:
    """Complaints received per estate and channel over inclusive ISO dates (either may be None = open)."""
    try:
        start, end = parse_range(date_from, date_to)
    except InvalidRange as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    with engine.connect() as conn:
        rows = queries.counts_by_estate_channel(conn, tenant_id, start, end, scope)
    return {"total": sum(r["count"] for r in rows), "rows": rows}


__all__ = ["InvalidEvent", "record_complaint_received", "record_case_opened", "record_notification",
           "record_complaint_reclassified", "record_case_event", "record_quality_event", "record_estate_saved",
           "complaint_counts"]
