"""Outbox throughput against raw publishing, measured in the same run on the same broker.

    AMQP_URI=amqp://guest:guest@127.0.0.1:5672/ .venv/bin/python bench/outbox.py [--n 2000]

1. raw: kombu persistent publishes with publisher confirms (one confirm per message), to a throwaway
   exchange and queue;
2. outbox: N UnitOfWork transactions (one ``publish`` + commit each) into a temp SQLite file (and a throwaway
   schema in BENCH_DATABASE_URL, if set), then drained by ``estatedesk_common.outbox.relay_once``, once with a
   confirm per message (``dependencies.event_publisher``) and once with streaming confirms
   (``publishing.ConfirmedPublisher``, what the services run; both with ``mandatory``), to a throwaway
   ``<service>.events`` exchange with a bound queue.

Prints msgs/s for each phase and the ratios outbox/raw. Absolute numbers depend on the machine; the ratio is
the figure to compare. Every exchange, queue and schema created here is deleted before exit.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid

from kombu import Connection, Exchange, Queue
from sqlalchemy import MetaData, text

from estatedesk_common.config import DbTarget
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.dependencies import event_publisher
from estatedesk_common.outbox import relay_once
from estatedesk_common.publishing import ConfirmedPublisher
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

PAYLOAD = {"complaint_id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "channel": "hotline",
           "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                      "region": "EAST"},
           "description": "楼上漏水，天花板有水渍" * 5, "received_at": "2026-11-24T02:00:00+00:00"}
TENANT = str(uuid.uuid4())


def bench_raw(amqp_uri: str, n: int, tag: str) -> float:
    exchange = Exchange(f"bench.raw.{tag}", type="topic", durable=True)
    queue = Queue(f"bench.raw.{tag}", exchange=exchange, routing_key="#", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        queue(channel).declare()
        try:
            producer = conn.Producer(channel)
            body = {"event_type": "complaint_received", "tenant_id": TENANT, "payload": PAYLOAD}
            started = time.perf_counter()
            for _ in range(n):
                producer.publish(body, exchange=exchange, routing_key="complaint_received", serializer="json",
                                 delivery_mode=2, mandatory=True, headers={"nameko.tenant_id": TENANT})
            elapsed = time.perf_counter() - started
        finally:
            queue(channel).delete()
            exchange(channel).delete()
    return n / elapsed


PUBLISHERS = {
    "per-message confirms": lambda amqp_uri, service: event_publisher(amqp_uri, service, {}),
    "streaming confirms": lambda amqp_uri, service: ConfirmedPublisher(amqp_uri, service),  # what services run
}


def bench_outbox(amqp_uri: str, target: DbTarget, n: int, tag: str,
                 publisher: str = "streaming confirms") -> tuple[float, float, float]:
    """(write msgs/s, drain msgs/s, end-to-end msgs/s) for one database."""
    service = f"bench-{tag}"
    exchange = Exchange(f"{service}.events", type="topic", durable=True)
    queue = Queue(f"bench.outbox.{tag}", exchange=exchange, routing_key="complaint_received", durable=True)
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    engine = make_engine(target)
    with Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()  # mandatory publishes need a bound queue
    try:
        metadata.create_all(engine)
        clock = SystemClock()
        started = time.perf_counter()
        for _ in range(n):
            with UnitOfWork(engine, tables, clock) as uow:
                uow.publish("complaint_received", TENANT, PAYLOAD)
                uow.commit()
        written = time.perf_counter()
        publish = PUBLISHERS[publisher](amqp_uri, service)
        sent = failed = 0
        while True:
            batch_sent, batch_failed = relay_once(engine, tables.outbox, publish)
            sent, failed = sent + batch_sent, failed + batch_failed
            if batch_sent == 0 or batch_failed:
                break
        drained = time.perf_counter()
        if sent != n or failed:
            raise SystemExit(f"outbox relay sent {sent}/{n}, {failed} failed")
        with Connection(amqp_uri) as conn:
            depth = queue(conn.default_channel).queue_declare(passive=True).message_count
        if depth != n:
            raise SystemExit(f"queue holds {depth} messages, expected {n}")
    finally:
        with Connection(amqp_uri) as conn:
            queue(conn.default_channel).delete()
            exchange(conn.default_channel).delete()
        if target.schema:
            with engine.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE'))
        engine.dispose()
    return n / (written - started), n / (drained - written), n / (drained - started)


def psycopg2_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; the project ships psycopg2."""
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000, help="messages per phase (default 2000)")
    args = parser.parse_args(argv)
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    tag = uuid.uuid4().hex[:8]
    print(f"n={args.n} broker={amqp_uri.split('@')[-1]}")
    raw = bench_raw(amqp_uri, args.n, tag)
    print(f"raw kombu publish (persistent, confirms): {raw:10.0f} msgs/s")
    targets = []
    tmp = tempfile.TemporaryDirectory()
    targets.append(("sqlite", DbTarget(f"sqlite:///{tmp.name}/bench.sqlite3", None)))
    if os.environ.get("BENCH_DATABASE_URL"):
        targets.append(("postgres", DbTarget(psycopg2_url(os.environ["BENCH_DATABASE_URL"]), f"bench_{tag}")))
    try:
        for name, target in targets:
            for publisher in PUBLISHERS:
                write, drain, total = bench_outbox(amqp_uri, target, args.n, f"{tag}-{name}-{len(publisher)}",
                                                   publisher)
                print(f"outbox {name:8s} relay drain, {publisher:20s} {drain:10.0f} msgs/s   "
                      f"ratio drain/raw = {drain / raw:.2f}")
            print(f"outbox {name:8s} write (1 uow/commit each):         {write:10.0f} msgs/s")
            print(f"outbox {name:8s} write+drain end to end (streaming): {total:10.0f} msgs/s   "
                  f"ratio outbox/raw = {total / raw:.2f}")
    finally:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
