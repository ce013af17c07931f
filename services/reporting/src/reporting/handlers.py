"""reporting use cases: take a unit of work (or an engine for reads), return plain dicts."""
from __future__ import annotations

from estatedesk_common.envelope import Envelope

from . import repository
from .domain.rollup import InvalidRange, fact_from_complaint_received, parse_range
from .exceptions import ValidationFailed

COMPLAINT_RECEIVED_CONSUMER = "reporting.on_complaint_received"


def record_complaint_received(envelope: Envelope, uow) -> bool:
    """Count the complaint in its estate-local day, once. False if this event (or complaint) was seen before.

    A payload reporting cannot read raises ``InvalidEvent``: the event handler dead-letters it.
    """
    fact = fact_from_complaint_received(envelope.tenant_id, envelope.payload)
    with uow:
        if not uow.claim(envelope, COMPLAINT_RECEIVED_CONSUMER):
            return False
        repository.upsert_estate(uow.conn, fact)
        new = repository.add_fact(uow.conn, fact)  # a re-sent complaint under a new event_id counts once
        if new:
            repository.bump_daily(uow.conn, fact)
        uow.commit()
    return new


def complaint_counts(tenant_id: str, date_from, date_to, engine) -> dict:
    """Complaints received per estate and channel over inclusive ISO dates (either may be None = open)."""
    try:
        start, end = parse_range(date_from, date_to)
    except InvalidRange as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    with engine.connect() as conn:
        rows = repository.counts_by_estate_channel(conn, tenant_id, start, end)
    return {"total": sum(r["count"] for r in rows), "rows": rows}
