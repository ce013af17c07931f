"""Operator tool for dead-letter queues: ``estatedesk-dlq list|replay|purge SERVICE``.

``list`` shows each message's reason and original routing without consuming it; ``replay`` republishes each
message to its original exchange and routing key (with confirms) and only then removes it from the DLQ.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from kombu import Connection, Exchange

from .events import dead_letter_queue


def _drain(conn, service):
    queue = dead_letter_queue(service)(conn.default_channel)
    queue.declare()
    while True:
        message = queue.get(no_ack=False, accept=["json"])
        if message is None:
            return
        yield message


def _original(message):
    headers = message.headers or {}
    exchange = headers.get("x-original-exchange")
    routing_key = headers.get("x-original-routing-key")
    deaths = headers.get("x-death") or []
    if not exchange and deaths:  # rejected by the broker's dead-lettering
        exchange, routing_key = deaths[0].get("exchange"), (deaths[0].get("routing-keys") or [None])[0]
    return exchange, routing_key


def list_messages(amqp_uri, service, out=sys.stdout) -> int:
    count = 0
    with Connection(amqp_uri) as conn:
        held = list(_drain(conn, service))
        for message in held:
            exchange, routing_key = _original(message)
            reason = (message.headers or {}).get("x-estatedesk-reason") or "rejected by broker (undecodable)"
            body = message.body.decode("utf-8", "replace") if isinstance(message.body, bytes) else message.body
            out.write(json.dumps({"exchange": exchange, "routing_key": routing_key, "reason": reason,
                                  "body": body[:2000]}, ensure_ascii=False))
            out.write("\n")
            count += 1
        for message in held:
            message.requeue()
    return count


def replay(amqp_uri, service) -> int:
    count = 0
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as conn:
        producer = conn.Producer()
        for message in _drain(conn, service):
            exchange, routing_key = _original(message)
            headers = {k: v for k, v in (message.headers or {}).items() if not k.startswith("x-")}
            producer.publish(message.body, exchange=Exchange(exchange, type="topic", durable=True, passive=True),
                             routing_key=routing_key, headers=headers, content_type=message.content_type,
                             content_encoding=message.content_encoding, delivery_mode=2, mandatory=True)
            message.ack()
            count += 1
    return count


def purge(amqp_uri, service) -> int:
    with Connection(amqp_uri) as conn:
        return dead_letter_queue(service)(conn.default_channel).purge() or 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="estatedesk-dlq", description=__doc__)
    parser.add_argument("action", choices=["list", "replay", "purge"])
    parser.add_argument("service", help="consuming service: intake, workflow, notify, reporting")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", "amqp://guest:guest@127.0.0.1:5672/"))
    args = parser.parse_args(argv)
    action = {"list": list_messages, "replay": replay, "purge": purge}[args.action]
    count = action(args.amqp_uri, args.service)
    print(f"{args.action}: {count} message(s) in {args.service}.dlq", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
