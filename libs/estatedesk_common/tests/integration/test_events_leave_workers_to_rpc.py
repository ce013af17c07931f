"""A backlog of events never takes every worker from RPC (real nameko container, real RabbitMQ).

The 10,000-complaint fault run (docs/reliability.md) left reporting with thousands of events waiting on its busy
rollup rows: every worker held one, so its ``health`` RPC timed out for minutes and the gateway said 503.
"""
import time
import uuid

import eventlet
import pytest
from kombu import Connection, Exchange
from nameko.rpc import rpc
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.events import RPC_RESERVED_WORKERS, reliable_event_handler

pytestmark = pytest.mark.integration

SOURCE = "slowsource"
MAX_WORKERS = RPC_RESERVED_WORKERS + 2


def test_rpc_answers_while_events_fill_the_workers_and_the_backlog_then_drains(container_factory, rabbit_config):
    state = {"running": 0, "most": 0, "done": 0, "open": False}

    class BusyService:
        name = "busy"

        @reliable_event_handler(SOURCE, "thing_happened")
        def on_thing(self, envelope):
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
            while not state["open"]:  # a handler stuck behind a lock
                eventlet.sleep(0.05)
            state["running"] -= 1
            state["done"] += 1

        @rpc
        def health(self):
            return {"status": "ok"}

    container = container_factory(BusyService, dict(rabbit_config, max_workers=MAX_WORKERS))
    container.start()
    exchange = Exchange(f"{SOURCE}.events", type="topic", durable=True)
    events = MAX_WORKERS * 2
    with Connection(rabbit_config["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for _ in range(events):
            producer.publish({"event_id": str(uuid.uuid4()), "event_type": "thing_happened",
                              "tenant_id": "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70",
                              "occurred_at": "2026-11-24T08:00:00+00:00", "schema_version": 1, "payload": {}},
                             exchange=exchange, routing_key="thing_happened", serializer="json")
    try:
        deadline = time.monotonic() + 15
        while state["running"] < MAX_WORKERS - RPC_RESERVED_WORKERS and time.monotonic() < deadline:
            eventlet.sleep(0.05)
        eventlet.sleep(0.5)  # time for more handlers to start, were they allowed to
        assert state["running"] == state["most"] == MAX_WORKERS - RPC_RESERVED_WORKERS
        with ServiceRpcProxy("busy", rabbit_config, timeout=5) as proxy:
            assert proxy.health() == {"status": "ok"}
    finally:
        state["open"] = True
    deadline = time.monotonic() + 20
    while state["done"] < events and time.monotonic() < deadline:
        eventlet.sleep(0.05)
    assert state["done"] == events
