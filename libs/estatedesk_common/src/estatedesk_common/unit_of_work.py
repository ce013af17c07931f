"""One transaction: state change + outgoing events (outbox) + handled events (inbox)."""
from __future__ import annotations

from sqlalchemy import MetaData

from . import inbox, outbox
from .envelope import Envelope


class ReliabilityTables:
    """The outbox and inbox tables added to a service's own metadata (each service owns its copies)."""

    def __init__(self, metadata: MetaData):
        self.outbox = outbox.outbox_table(metadata)
        self.inbox = inbox.inbox_table(metadata)


class UnitOfWork:
    def __init__(self, engine, tables: ReliabilityTables, clock, request_id=None, on_events=None):
        self.engine, self.tables, self.clock = engine, tables, clock
        self.request_id = request_id
        self._on_events = on_events
        self.events: list[Envelope] = []
        self.conn = None

    def __enter__(self):
        self.conn = self.engine.connect()
        self.conn.begin()
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            if self.conn.in_transaction():
                self.conn.rollback()
        finally:
            self.conn.close()

    def execute(self, *args, **kwargs):
        return self.conn.execute(*args, **kwargs)

    def publish(self, event_type: str, tenant_id: str, payload: dict, schema_version: int = 1) -> Envelope:
        """Record an event to publish once this transaction commits."""
        env = Envelope(event_type=event_type, tenant_id=tenant_id, payload=payload,
                       schema_version=schema_version, request_id=self.request_id,
                       occurred_at=self.clock.now().isoformat())
        outbox.add(self.conn, self.tables.outbox, env, self.clock.now())
        self.events.append(env)
        return env

    def claim(self, envelope: Envelope, consumer: str) -> bool:
        """Record ``envelope`` as handled by ``consumer``; False if it already was (skip the effect)."""
        return inbox.claim(self.conn, self.tables.inbox, envelope.tenant_id, consumer, envelope.event_id,
                           self.clock.now())

    def commit(self):
        self.conn.commit()
        if self.events and self._on_events:
            self._on_events()
