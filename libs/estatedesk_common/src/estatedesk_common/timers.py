"""Durable timers: rows in the owning service's database, fired in batches by a loop in every replica.

A timer is ``(tenant_id, kind, subject_id, key) -> due_at`` (e.g. ``sla_breach`` for case X, stage
``resolution``). ``fire_due`` claims due, unfired timers in ``due_at`` order inside one transaction
(Postgres: ``FOR UPDATE SKIP LOCKED``, so replicas never fire one twice; SQLite: one process per service),
calls the handler for each inside that transaction (so what it writes, including outbox events, commits with
the "fired" mark) and marks them fired. A handler that raises is isolated in a savepoint: its timer is pushed
back with backoff and the error recorded, the others still fire. The statements a tick costs are counted per
batch where they can be (the optional ``prepare`` read, the outbox INSERT, the fired marks, one savepoint), so
a loop's throughput is bounded by what each handler itself writes (bench/timers.py).

Cost per tick is proportional to what is due, not to what is open: the partial index on ``due_at`` covers
only pending timers. A restart loses nothing: pending rows are simply due at the next tick.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Histogram
from sqlalchemy import (JSON, Column, Index, Integer, MetaData, String, Table, Text, and_, func, select, text,
                        tuple_, update)

from .db import UTCDateTime, is_postgres
from .loops import PollingLoop
from .outbox import backoff

log = logging.getLogger(__name__)

TIMERS_FIRED = Counter("estatedesk_timers_fired_total", "Timers fired", ["service", "kind", "outcome"])
TIMER_LATENESS = Histogram("estatedesk_timer_lateness_seconds", "How late a timer fired", ["service"],
                           buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300))


def timers_table(metadata: MetaData) -> Table:
    pending = "fired_at IS NULL AND cancelled_at IS NULL"
    table = Table(
        "timers", metadata,
        Column("tenant_id", String(36), primary_key=True),
        Column("id", String(36), primary_key=True),
        Column("kind", String(40), nullable=False),
        Column("subject_id", String(64), nullable=False),
        Column("key", String(80), nullable=False, default=""),
        Column("due_at", UTCDateTime, nullable=False),
        Column("payload", JSON, nullable=False, default=dict),
        Column("created_at", UTCDateTime, nullable=False),
        Column("fired_at", UTCDateTime, nullable=True),
        Column("cancelled_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("last_error", Text, nullable=True),
    )
    Index("ix_timers_pending_due", table.c.due_at, postgresql_where=text(pending), sqlite_where=text(pending))
    Index("ix_timers_subject", table.c.tenant_id, table.c.subject_id)
    return table


def schedule(conn, table: Table, tenant_id: str, kind: str, subject_id: str, due_at: dt.datetime, now,
             key: str = "", payload: dict | None = None) -> str:
    """Add a pending timer (in the caller's transaction). Returns its id."""
    timer_id = str(uuid.uuid4())
    conn.execute(table.insert().values(
        tenant_id=tenant_id, id=timer_id, kind=kind, subject_id=subject_id, key=key, due_at=due_at,
        payload=payload or {}, created_at=now, attempts=0))
    return timer_id


def cancel(conn, table: Table, tenant_id: str, subject_id: str, now, kind: str | None = None,
           key: str | None = None) -> int:
    """Cancel the subject's pending timers (optionally of one kind/key). Returns how many."""
    where = [table.c.tenant_id == tenant_id, table.c.subject_id == subject_id,
             table.c.fired_at.is_(None), table.c.cancelled_at.is_(None)]
    if kind is not None:
        where.append(table.c.kind == kind)
    if key is not None:
        where.append(table.c.key == key)
    return conn.execute(update(table).where(and_(*where)).values(cancelled_at=now)).rowcount


def _claim(conn, table: Table, now, batch: int):
    q = (select(table)
         .where(table.c.fired_at.is_(None), table.c.cancelled_at.is_(None), table.c.due_at <= now)
         .order_by(table.c.due_at).limit(batch))
    if is_postgres(conn.engine):
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).mappings().all()


def fire_due(uow_factory, table: Table, handler, now=None, batch: int = 200, service: str = "") -> int:
    """Fire up to ``batch`` due timers in one transaction; ``handler(uow, timer_row)``. Returns how many fired.

    A handler may carry ``prepare(uow, timer_rows)``: called once after the claim, it reads what the batch's
    handlers need in a few statements (into ``uow.preloaded``) instead of a few per timer. Events published by
    the handlers go to the outbox in one INSERT at commit; the fired marks are one UPDATE. All handlers run in one
    savepoint; if one raises, that savepoint is rolled back and the batch runs again with a savepoint per timer,
    so a failing timer still only backs off itself."""
    prepare = getattr(handler, "prepare", None)
    with uow_factory() as uow:
        moment = now() if now else uow.clock.now()
        rows = _claim(uow.conn, table, moment, batch)
        uow.hold_events()
        if rows and prepare is not None:
            prepare(uow, rows)
        marks = _FiredMarks(uow.conn, table, moment)
        if not _handle_batch(uow, rows, handler, marks):
            marks = _FiredMarks(uow.conn, table, moment)
            _handle_each(uow, rows, handler, marks)
        marks.flush()
        for row in rows:
            exc = marks.failed.get(row["id"])
            if exc is None:
                TIMERS_FIRED.labels(service, row["kind"], "ok").inc()
                TIMER_LATENESS.labels(service).observe(max(0.0, (moment - row["due_at"]).total_seconds()))
                continue
            attempts = (row["attempts"] or 0) + 1
            uow.conn.execute(update(table).where(table.c.tenant_id == row["tenant_id"], table.c.id == row["id"])
                             .values(attempts=attempts, due_at=moment + backoff(attempts),
                                     last_error=f"{type(exc).__name__}: {exc}"[:2000]))
            TIMERS_FIRED.labels(service, row["kind"], "retry").inc()
        uow.commit()
    return len(rows) - len(marks.failed)


class _FiredMarks:
    """Timers handled but not marked fired yet: marked together in one UPDATE, and before the handler of a subject
    that had an earlier timer in the batch, so that handler's ``cancel`` passes them by as it did when each timer
    was marked as soon as it was handled."""

    def __init__(self, conn, table: Table, moment):
        self.conn, self.table, self.moment = conn, table, moment
        self.pending: list = []
        self.subjects: set = set()
        self.failed: dict = {}  # timer id -> the exception its handler raised

    def before(self, row) -> None:
        if (row["tenant_id"], row["subject_id"]) in self.subjects:
            self.flush()

    def handled(self, row) -> None:
        self.pending.append((row["tenant_id"], row["id"]))
        self.subjects.add((row["tenant_id"], row["subject_id"]))

    def flush(self) -> None:
        if self.pending:
            table = self.table
            self.conn.execute(update(table).where(tuple_(table.c.tenant_id, table.c.id).in_(self.pending))
                              .values(fired_at=self.moment, attempts=func.coalesce(table.c.attempts, 0) + 1))
            self.pending = []


def _handle_batch(uow, rows, handler, marks: _FiredMarks) -> bool:
    """Every handler in one savepoint. False (and nothing of theirs kept) if one raised."""
    mark, savepoint = uow.mark(), uow.conn.begin_nested()
    try:
        for row in rows:
            marks.before(row)
            handler(uow, row)
            marks.handled(row)
    except Exception:
        savepoint.rollback()
        uow.rollback_to(mark)
        log.info("a timer of the batch failed; the batch runs again with a savepoint per timer")
        return False
    savepoint.commit()
    return True


def _handle_each(uow, rows, handler, marks: _FiredMarks) -> None:
    """Each handler in its own savepoint; those that raise are left in ``marks.failed``."""
    for row in rows:
        marks.before(row)
        mark, savepoint = uow.mark(), uow.conn.begin_nested()
        try:
            handler(uow, row)
            savepoint.commit()
        except Exception as exc:
            savepoint.rollback()
            uow.rollback_to(mark)
            log.exception("timer %s (%s %s) failed, retry later", row["id"], row["kind"], row["subject_id"])
            marks.failed[row["id"]] = exc
            continue
        marks.handled(row)


class TimerLoop:
    """Background loop: fire due timers every ``interval`` seconds, at once again while batches are full."""

    def __init__(self, uow_factory, table, handler, service, interval=1.0, batch=200):
        self.uow_factory, self.table, self.handler = uow_factory, table, handler
        self.service, self.batch = service, batch
        self._loop = PollingLoop(self._pass, interval, f"{service} timers")
        self.stop, self.run = self._loop.stop, self._loop.run

    def _pass(self) -> bool:
        fired = fire_due(self.uow_factory, self.table, self.handler, batch=self.batch, service=self.service)
        return fired >= self.batch


class Timers(DependencyProvider):
    """Runs a ``TimerLoop`` in the service, on the ``Database`` dependency named ``database``.

    ``handler`` is ``f(uow, timer_row)``; it is given as a dotted path so nameko can rebuild the provider.
    """

    def __init__(self, table_path: str, handler_path: str, database: str = "db"):
        self.table_path, self.handler_path, self.database = table_path, handler_path, database
        self.loop = None

    def setup(self):
        cfg = self.container.config
        self.interval = float(cfg.get("TIMER_POLL_SECONDS", 1.0))

    def start(self):
        db = next(dep for dep in self.container.dependencies if getattr(dep, "attr_name", None) == self.database)
        wake = db.relay.wake if db.relay else None
        factory = lambda: _uow(db, wake)  # noqa: E731
        self.loop = TimerLoop(factory, _resolve(self.table_path), _resolve(self.handler_path),
                              self.container.service_name, self.interval)
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    def kill(self):
        self.stop()


def _uow(db, wake):
    from .unit_of_work import UnitOfWork

    return UnitOfWork(db.engine, db.tables, db.clock, on_events=wake)


def _resolve(path: str):
    import importlib

    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)

