"""Broker and database helpers for notify's integration tests (module name unique across the repository)."""
import uuid

from kombu import Queue
from nameko.amqp.publish import get_connection
from nameko.standalone.events import event_dispatcher, get_event_exchange
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import select

from notify.tables import messages


def rows(engine, channel=None):
    q = select(messages) if channel is None else select(messages).where(messages.c.channel == channel)
    with engine.connect() as conn:
        return conn.execute(q).mappings().all()


def capture_events(config, service="notify"):
    """A queue bound to ``<service>.events`` that collects every event the service publishes."""
    queue = Queue(f"test-{uuid.uuid4().hex[:8]}", exchange=get_event_exchange(service, config), routing_key="#",
                  auto_delete=False, durable=False)
    with get_connection(config["AMQP_URI"]) as conn:
        queue(conn.default_channel).declare()
    return queue


def drain(config, queue):
    bodies = []
    with get_connection(config["AMQP_URI"]) as conn:
        bound = queue(conn.default_channel)
        while (message := bound.get(no_ack=True, accept=["json"])) is not None:
            bodies.append(message.decode())
    return bodies


def dispatch(container, config, body):
    with entrypoint_waiter(container, "on_case_opened", timeout=20):
        event_dispatcher(config)("workflow", "case_opened", body)
