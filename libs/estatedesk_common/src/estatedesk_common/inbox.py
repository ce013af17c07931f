"""Inbox: the ``event_id``s a consumer has applied, written in the same transaction as the effect.

A redelivered event (the relay re-published it, or the broker redelivered after a crash) finds its row and
is acknowledged without being applied again. Two deliveries of one event at once (the broker redelivers to a
new consumer while the first handler is still committing, as after a RabbitMQ restart) both miss the row; the
insert is ``ON CONFLICT DO NOTHING``, so the second waits for the first's commit and then finds it claimed
(a plain insert raised a unique violation that dead-lettered the redelivery: found by the fault run).
"""
from __future__ import annotations

from sqlalchemy import Column, Index, MetaData, String, Table, select
from sqlalchemy.dialects import postgresql, sqlite

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
    values = dict(tenant_id=tenant_id, consumer=consumer, event_id=event_id, handled_at=now)
    insert = _DIALECT_INSERT.get(conn.dialect.name)
    if insert is None:  # another database: a concurrent twin raises, and the handler requeues (events.py)
        conn.execute(table.insert().values(**values))
        return True
    return conn.execute(insert(table).values(**values).on_conflict_do_nothing()).rowcount == 1


_DIALECT_INSERT = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}
