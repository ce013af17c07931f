"""Engines, the UTC timestamp type, and the unit of work.

We use SQLAlchemy Core tables with small repository functions rather than the ORM: the services' state is a
handful of flat tables, and Core keeps the SQL that matters (SKIP LOCKED claims, upserts) visible.

A ``UnitOfWork`` is one database transaction that may also write outbox rows (events to publish) and inbox
rows (events handled). Commit makes the state change, the outgoing events and the "handled" mark atomic.
"""
from __future__ import annotations

import datetime as dt
import os
import threading

from sqlalchemy import DateTime, create_engine, event, text
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

from .config import DbTarget

_green_lock = threading.Lock()
_green_done = False


def _make_psycopg2_green():
    """Under eventlet, psycopg2 must yield while it waits on the socket or one query blocks every worker."""
    global _green_done
    with _green_lock:
        if _green_done:
            return
        try:
            import eventlet.patcher

            if eventlet.patcher.is_monkey_patched("socket"):
                from psycogreen.eventlet import patch_psycopg

                patch_psycopg()
        except ImportError:  # pragma: no cover - psycogreen is a declared dependency
            pass
        _green_done = True


def make_engine(target: DbTarget, **kwargs) -> Engine:
    if target.url.startswith("sqlite"):
        engine = create_engine(target.url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        return engine
    _make_psycopg2_green()
    opts = {"pool_pre_ping": True}
    if "poolclass" not in kwargs:  # replicas x (size + overflow) must fit the server's max_connections
        opts.update(pool_size=int(os.environ.get("DATABASE_POOL_SIZE") or 10),
                    max_overflow=int(os.environ.get("DATABASE_MAX_OVERFLOW") or 10))
    opts.update(kwargs)
    engine = create_engine(target.url, **opts)
    if target.schema:
        schema = target.schema

        @event.listens_for(engine, "connect")
        def _search_path(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            cur.execute(f'SET search_path TO "{schema}"')
            cur.close()
            dbapi_conn.commit()

    return engine


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC on the way in and out, on SQLite (naive text) and Postgres (timestamptz) alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class SystemClock:
    """The real clock. Tests pass a fake with the same ``now()``."""

    def now(self) -> dt.datetime:
        return utcnow()


def ping(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
