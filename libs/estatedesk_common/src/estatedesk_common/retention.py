"""Pruning the reliability tables: published outbox rows and old inbox keys.

Both tables only grow otherwise. The relay of every service prunes at most once per ``interval`` (an hour), in
batches, so no long transaction holds locks:
- **outbox**: rows already published (``sent_at`` set) older than ``OUTBOX_RETENTION_DAYS`` (default 7). Unsent
  rows are never touched, however old: they still have to go out.
- **inbox**: keys handled more than ``INBOX_RETENTION_DAYS`` ago (default 90). An event redelivered after its key
  is gone would be applied again, so the retention must be longer than anything can come back: the broker
  redelivers within minutes, and a dead-lettered message replayed with ``estatedesk-dlq replay`` after that
  many days is the only way. Replay dead letters within the inbox retention (docs/operations.md).
- **extra tables** a service asks for (``Database(..., retention=[(name, timestamp column, config key)])``):
  rows whose timestamp is older than that many days; 0 keeps them (reporting's ``event_archive``,
  ``EVENT_ARCHIVE_RETENTION_DAYS``).
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from prometheus_client import Counter
from sqlalchemy import delete, select, tuple_

log = logging.getLogger(__name__)

PRUNED = Counter("estatedesk_reliability_rows_pruned_total", "Published outbox rows and old inbox keys deleted",
                 ["service", "table"])
BATCH = 2000


def prune(engine, tables, now: dt.datetime, outbox_days: float = 7, inbox_days: float = 90,
          batch: int = BATCH, max_batches: int = 50) -> tuple[int, int]:
    """Delete what is past retention; returns (outbox rows, inbox rows) deleted."""
    outbox, inbox = tables.outbox, tables.inbox
    sent_before = now - dt.timedelta(days=outbox_days)
    handled_before = now - dt.timedelta(days=inbox_days)
    done_outbox = _batches(engine, lambda conn: conn.execute(delete(outbox).where(outbox.c.id.in_(
        select(outbox.c.id).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < sent_before)
        .limit(batch).scalar_subquery()))).rowcount, batch, max_batches)
    keys = (inbox.c.tenant_id, inbox.c.consumer, inbox.c.event_id)
    done_inbox = _batches(engine, lambda conn: conn.execute(delete(inbox).where(tuple_(*keys).in_(
        select(*keys).where(inbox.c.handled_at < handled_before).limit(batch)))).rowcount, batch, max_batches)
    return done_outbox, done_inbox


def prune_older(engine, column, before: dt.datetime, batch: int = BATCH, max_batches: int = 50) -> int:
    """Delete the rows of ``column``'s table whose ``column`` is before ``before``; returns how many."""
    table = column.table
    keys = tuple(table.primary_key.columns)
    return _batches(engine, lambda conn: conn.execute(delete(table).where(tuple_(*keys).in_(
        select(*keys).where(column < before).limit(batch)))).rowcount, batch, max_batches)


def _batches(engine, one, batch: int, max_batches: int) -> int:
    total = 0
    for _ in range(max_batches):
        with engine.begin() as conn:
            deleted = one(conn)
        total += deleted
        if deleted < batch:
            break
    return total


class Pruner:
    """Calls ``prune`` at most once per ``interval`` seconds; never lets a failure escape into the relay."""

    def __init__(self, engine, tables, service: str, clock, outbox_days: float, inbox_days: float,
                 interval: float = 3600.0, extra=()):
        self.engine, self.tables, self.service, self.clock = engine, tables, service, clock
        self.outbox_days, self.inbox_days, self.interval = outbox_days, inbox_days, interval
        self.extra = [(name, column, days) for name, column, days in extra if days > 0]  # 0 = keep
        self._next = time.monotonic() + 60  # not while the service is still starting

    def maybe_prune(self) -> None:
        if time.monotonic() < self._next:
            return
        self._next = time.monotonic() + self.interval
        try:
            outbox, inbox = prune(self.engine, self.tables, self.clock.now(), self.outbox_days, self.inbox_days)
        except Exception:
            log.exception("%s: pruning the outbox/inbox failed (will retry in %.0f s)", self.service, self.interval)
            return
        PRUNED.labels(self.service, "outbox").inc(outbox)
        PRUNED.labels(self.service, "inbox").inc(inbox)
        if outbox or inbox:
            log.info("%s: pruned %d published outbox rows and %d inbox keys", self.service, outbox, inbox)
        for name, column, days in self.extra:
            try:
                done = prune_older(self.engine, column, self.clock.now() - dt.timedelta(days=days))
            except Exception:
                log.exception("%s: pruning %s failed (will retry in %.0f s)", self.service, name, self.interval)
                continue
            PRUNED.labels(self.service, name).inc(done)
            if done:
                log.info("%s: pruned %d rows of %s older than %g days", self.service, done, name, days)
