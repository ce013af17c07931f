"""Nothing lost, nothing doubled, on a real RabbitMQ and a real database (SQLite, or Postgres via TEST_DATABASE_URL)."""
import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from kombu import Connection, Exchange, Queue
from sqlalchemy import Column, MetaData, String, Table, func, select

from estatedesk_common import outbox
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.dependencies import Database
from estatedesk_common.events import reliable_event_handler
from estatedesk_common.testing import drop_test_db, new_test_db, service_config
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

pytestmark = pytest.mark.integration

TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"
SOURCE = "libsource"


def wait_for(predicate, timeout=15.0, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def sink(container_factory, rabbit_config):
    """A consumer service whose effect is a row per applied event, with its inbox in the same transaction."""
    target = new_test_db("sink")
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    applied = Table("applied", metadata, Column("tenant_id", String(36), primary_key=True),
                    Column("event_id", String(36), primary_key=True))
    deliveries = []
    broken = {"on": False}  # a "bug" the test can fix

    class SinkService:
        name = "sink"
        db = Database("sink", tables, relay=False)

        @reliable_event_handler(SOURCE, "thing_happened")
        def on_thing(self, envelope):
            deliveries.append(envelope.event_id)
            if envelope.payload.get("explode") or broken["on"]:
                raise RuntimeError("handler bug")
            with self.db.uow() as uow:
                if uow.claim(envelope, "sink.on_thing"):
                    uow.execute(applied.insert().values(tenant_id=envelope.tenant_id, event_id=envelope.event_id))
                uow.commit()

    engine = make_engine(target)
    metadata.create_all(engine)
    container = container_factory(SinkService, service_config(rabbit_config, target))
    container.start()
    yield {"engine": engine, "applied": applied, "deliveries": deliveries, "config": rabbit_config,
           "broken": broken}
    container.stop()
    engine.dispose()
    drop_test_db(target)


@pytest.fixture
def source():
    target = new_test_db(SOURCE)
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    engine = make_engine(target)
    metadata.create_all(engine)
    yield target, engine, tables
    engine.dispose()
    drop_test_db(target)


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_relay_killed_between_publish_and_mark_sent_still_applies_once(sink, source):
    target, engine, tables = source
    with UnitOfWork(engine, tables, SystemClock()) as uow:
        env = uow.publish("thing_happened", TENANT, {"n": 1})
        uow.commit()
    cmd = [sys.executable, "-m", "estatedesk_common.relay", "--db-url", target.url, "--service", SOURCE,
           "--amqp-uri", sink["config"]["AMQP_URI"]] + (["--schema", target.schema] if target.schema else [])

    crashed = subprocess.run(cmd, env=dict(os.environ, ESTATEDESK_FAULT="exit_after_publish"),
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == 99, crashed.stderr
    assert outbox.backlog(engine, tables.outbox) == 1  # published, but never marked sent
    assert wait_for(lambda: count(sink["engine"], sink["applied"]) == 1)

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)  # the restarted relay re-publishes
    assert again.returncode == 0, again.stderr
    assert outbox.backlog(engine, tables.outbox) == 0
    assert wait_for(lambda: sink["deliveries"].count(env.event_id) == 2)
    time.sleep(0.3)
    assert count(sink["engine"], sink["applied"]) == 1  # delivered twice, applied once


def test_poison_messages_go_to_the_dead_letter_queue_with_a_reason_and_nothing_stalls(sink, source):
    exchange = Exchange(f"{SOURCE}.events", type="topic", durable=True)
    good = {"event_id": str(uuid.uuid4()), "event_type": "thing_happened", "tenant_id": TENANT,
            "occurred_at": "2026-11-24T08:00:00+00:00", "schema_version": 1, "payload": {}}
    with Connection(sink["config"]["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        send = lambda body, **kw: producer.publish(body, exchange=exchange, routing_key="thing_happened",
                                                   declare=[exchange], **kw)
        send({"not": "an envelope"}, serializer="json")
        send(dict(good, event_id=str(uuid.uuid4()), schema_version=7), serializer="json")
        send(dict(good, event_id=str(uuid.uuid4()), payload={"explode": True}), serializer="json")
        send(b"{not json", content_type="application/json", content_encoding="utf-8")
        send(good, serializer="json")
    assert wait_for(lambda: count(sink["engine"], sink["applied"]) == 1)

    def dead_letters():
        with Connection(sink["config"]["AMQP_URI"]) as conn:
            q = conn.SimpleQueue("sink.dlq")
            return q.qsize()
    assert wait_for(lambda: dead_letters() == 4)
    from estatedesk_common.deadletter import list_messages

    import io
    out = io.StringIO()
    assert list_messages(sink["config"]["AMQP_URI"], "sink", out) == 4
    reasons = [json.loads(line)["reason"] for line in out.getvalue().splitlines()]
    assert any("missing fields" in r for r in reasons)
    assert any("unknown schema_version 7" in r for r in reasons)
    assert any("RuntimeError: handler bug" in r for r in reasons)
    assert any("undecodable" in r for r in reasons)
    assert all(json.loads(line)["routing_key"] == "thing_happened" for line in out.getvalue().splitlines())
    assert dead_letters() == 4  # listing does not consume


def test_dead_letters_are_replayed_to_their_original_route_after_a_fix(sink):
    from estatedesk_common.deadletter import replay

    sink["broken"]["on"] = True
    exchange = Exchange(f"{SOURCE}.events", type="topic", durable=True)
    envelope = {"event_id": str(uuid.uuid4()), "event_type": "thing_happened", "tenant_id": TENANT,
                "occurred_at": "2026-11-24T08:00:00+00:00", "schema_version": 1, "payload": {}}
    with Connection(sink["config"]["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(envelope, exchange=exchange, routing_key="thing_happened", declare=[exchange],
                                serializer="json")

    def dead_letters():
        with Connection(sink["config"]["AMQP_URI"]) as conn:
            return conn.SimpleQueue("sink.dlq").qsize()
    assert wait_for(lambda: dead_letters() == 1)
    assert count(sink["engine"], sink["applied"]) == 0

    sink["broken"]["on"] = False  # the fix is deployed
    assert replay(sink["config"]["AMQP_URI"], "sink") == 1
    assert wait_for(lambda: count(sink["engine"], sink["applied"]) == 1)
    assert dead_letters() == 0


def test_confirmed_publisher_streams_a_batch_and_reports_unroutable_events(rabbit_config):
    from estatedesk_common.publishing import ConfirmedPublisher

    exchange = Exchange(f"{SOURCE}.events", type="topic", durable=True)
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        Queue("pub-test", exchange=exchange, routing_key="thing_happened", durable=True)(conn.default_channel).declare()
    publisher = ConfirmedPublisher(rabbit_config["AMQP_URI"], SOURCE)
    body = lambda event_type: {"event_id": str(uuid.uuid4()), "event_type": event_type, "tenant_id": TENANT,
                               "occurred_at": "2026-11-24T08:00:00+00:00", "schema_version": 1, "payload": {}}
    first = [body("thing_happened"), body("nobody_listens"), body("thing_happened")]
    errors = publisher.publish_batch(first)
    assert errors[0] is None and errors[2] is None and "unroutable" in errors[1]
    assert publisher.publish_batch([body("thing_happened") for _ in range(50)]) == [None] * 50  # same channel
    publisher.close()
    with Connection(rabbit_config["AMQP_URI"]) as conn:
        queue = conn.SimpleQueue("pub-test")
        assert queue.qsize() == 52
        message = queue.get(timeout=5)
        assert message.headers["nameko.tenant_id"] == TENANT and message.properties["message_id"] == first[0]["event_id"]
        assert message.properties["delivery_mode"] == 2
        message.ack()
