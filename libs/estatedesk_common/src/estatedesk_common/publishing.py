"""Publishing events with streaming publisher confirms.

kombu's ``confirm_publish`` waits for the broker's ack after every message: one round trip each. The relay
instead puts the channel in confirm mode, publishes a whole batch (``mandatory``, persistent, ``message_id``
= ``event_id``) and then waits once until the broker has acked or nacked every delivery tag, RabbitMQ's
recommended way to get both throughput and the guarantee. An unroutable event comes back as ``basic.return``
(before its ack) and is reported as failed, so its outbox row stays and is retried; so is everything in a
batch when the connection breaks. ``bench/outbox.py`` measures it against per-message confirms.

One instance is used by one green thread (the relay loop); it reconnects after any error.
"""
from __future__ import annotations

import logging
import time

from kombu import Connection, Producer
from nameko.standalone.events import get_event_exchange

log = logging.getLogger(__name__)


class ConfirmedPublisher:
    def __init__(self, amqp_uri: str, service_name: str, config: dict | None = None, confirm_timeout: float = 15):
        self.amqp_uri = amqp_uri
        self.exchange = get_event_exchange(service_name, config or {})
        self.confirm_timeout = confirm_timeout
        self._conn = None

    def __call__(self, body: dict) -> None:
        """Publish one envelope; raise if the broker did not take it."""
        [error] = self.publish_batch([body])
        if error:
            raise RuntimeError(error)

    def publish_batch(self, bodies: list[dict]) -> list[str | None]:
        """Publish envelopes; for each, None when the broker confirmed it, else why not."""
        if not bodies:
            return []
        try:
            return self._publish(bodies)
        except Exception as exc:  # connection lost, timeout: nothing in this batch is known to be safe
            log.warning("batch publish failed, reconnecting: %s", exc)
            self.close()
            return [f"{type(exc).__name__}: {exc}"] * len(bodies)

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.release()
            except Exception:  # pragma: no cover - closing a broken connection
                pass
        self._conn = None

    def _channel(self):
        if self._conn is None:
            conn = Connection(self.amqp_uri)
            conn.connect()
            channel = conn.channel()
            channel.confirm_select()
            channel.events["basic_ack"].add(self._on_ack)
            channel.events["basic_nack"].add(self._on_nack)
            channel.events["basic_return"].add(self._on_return)
            self.exchange(channel).declare()
            self._conn, self._producer = conn, Producer(channel, serializer="json")
            self._next_tag = self._batch_first = 1
        return self._conn

    def _publish(self, bodies):
        conn = self._channel()
        self._acked, self._nacked, self._returned = set(), set(), set()
        first = self._batch_first = self._next_tag
        for body in bodies:
            headers = {"nameko.tenant_id": body.get("tenant_id")}
            if body.get("request_id"):
                headers["nameko.request_id"] = body["request_id"]
            self._producer.publish(body, exchange=self.exchange, routing_key=body["event_type"], mandatory=True,
                                   delivery_mode=2, headers=headers, message_id=body["event_id"])
        self._next_tag += len(bodies)
        tags = range(first, self._next_tag)
        deadline = time.monotonic() + self.confirm_timeout
        while not all(t in self._acked or t in self._nacked for t in tags):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no publisher confirm within {self.confirm_timeout}s")
            conn.drain_events(timeout=remaining)
        return [self._outcome(tag, body) for tag, body in zip(tags, bodies)]

    def _outcome(self, tag, body) -> str | None:
        if body["event_id"] in self._returned:
            return f"unroutable: no queue bound for {self.exchange.name} {body['event_type']}"
        if tag in self._nacked:
            return "nacked by the broker"
        return None

    def _confirm(self, into: set, delivery_tag: int, multiple: bool) -> None:
        """``multiple`` confirms every tag up to ``delivery_tag``; earlier batches are settled already."""
        into.update(range(self._batch_first, delivery_tag + 1) if multiple else (delivery_tag,))

    def _on_ack(self, delivery_tag, multiple):
        self._confirm(self._acked, delivery_tag, multiple)

    def _on_nack(self, delivery_tag, multiple):
        self._confirm(self._nacked, delivery_tag, multiple)

    def _on_return(self, exc, exchange, routing_key, message):
        self._returned.add(message.properties.get("message_id"))
