"""Reads a channel makes while the delivery loop holds its claim (``delivery.deliver_once``).

On PostgreSQL the loop claims due rows ``FOR UPDATE SKIP LOCKED`` and keeps that transaction open while it sends.
Kannel's delivery reports for those rows arrive meanwhile and wait on the row locks, each holding a pooled
connection; if the channel then asked the pool for a second connection (the SMS throttle's count, a tenant's mail
server), twenty waiting reports left it none and the pass stalled for the pool's 30 s timeout, again and again
(seen in the fault run). ``claimed(conn)`` lends the claim's own connection to those reads instead.
"""
from __future__ import annotations

import contextlib
import contextvars

_claim = contextvars.ContextVar("notify_claim_connection", default=None)


@contextlib.contextmanager
def claimed(conn):
    """Within this block, ``connection(engine)`` answers ``conn`` (the delivery pass's transaction)."""
    token = _claim.set(conn)
    try:
        yield
    finally:
        _claim.reset(token)


@contextlib.contextmanager
def connection(engine):
    """The claim's connection inside ``claimed``, else a connection of ``engine`` for this read."""
    conn = _claim.get()
    if conn is not None:
        yield conn
        return
    with engine.connect() as own:
        yield own
