"""Event consumption that never silently drops a message.

``reliable_event_handler(source, event_type)`` is nameko's ``event_handler`` with:
- the body checked as an ``Envelope`` (wrong shape or unknown schema version -> dead letter with the reason);
- the envelope's ``tenant_id`` and ``request_id`` put into the worker's context data, so the ``Tenant``
  dependency works for events exactly as for RPC;
- on a handler error: database unavailable -> requeued after a pause (it is not the message's fault);
  anything else -> copied to ``<service>.dlq`` with the reason and original routing, then acked;
- a body that cannot even be decoded is rejected, and the queue's dead-letter exchange routes it to the DLQ;
- at most ``max_workers - RPC_RESERVED_WORKERS`` events are handled at once, so a backlog of events never takes
  every worker (and database connection) from the service's RPC: health and reads keep answering while it
  catches up (the 10,000-complaint fault run: reporting's health timed out for minutes, docs/reliability.md);
- the broker going away between the handler's commit and the ack (RabbitMQ restarting under load) is logged,
  not raised: the broker redelivers the unacked message after the reconnect and the inbox makes it a no-op.
  (nameko catches only amqp's ConnectionError there; a socket's ConnectionResetError killed the whole service
  container: found by the fault run, docs/reliability.md.)

The handler method receives the ``Envelope``; it records ``event_id`` in its inbox (``uow.claim``).

``archive_event_handler(source)`` is the same consumer bound with routing key ``#`` on ``<source>.events``: every
event the source publishes, of any type and schema version (reporting's event archive). Because its queue exists,
no event of that source is unroutable (the relay publishes with ``mandatory``).
"""
from __future__ import annotations

import logging
import traceback
from functools import partial

import amqp.exceptions
import eventlet
from kombu import Exchange, Queue
from nameko.amqp.publish import Publisher, get_connection
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.events import EventHandler
from nameko.messaging import QueueConsumer
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from .envelope import Envelope, EnvelopeError
from .observability import DEAD_LETTERED, EVENTS_CONSUMED

log = logging.getLogger(__name__)

DLX = Exchange("estatedesk.dlx", type="direct", durable=True)
RETRY_PAUSE_SECONDS = 1.0
RPC_RESERVED_WORKERS = 4  # worker slots event handlers leave to the service's RPC entrypoints
# the connection to the broker is gone: whatever was not acked is redelivered after the reconnect
CONNECTION_LOST = (OSError, amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError)


def dead_letter_queue(service_name: str) -> Queue:
    return Queue(f"{service_name}.dlq", exchange=DLX, routing_key=service_name, durable=True)


def declare_dead_letter_queue(amqp_uri: str, service_name: str) -> None:
    with get_connection(amqp_uri) as conn:
        dead_letter_queue(service_name)(conn.default_channel).declare()


class ReliableQueueConsumer(QueueConsumer):
    """nameko's queue consumer, but an undecodable body is rejected (to the DLX) instead of crashing it, and the
    events it hands to workers are bounded by ``event_slots`` (one per container, shared by its event handlers)."""

    def setup(self):
        super().setup()
        self.event_slots = eventlet.semaphore.Semaphore(max(1, self.container.max_workers - RPC_RESERVED_WORKERS))

    def get_consumers(self, consumer_cls, channel):
        consumers = super().get_consumers(consumer_cls, channel)
        for consumer in consumers:
            consumer.on_decode_error = self._reject_undecodable
        return consumers

    def _reject_undecodable(self, message, exc):
        log.error("undecodable message dead-lettered: %s", exc)
        _settle(lambda m: m.reject(requeue=False), message, "reject")

    def ack_message(self, message):
        _settle(super().ack_message, message, "ack")

    def requeue_message(self, message):
        _settle(super().requeue_message, message, "requeue")


def _settle(action, message, what: str) -> None:
    try:
        action(message)
    except CONNECTION_LOST as exc:
        log.warning("broker connection lost before the %s (%s: %s); the broker redelivers the message",
                    what, type(exc).__name__, exc)


def _transient(exc: BaseException, redelivered: bool) -> bool:
    if isinstance(exc, IntegrityError):
        return not redelivered  # a concurrent twin committed first; on redelivery the inbox says so
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


class ReliableEventHandler(EventHandler):
    queue_consumer = ReliableQueueConsumer()

    def __init__(self, source_service, event_type, versions=(1,), **kwargs):
        kwargs.setdefault("reliable_delivery", True)
        super().__init__(source_service, event_type, **kwargs)
        self.versions = tuple(versions)

    def setup(self):
        super().setup()
        service = self.container.service_name
        self.queue.queue_arguments = {"x-dead-letter-exchange": DLX.name, "x-dead-letter-routing-key": service}
        amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.dlq = dead_letter_queue(service)
        declare_dead_letter_queue(amqp_uri, service)
        self.dlq_publisher = Publisher(amqp_uri, use_confirms=True, exchange=DLX, declare=[DLX, self.dlq])

    def parse(self, body) -> Envelope:
        return Envelope.from_dict(body, self.event_type, self.versions)

    def handle_message(self, body, message):
        try:
            envelope = self.parse(body)
        except EnvelopeError as exc:
            self._dead_letter(body, message, f"EnvelopeError: {exc}")
            return
        context_data = self.unpack_message_headers(message)
        context_data["tenant_id"] = envelope.tenant_id
        if envelope.request_id:
            context_data["request_id"] = envelope.request_id
        handle_result = partial(self.handle_result, message)
        self.queue_consumer.event_slots.acquire()  # blocks this consumer (not RPC) while the slots are taken
        try:
            self.container.spawn_worker(self, (envelope,), {}, context_data=context_data,
                                        handle_result=handle_result)
        except BaseException:
            self.queue_consumer.event_slots.release()
            raise

    def handle_result(self, message, worker_ctx, result=None, exc_info=None):
        try:
            return self._settle_result(message, result, exc_info)
        finally:
            self.queue_consumer.event_slots.release()

    def _settle_result(self, message, result, exc_info):
        service = self.container.service_name
        if exc_info is None:
            EVENTS_CONSUMED.labels(service, self.event_type, "ok").inc()
            self.queue_consumer.ack_message(message)
            return result, exc_info
        exc = exc_info[1]
        if _transient(exc, bool(message.delivery_info.get("redelivered"))):
            EVENTS_CONSUMED.labels(service, self.event_type, "retry").inc()
            log.warning("transient failure handling %s, requeue: %s", self.event_type, exc)
            eventlet.sleep(RETRY_PAUSE_SECONDS)
            self.queue_consumer.requeue_message(message)
            return result, exc_info
        reason = "".join(traceback.format_exception_only(type(exc), exc)).strip()
        self._dead_letter(message.payload, message, reason)
        return result, exc_info

    def _dead_letter(self, body, message, reason: str) -> None:
        service = self.container.service_name
        headers = dict(message.headers or {})
        headers.update({
            "x-estatedesk-reason": reason[:4000],
            "x-estatedesk-consumer": f"{service}.{self.method_name}",
            "x-original-exchange": message.delivery_info.get("exchange"),
            "x-original-routing-key": message.delivery_info.get("routing_key"),
        })
        try:
            self.dlq_publisher.publish(body, routing_key=service, headers=headers, serializer="json")
        except Exception:
            log.exception("could not dead-letter; requeueing instead")
            self.queue_consumer.requeue_message(message)
            return
        DEAD_LETTERED.labels(service, self.event_type).inc()
        EVENTS_CONSUMED.labels(service, self.event_type, "dead_lettered").inc()
        log.error("dead-lettered %s to %s: %s", self.event_type, self.dlq.name, reason)
        self.queue_consumer.ack_message(message)


reliable_event_handler = ReliableEventHandler.decorator


class _AnyVersion:
    """``versions`` for the archive: any positive integer schema version."""

    def __contains__(self, version) -> bool:
        return isinstance(version, int) and not isinstance(version, bool) and version >= 1

    def __iter__(self):
        return iter(["any positive integer"])


class ArchiveEventHandler(ReliableEventHandler):
    """Every event of ``source_service`` (routing key ``#``); the same envelope check, DLQ and requeue. The queue
    is ``evt-<source>-all--<service>.<method>``; metrics label its event type ``#``."""

    def __init__(self, source_service, **kwargs):
        super().__init__(source_service, "#", **kwargs)
        self.versions = _AnyVersion()

    def setup(self):
        super().setup()
        self.queue.name = f"evt-{self.source_service}-all--{self.container.service_name}.{self.method_name}"

    def parse(self, body) -> Envelope:
        return Envelope.from_dict(body, None, self.versions)  # any event_type


archive_event_handler = ArchiveEventHandler.decorator
