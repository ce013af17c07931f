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
        self.preloaded: dict = {}  # what a batch's ``prepare`` read for its handlers (estatedesk_common.timers)
        self._held: list | None = None  # outbox rows not written yet (hold_events)
        self._after_commit: list = []

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
        if self._held is None:
            outbox.add(self.conn, self.tables.outbox, env, self.clock.now())
        else:
            self._held.append((env, self.clock.now()))
        self.events.append(env)
        return env

    def hold_events(self) -> None:
        """From now on, write published events to the outbox together (one INSERT) at ``flush_events`` or commit,
        not one INSERT each. For a batch that reads no outbox row it wrote (the timer loop)."""
        if self._held is None:
            self._held = []

    def flush_events(self) -> None:
        if self._held:
            outbox.add_many(self.conn, self.tables.outbox, self._held)
            self._held = []

    def after_commit(self, fn) -> None:
        """Call ``fn()`` once this transaction commits (a metric of what it did); never if it rolls back."""
        self._after_commit.append(fn)

    def mark(self) -> tuple:
        """Where a savepoint starts; ``rollback_to(mark)`` with the savepoint's rollback forgets what followed."""
        return len(self.events), len(self._held or ()), len(self._after_commit)

    def rollback_to(self, mark: tuple) -> None:
        del self.events[mark[0]:]
        if self._held is not None:
            del self._held[mark[1]:]
        del self._after_commit[mark[2]:]

    def claim(self, envelope: Envelope, consumer: str) -> bool:
        """Record ``envelope`` as handled by ``consumer``; False if it already was (skip the effect)."""
        return inbox.claim(self.conn, self.tables.inbox, envelope.tenant_id, consumer, envelope.event_id,
                           self.clock.now())

    def commit(self):
        self.flush_events()
        self.conn.commit()
        done, self._after_commit = self._after_commit, []
        for fn in done:
            fn()
        if self.events and self._on_events:
            self._on_events()
