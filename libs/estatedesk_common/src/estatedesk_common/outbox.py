"""Transactional outbox and its relay.

A handler writes its state change and the events it causes in one transaction (``UnitOfWork.publish``).
The relay reads unsent rows, publishes each to the source service's nameko event exchange with publisher
confirms and ``mandatory`` (so an event no queue is bound for yet is retried, not dropped), then marks it sent.
A crash between publish and mark re-publishes the row: delivery is at least once, and consumers' inboxes make
it exactly-once in effect.

On Postgres the batch is claimed with ``FOR UPDATE SKIP LOCKED`` so every replica can run a relay. On SQLite
no write transaction is held across network I/O (a writer waiting on SQLite's lock would block the whole
eventlet hub), so rows are read, published, then marked in a short transaction; SQLite means one process per
service.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os

from sqlalchemy import JSON, Column, Index, Integer, MetaData, String, Table, Text, func, or_, select, update

from .db import UTCDateTime, is_postgres, utcnow
from .envelope import Envelope

log = logging.getLogger(__name__)

FAULT_ENV = "ESTATEDESK_FAULT"  # "exit_after_publish": test hook, the relay dies between publish and mark


def outbox_table(metadata: MetaData) -> Table:
    return Table(
        "outbox", metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("tenant_id", String(36), nullable=False),
        Column("event_type", String(64), nullable=False),
        Column("body", JSON, nullable=False),
        Column("created_at", UTCDateTime, nullable=False),
        Column("sent_at", UTCDateTime, nullable=True),
        Column("attempts", Integer, nullable=False, default=0),
        Column("next_attempt_at", UTCDateTime, nullable=True),
        Column("last_error", Text, nullable=True),
        Index("ix_outbox_unsent", "sent_at", "id"),
    )


def backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(60, 2 ** min(attempts, 6)))


def _due_rows(conn, table, batch, now):
    q = (
        select(table)
        .where(table.c.sent_at.is_(None))
        .where(or_(table.c.next_attempt_at.is_(None), table.c.next_attempt_at <= now))
        .order_by(table.c.id)
        .limit(batch)
    )
    if is_postgres(conn.engine):
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).mappings().all()


def relay_once(engine, table: Table, publish, batch: int = 200, now=utcnow) -> tuple[int, int]:
    """Publish one batch of due rows. Returns (sent, failed).

    ``publish`` is either a function of one envelope dict that raises on failure, or has
    ``publish_batch(bodies) -> [error or None]`` (``publishing.ConfirmedPublisher``: one confirm wait a batch).
    """
    fault = os.environ.get(FAULT_ENV)
    if is_postgres(engine):
        with engine.begin() as conn:
            results = _publish_rows(publish, _due_rows(conn, table, batch, now()), fault)
            _mark_all(conn, table, results, now())
    else:
        with engine.connect() as conn:
            rows = _due_rows(conn, table, batch, now())
            conn.rollback()
        results = _publish_rows(publish, rows, fault)
        if results:
            with engine.begin() as conn:
                _mark_all(conn, table, results, now())
    failed = sum(1 for _, err in results if err)
    return len(results) - failed, failed


def _publish_rows(publish, rows, fault) -> list:
    if not hasattr(publish, "publish_batch"):
        return [(row, _publish_row(publish, row, fault)) for row in rows]
    errors = publish.publish_batch([row["body"] for row in rows])
    for row, error in zip(rows, errors):
        if error:
            log.warning("outbox publish failed for %s %s: %s", row["event_type"], row["event_id"], error)
    if rows and fault == "exit_after_publish":
        log.error("fault injection: exiting between publish and mark-sent")
        os._exit(99)
    return list(zip(rows, errors))


def _publish_row(publish, row, fault) -> str | None:
    """None when published, else the error (broker down, unroutable): the row stays and is retried."""
    try:
        publish(row["body"])
    except Exception as exc:
        log.warning("outbox publish failed for %s %s: %s", row["event_type"], row["event_id"], exc)
        return f"{type(exc).__name__}: {exc}"[:2000]
    if fault == "exit_after_publish":
        log.error("fault injection: exiting between publish and mark-sent")
        os._exit(99)
    return None


def _mark_all(conn, table, results, now):
    for row, error in results:
        if error is None:
            conn.execute(update(table).where(table.c.id == row["id"]).values(sent_at=now))
            continue
        attempts = (row["attempts"] or 0) + 1
        conn.execute(update(table).where(table.c.id == row["id"]).values(
            attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=error))


def backlog(engine, table: Table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(table.c.sent_at.is_(None))).scalar_one()


def add(conn, table: Table, envelope: Envelope, now: dt.datetime) -> None:
    conn.execute(table.insert(), _row(envelope, now))  # one cached statement, parameters apart


def add_many(conn, table: Table, published: list[tuple[Envelope, dt.datetime]]) -> None:
    """Several events in one INSERT (SQLAlchemy's insertmanyvalues on PostgreSQL), in the order given."""
    if published:
        conn.execute(table.insert(), [_row(envelope, now) for envelope, now in published])


def _row(envelope: Envelope, now: dt.datetime) -> dict:
    return dict(event_id=envelope.event_id, tenant_id=envelope.tenant_id, event_type=envelope.event_type,
                body=json.loads(json.dumps(envelope.to_dict())), created_at=now, attempts=0)
