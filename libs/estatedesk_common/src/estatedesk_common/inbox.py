"""Inbox: the ``event_id``s a consumer has applied, written in the same transaction as the effect.

A redelivered event (the relay re-published it, or the broker redelivered after a crash) finds its row and
is acknowledged without being applied again.
"""
from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table, select

from .db import UTCDateTime


def inbox_table(metadata: MetaData) -> Table:
    return Table(
        "inbox", metadata,
        Column("tenant_id", String(36), primary_key=True),
        Column("consumer", String(120), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("handled_at", UTCDateTime, nullable=False),
        Index("ix_inbox_handled_at", "handled_at"),  # pruning (retention.py)
    )


def claim(conn, table: Table, tenant_id: str, consumer: str, event_id: str, now) -> bool:
    """True if the event is new for this consumer (and is now recorded), False if it was handled before."""
    seen = conn.execute(
        select(table.c.event_id).where(
            table.c.tenant_id == tenant_id, table.c.consumer == consumer, table.c.event_id == event_id
        )
    ).first()
    if seen:
        return False
    conn.execute(table.insert().values(tenant_id=tenant_id, consumer=consumer, event_id=event_id, handled_at=now))
    return True
