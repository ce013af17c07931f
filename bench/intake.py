"""Complaints/s through intake's internal path and (optionally) the public API, against raw confirmed
publishing measured in the same run on the same broker.

    AMQP_URI=amqp://guest:guest@127.0.0.1:5672/ .venv/bin/python bench/intake.py [--n 1000]
        [--url http://127.0.0.1:8000]   (the HTTP path needs a running system: `make start`)

1. raw: kombu persistent publishes, a publisher confirm each (the Intake issue's baseline).
2. internal: ``intake.handlers.register_complaint`` (validation, classification of the Chinese text, the
   complaint row and its outbox event in one SQLite transaction each), then the outbox drained to the broker
   by the relay with streaming confirms: the whole path a channel adapter takes.
3. http: ``POST /api/v1/complaints`` as agent@demo with 8 concurrent clients (token fetched once), when
   ``--url`` answers; bound by the gateway's worker and the RPC round trip to intake.

Prints complaints/s and the ratios to raw. Target (Intake issue): internal >= 0.5 of raw.
"""
from __future__ import annotations

import os
import sys

import eventlet

eventlet.monkey_patch()  # noqa: E402
# this file is called intake.py: keep its folder from shadowing the intake package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
import warnings  # noqa: E402

import requests  # noqa: E402
from kombu import Connection, Exchange, Queue  # noqa: E402

from estatedesk_common.config import DbTarget  # noqa: E402
from estatedesk_common.db import SystemClock, make_engine  # noqa: E402
from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT  # noqa: E402
from estatedesk_common.migrate import upgrade  # noqa: E402
from estatedesk_common.outbox import relay_once  # noqa: E402
from estatedesk_common.publishing import ConfirmedPublisher  # noqa: E402
from estatedesk_common.unit_of_work import UnitOfWork  # noqa: E402

from intake import classification, duplicates, handlers  # noqa: E402
from intake.seed import seed_demo  # noqa: E402
from intake.tables import reliability  # noqa: E402

warnings.filterwarnings("ignore")
MIGRATIONS = os.path.join(os.path.dirname(handlers.__file__), "..", "..", "migrations")
TEXTS = ["3栋电梯又困人了，物业电话打不通", "楼上漏水，天花板已经发霉", "小区绿化带很久没人修剪", "保安态度很差，不让快递进门",
         "地下车库照明坏了一半", "交房时发现墙面开裂，要求维修", "垃圾桶满了两天没人清理", "建议增加儿童游乐设施"]


def complaint(i: int) -> dict:
    return {"estate": "DEMO-RES", "channel": "hotline", "description": f"{TEXTS[i % len(TEXTS)]}（{i}）",
            "complainant": {"name": "王先生", "phone": f"138{i % 10**8:08d}", "unit": "1栋101"}}  # one owner each: no merges


def bench_raw(amqp_uri: str, n: int, tag: str) -> float:
    exchange = Exchange(f"bench.intake.raw.{tag}", type="topic", durable=True)
    queue = Queue(f"bench.intake.raw.{tag}", exchange=exchange, routing_key="#", durable=True)
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        channel = conn.channel()
        queue(channel).declare()
        try:
            producer = conn.Producer(channel)
            started = time.perf_counter()
            for i in range(n):
                producer.publish({"payload": complaint(i)}, exchange=exchange, routing_key="complaint_received",
                                 serializer="json", delivery_mode=2, mandatory=True)
            return n / (time.perf_counter() - started)
        finally:
            queue(channel).delete()
            exchange(channel).delete()


def register(data, tenant_id, user_id, uow, cache):
    """What the service's ``register_complaint`` runs: duplicate checks, then the handler."""
    return duplicates.register_once(handlers.register_complaint, data, tenant_id, user_id, uow, cache)


def bench_internal(amqp_uri: str, n: int, tag: str) -> float:
    service = f"bench-intake-{tag}"
    exchange = Exchange(f"{service}.events", type="topic", durable=True)
    queue = Queue(f"bench.intake.internal.{tag}", exchange=exchange, routing_key="complaint_received", durable=True)
    with tempfile.TemporaryDirectory() as tmp, Connection(amqp_uri) as conn:
        queue(conn.default_channel).declare()
        target = DbTarget(f"sqlite:///{tmp}/intake.sqlite3", None)
        upgrade("intake", os.path.abspath(MIGRATIONS), target)
        engine = make_engine(target)
        seed_demo(engine)
        cache, clock = classification.default_cache(), SystemClock()
        publisher = ConfirmedPublisher(amqp_uri, service)
        try:
            register(complaint(n), DEMO_TENANT["id"], None, UnitOfWork(engine, reliability, clock),
                     cache)  # warm-up: trains the tenant's classifier once
            relay_once(engine, reliability.outbox, publisher)
            started = time.perf_counter()
            for i in range(n):
                register(complaint(i), DEMO_TENANT["id"], None, UnitOfWork(engine, reliability, clock), cache)
                if i % 200 == 199:
                    relay_once(engine, reliability.outbox, publisher, batch=500)
            while relay_once(engine, reliability.outbox, publisher, batch=500)[0]:
                pass
            elapsed = time.perf_counter() - started
            depth = queue(conn.default_channel).queue_declare(passive=True).message_count
            if depth != n + 1:
                raise SystemExit(f"queue holds {depth} events, expected {n + 1}")
            return n / elapsed
        finally:
            publisher.close()
            queue(conn.default_channel).delete()
            exchange(conn.default_channel).delete()
            engine.dispose()


def bench_http(url: str, n: int, concurrency: int = 8) -> float | None:
    try:
        if requests.get(f"{url}/api/v1/health", timeout=5).status_code != 200:
            return None
    except requests.RequestException:
        return None
    token = requests.post(f"{url}/api/v1/auth/token", json={"username": "agent@demo", "password": DEMO_PASSWORD},
                          timeout=10).json()["access_token"]
    session = requests.Session()
    headers = {"Authorization": f"Bearer {token}"}

    def post(i):
        r = session.post(f"{url}/api/v1/complaints", json=complaint(i), headers=headers, timeout=30)
        if r.status_code != 201:
            raise SystemExit(f"HTTP {r.status_code}: {r.text[:200]}")

    pool = eventlet.GreenPool(concurrency)
    started = time.perf_counter()
    list(pool.imap(post, range(n)))
    return n / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--url", default=os.environ.get("BENCH_GATEWAY_URL", "http://127.0.0.1:8000"))
    args = parser.parse_args()
    amqp_uri = os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/")
    tag = uuid.uuid4().hex[:8]
    raw = bench_raw(amqp_uri, args.n, tag)
    internal = bench_internal(amqp_uri, args.n, tag)
    http = bench_http(args.url.rstrip("/"), args.n)
    print(f"n={args.n} broker={amqp_uri.rsplit('@', 1)[-1]}")
    print(f"raw kombu publish (persistent, a confirm each):      {raw:8.0f} msgs/s")
    print(f"intake internal path (classify + store + relay):      {internal:8.0f} complaints/s   "
          f"ratio to raw = {internal / raw:.2f}  (target >= 0.5)")
    if http is None:
        print(f"intake HTTP path: skipped ({args.url} is not running; `make start` first)")
    else:
        print(f"intake HTTP path (POST /api/v1/complaints, 8 clients): {http:8.0f} complaints/s   "
              f"ratio to raw = {http / raw:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
