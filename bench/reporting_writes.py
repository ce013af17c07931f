"""Events/s through reporting's event handlers with concurrent workers on a few hot estates, same run, same DB.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:54345/estatedesk \\
      .venv/bin/python bench/reporting_writes.py          # --complaints 600 --estates 3 --workers 4

The fault run's shape (docs/reliability.md): a stream of complaints on a handful of estates, every complaint
bringing ~6 events (``complaint_received``, ``case_opened``, the acknowledgement, ``case_contacted``,
``case_resolved``, ``callback_completed``), each touching the same per-estate and per-tenant rollup rows.

1. a throwaway schema migrated with reporting's own Alembic revisions;
2. the events of ``--complaints`` complaints over ``--estates`` estates of one tenant, the k-th event of
   complaint i due at position ``i + 7k`` (a complaint's events spread out, as in a live stream);
3. the same stream through the handlers the service runs (``reporting.service`` entrypoint -> handler, a
   ``UnitOfWork`` per event) by **1 worker** (the baseline) and then, on a fresh schema, by ``--workers``
   workers: eventlet green threads with psycopg2 made green, as nameko runs the service's handlers in one
   process (``--threads``: OS threads); a transient database error (deadlock, serialization) requeues the event
   after the consumer's pause (``events.RETRY_PAUSE_SECONDS``), as the live consumer does; the retries are
   counted, and the process's CPU time per event is printed (one process: its Python is part of the limit);
4. checks: every rollup (and the overdue ledger) equals what ``rebuild`` computes from the facts, and the stream
   delivered again is a no-op (the inbox) that changes no rollup row.

Prints events/s per run and the ratio ``workers / 1 worker``. Absolute rates depend on the machine.
"""
from __future__ import annotations

import sys

if "--threads" not in sys.argv:  # before anything imports socket or threading, as nameko's runner does
    import eventlet

    eventlet.monkey_patch()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import os  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

# this file is bench/reporting_writes.py: keep its folder off the path so ``import reporting`` finds the service
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError  # noqa: E402

from estatedesk_common.config import DbTarget, db_target  # noqa: E402
from estatedesk_common.db import SystemClock, make_engine  # noqa: E402
from estatedesk_common.envelope import Envelope  # noqa: E402
from estatedesk_common.events import RETRY_PAUSE_SECONDS  # noqa: E402
from estatedesk_common.migrate import upgrade  # noqa: E402
from estatedesk_common.testing import drain  # noqa: E402
from estatedesk_common.unit_of_work import UnitOfWork  # noqa: E402
from reporting import handlers, repository  # noqa: E402
from reporting.rebuild import rebuild  # noqa: E402
from reporting.tables import complaint_daily, overdue_monthly, reliability  # noqa: E402

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "services", "reporting", "migrations")
ROLLUPS = (complaint_daily, *repository.MONTHLY_TABLES, *repository.LOCATION_TABLES, overdue_monthly)
HANDLER = {"complaint_received": handlers.record_complaint_received, "case_opened": handlers.record_case_opened,
           "notification_sent": handlers.record_notification}
CHANNELS = ["hotline", "web", "wechat"]
CATEGORIES = ["facilities", "sanitation", "security"]
T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)


def _iso(t: dt.datetime) -> str:
    return t.isoformat()


def complaint_events(tenant: str, i: int, estates: int) -> list[Envelope]:
    """The ~6 events of complaint ``i`` as intake, workflow and notify publish them."""
    cid = str(uuid.uuid4())
    code = f"HOT-{i % estates}"
    at = T0 + dt.timedelta(minutes=i % 600)
    snapshot = {"complaint_id": cid, "reference": f"TS20261124-{i:06d}",
                "estate": {"code": code, "name": f"热点{code}", "kind": "residential", "timezone": "Asia/Shanghai",
                           "region": "EAST", "units": 800},
                "channel": CHANNELS[i % 3], "description": "漏水", "complainant": {"phone": "13800000000"},
                "category": CATEGORIES[(i // 3) % 3], "severity": "minor", "urgent": False,
                "received_at": _iso(at), "received_by": None, "schema_version": 1,
                "location": {"building": f"{i % 4 + 1}号楼"}}
    opened = dict(snapshot, case_id=cid, opened_at=_iso(at + dt.timedelta(seconds=3)),
                  deadlines=[{"stage": "first_contact", "due_at": _iso(at + dt.timedelta(hours=1))},
                             {"stage": "resolution", "due_at": _iso(at + dt.timedelta(days=3))}])
    ack = {"message_id": str(uuid.uuid4()), "complaint_id": cid, "case_id": cid, "kind": "acknowledgement",
           "channel": "email", "reference": snapshot["reference"], "recipient": "z***@example.com", "attempts": 1,
           "sent_at": _iso(at + dt.timedelta(minutes=2)), "smtp_message_id": "<m@x>"}
    case = {"complaint_id": cid, "case_id": cid}
    contacted = dict(case, at=_iso(at + dt.timedelta(minutes=30 + i % 60)))
    resolved = dict(case, at=_iso(at + dt.timedelta(hours=20)), handling_working_hours=6.5,
                    nonconformity_required=False)
    callback = dict(case, satisfaction="satisfied")
    out = [("complaint_received", snapshot, None), ("case_opened", opened, None), ("notification_sent", ack, None),
           ("case_contacted", contacted, None), ("case_resolved", resolved, None),
           ("callback_completed", callback, _iso(at + dt.timedelta(days=1)))]
    return [Envelope(event_type=kind, tenant_id=tenant, payload=payload,
                     **({"occurred_at": occurred} if occurred else {})) for kind, payload, occurred in out]


def stream(tenant: str, complaints: int, estates: int) -> list[Envelope]:
    due = []
    for i in range(complaints):
        for k, env in enumerate(complaint_events(tenant, i, estates)):
            due.append((i + 7 * k, i, k, env))
    return [env for *_, env in sorted(due, key=lambda d: d[:3])]


def _handle(engine, clock, env: Envelope) -> None:
    fn = HANDLER.get(env.event_type, handlers.record_case_event)
    fn(env, UnitOfWork(engine, reliability, clock))


def run(engine, events: list[Envelope], workers: int) -> dict:
    """Every event through its handler by ``workers`` threads; transient errors requeue after the pause."""
    clock, lock = SystemClock(), threading.Lock()
    tally = {"retries": 0, "errors": 0}

    def transient(env, exc) -> bool:
        if not isinstance(exc, (OperationalError, IntegrityError, DBAPIError)):
            return False
        with lock:
            tally["retries"] += 1
            if tally["retries"] <= 3:
                print(f"  transient: {type(exc.orig).__name__}: {str(exc.orig).splitlines()[0]}", flush=True)
        time.sleep(RETRY_PAUSE_SECONDS)
        return True

    started, cpu = time.perf_counter(), time.process_time()
    errors = drain(events, lambda env: _handle(engine, clock, env), workers, retry=transient)
    elapsed = time.perf_counter() - started
    for exc in errors[:3]:  # a bench: count and go on
        print(f"  error: {exc!r}", flush=True)
    return dict(tally, errors=len(errors), seconds=elapsed, rate=len(events) / elapsed,
                cpu_ms=(time.process_time() - cpu) * 1000 / len(events))


def rollup_rows(engine) -> dict:
    out = {}
    with engine.connect() as conn:
        for table in ROLLUPS:
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).mappings().all()
            out[table.name] = [dict(r) for r in rows if any(v for k, v in r.items() if k in ("received", "cases"))]
    return out


def check(engine, events: list[Envelope]) -> str:
    """'ok' if the rollups equal a rebuild from the facts and a redelivery of the stream changes nothing."""
    before = rollup_rows(engine)
    again = run(engine, events[: len(events) // 10], 2)
    if rollup_rows(engine) != before or again["errors"]:
        return "REDELIVERY CHANGED THE ROLLUPS"
    rebuild(engine, progress=False)
    return "ok" if rollup_rows(engine) == before else "ROLLUPS DIFFER FROM REBUILD"


def fresh_schema(url: str) -> tuple:
    schema = f"bench_writes_{uuid.uuid4().hex[:8]}"
    target = DbTarget(db_target("reporting", {"DATABASE_URL": url}).url, schema)
    upgrade("reporting", os.path.abspath(MIGRATIONS), target)
    return schema, make_engine(target, pool_size=16, max_overflow=4)


def drop(engine, schema: str) -> None:
    engine.dispose()
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        conn.commit()
    engine.dispose()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--complaints", type=int, default=600)
    parser.add_argument("--estates", type=int, default=3, help="hot estates (one tenant)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", action="store_true", help="OS threads instead of green threads")
    args = parser.parse_args(argv)
    url = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        print("set BENCH_DATABASE_URL to a PostgreSQL database", file=sys.stderr)
        return 2
    tenant = str(uuid.uuid4())
    events = stream(tenant, args.complaints, args.estates)
    print(f"{args.complaints} complaints, {len(events)} events, {args.estates} estates, 1 tenant", flush=True)
    results = {}
    for workers in (1, args.workers):
        schema, engine = fresh_schema(url)
        try:
            r = run(engine, events, workers)
            r["check"] = check(engine, events)
            results[workers] = r
            print(f"workers={workers:<2} {r['rate']:8.1f} events/s  {r['cpu_ms']:5.1f} ms CPU/event  "
                  f"({r['seconds']:.1f} s, "
                  f"{r['retries']} transient retries, {r['errors']} errors)  check: {r['check']}", flush=True)
        finally:
            drop(engine, schema)
    ratio = results[args.workers]["rate"] / results[1]["rate"]
    print(f"ratio {args.workers} workers / 1 worker = {ratio:.2f}")
    return 0 if all(r["check"] == "ok" and not r["errors"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
