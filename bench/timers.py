"""Timer loop cost and lateness on PostgreSQL, against a naive full scan measured in the same run.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:54330/estatedesk .venv/bin/python bench/timers.py
        [--n 200000] [--full]   (--full: 1,000,000 open timers, the Workflow issue's size)

1. Seeds N pending timers (COPY) with due times spread over the next 30 days, in a throwaway schema.
2. Per tick: the claim ``estatedesk_common.timers`` runs (due and pending, ``ORDER BY due_at LIMIT 200
   FOR UPDATE SKIP LOCKED``, served by the partial index on pending timers) vs a naive tick that loads every
   open timer and picks the due ones in Python. Both measured at N and at N/10 open timers: the claim should
   not grow with N, the naive scan grows linearly.
3. Lateness: 2,000 more timers come due over 20 s while ``fire_due`` runs every 0.2 s (like ``TimerLoop``);
   prints p50/p99 of fired_at - due_at. Target p99 <= 1 s.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
import uuid

from sqlalchemy import MetaData, select, text

from estatedesk_common import timers
from estatedesk_common.config import DbTarget, db_target
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

TENANT = str(uuid.uuid4())


def seed(engine, n: int, start: dt.datetime, spread: dt.timedelta) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        chunk = 100_000
        for offset in range(0, n, chunk):
            buf = io.StringIO()
            for i in range(offset, min(n, offset + chunk)):
                due = start + spread * ((i * 7919) % n) / n
                buf.write(f"{TENANT}\t{uuid.uuid4()}\tsla_breach\tcase-{i}\tresolution\t{due.isoformat()}\t{{}}\t"
                          f"{start.isoformat()}\t\\N\t\\N\t0\t\\N\n")
            buf.seek(0)
            cur.copy_expert("COPY timers (tenant_id, id, kind, subject_id, key, due_at, payload, created_at, "
                            "fired_at, cancelled_at, attempts, last_error) FROM STDIN", buf)
            print(f"  seeded {min(n, offset + chunk):,}/{n:,}", file=sys.stderr)
        raw.commit()
        cur.execute("ANALYZE timers")
        raw.commit()
    finally:
        raw.close()


def tick_times(engine, table, ticks: int = 30) -> tuple[float, float]:
    """Median seconds of one claim tick and of one naive tick (both rolled back: nothing fires)."""
    now = SystemClock().now()
    claim, naive = [], []
    for _ in range(ticks):
        with engine.connect() as conn:
            started = time.perf_counter()
            timers._claim(conn, table, now, 200)
            claim.append(time.perf_counter() - started)
            conn.rollback()
            started = time.perf_counter()
            rows = conn.execute(select(table.c.id, table.c.due_at).where(
                table.c.fired_at.is_(None), table.c.cancelled_at.is_(None))).all()
            [r for r in rows if r.due_at <= now]
            naive.append(time.perf_counter() - started)
            conn.rollback()
    return statistics.median(claim), statistics.median(naive)


def lateness(engine, tables, table, count=2000, window=20.0) -> tuple[float, float]:
    clock = SystemClock()
    start = clock.now() + dt.timedelta(seconds=1)
    with UnitOfWork(engine, tables, clock) as uow:
        for i in range(count):
            timers.schedule(uow.conn, table, TENANT, "sla_warning", f"late-{i}",
                            start + dt.timedelta(seconds=window * i / count), clock.now())
        uow.commit()
    deadline = time.monotonic() + window + 5
    while time.monotonic() < deadline:
        fired = timers.fire_due(lambda: UnitOfWork(engine, tables, clock), table, lambda u, row: None, batch=500)
        if fired < 500:
            time.sleep(0.2)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c.due_at, table.c.fired_at).where(table.c.kind == "sla_warning")).all()
    late = sorted((r.fired_at - r.due_at).total_seconds() for r in rows if r.fired_at)
    if len(late) != count:
        raise SystemExit(f"only {len(late)}/{count} fired")
    return late[len(late) // 2], late[int(len(late) * 0.99) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--full", action="store_true", help="1,000,000 open timers")
    args = parser.parse_args()
    n = 1_000_000 if args.full else args.n
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        raise SystemExit("set BENCH_DATABASE_URL to a PostgreSQL database")
    results = {}
    for size in (n // 10, n):
        target = DbTarget(db_target("bench", {"DATABASE_URL": url}).url, f"bench_timers_{uuid.uuid4().hex[:8]}")
        engine = make_engine(target)
        metadata = MetaData()
        tables = ReliabilityTables(metadata)
        table = timers.timers_table(metadata)
        try:
            metadata.create_all(engine)
            seed(engine, size, SystemClock().now() + dt.timedelta(minutes=1), dt.timedelta(days=30))
            results[size] = tick_times(engine, table)
            if size == n:
                results["lateness"] = lateness(engine, tables, table)
        finally:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE'))
            engine.dispose()
    print(f"open timers   claim tick (indexed, SKIP LOCKED)   naive tick (scan all open)   naive/claim")
    for size in (n // 10, n):
        claim, naive = results[size]
        print(f"{size:>11,}   {claim * 1000:10.2f} ms                    {naive * 1000:10.1f} ms"
              f"            {naive / claim:8.0f}x")
    p50, p99 = results["lateness"]
    print(f"lateness of 2,000 timers due over 20 s with {n:,} open: p50 {p50:.3f} s, p99 {p99:.3f} s (target <= 1 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
