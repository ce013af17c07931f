"""Outgoing webhooks against a real HTTP receiver on loopback and a real database (SQLite, or PostgreSQL via
TEST_DATABASE_URL); the last test runs the whole path through a nameko container on RabbitMQ."""
import datetime as dt
import http.server
import json
import threading
import time
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import select

from estatedesk_common.db import SystemClock
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork
from notify import webhooks
from notify.domain import webhooks as rules
from notify.service import NotifyService
from notify.tables import reliability, webhook_deliveries

pytestmark = pytest.mark.integration
ADMIN = [["group_admin", None]]


class Receiver:
    """An HTTP server that records what it gets and answers with the status it is told."""

    def __init__(self):
        self.got, self.status = [], 200
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append((dict(self.headers, Path=self.path), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


class Clock:
    def __init__(self):
        self._now = dt.datetime.now(dt.timezone.utc)

    def now(self):
        return self._now

    def advance(self, **kw):
        self._now += dt.timedelta(**kw)


def uow(engine, clock):
    return UnitOfWork(engine, reliability, clock)


def test_fan_out_once_sign_deliver_retry_fail_and_redeliver(engine, receiver):
    clock, tenant = Clock(), str(uuid.uuid4())
    hook = webhooks.create_endpoint({"url": receiver.url, "events": ["case_opened", "sla_breached"]}, tenant,
                                    "admin-1", ADMIN, uow(engine, clock), allow_http=True)
    webhooks.create_endpoint({"url": receiver.url + "/all"}, tenant, "admin-1", ADMIN, uow(engine, clock), True)
    other = webhooks.create_endpoint({"url": receiver.url + "/other"}, str(uuid.uuid4()), None, ADMIN,
                                     uow(engine, clock), True)
    opened = Envelope(event_type="case_opened", tenant_id=tenant, payload={"reference": "TS20261203-AAAAAA"})
    assert webhooks.fan_out(opened, uow(engine, clock)) == 2      # both of the tenant's, not the other tenant's
    assert webhooks.fan_out(opened, uow(engine, clock)) == 0      # redelivered event: the inbox says done
    resolved = Envelope(event_type="case_resolved", tenant_id=tenant, payload={})
    assert webhooks.fan_out(resolved, uow(engine, clock)) == 1    # only the subscribe-to-all endpoint

    post = webhooks.Poster(allow_private=True)
    assert webhooks.deliver_once(engine, clock, post) == 3 and len(receiver.got) == 3
    headers, body = next((h, b) for h, b in receiver.got
                         if h["X-EstateDesk-Event"] == "case_opened" and h["Path"] == "/hook")
    assert rules.verify(hook["secret"], headers["X-EstateDesk-Signature"], body, now=int(time.time()))
    sent = json.loads(body)
    assert sent["event_id"] == opened.event_id and sent["payload"]["reference"] == "TS20261203-AAAAAA"
    assert webhooks.deliver_once(engine, clock, post) == 0        # nothing due

    receiver.status = 500
    breached = Envelope(event_type="sla_breached", tenant_id=tenant, payload={"stage": "first_contact"})
    webhooks.fan_out(breached, uow(engine, clock))
    for attempt in range(rules.MAX_ATTEMPTS):
        assert webhooks.deliver_once(engine, clock, post) == 2, attempt
        clock.advance(hours=7)
    log = webhooks.list_deliveries(hook["id"], tenant, ADMIN, engine)
    failed = next(d for d in log if d["event_type"] == "sla_breached")
    assert (failed["status"], failed["attempts"], failed["last_status_code"]) == ("failed", rules.MAX_ATTEMPTS, 500)
    assert next(d for d in log if d["event_type"] == "case_opened")["status"] == "delivered"

    receiver.status = 204
    webhooks.redeliver(failed["id"], tenant, ADMIN, uow(engine, clock))
    assert webhooks.deliver_once(engine, clock, post) == 1
    assert webhooks.list_deliveries(hook["id"], tenant, ADMIN, engine)[0]["status"] == "delivered"

    with pytest.raises(webhooks.WebhookNotFound):  # another tenant's webhook is not there
        webhooks.list_deliveries(other["id"], tenant, ADMIN, engine)
    with pytest.raises(webhooks.Forbidden):
        webhooks.list_endpoints(tenant, [["agent", "DEMO-RES"]], engine)


def test_addresses_the_operator_did_not_allow_are_refused_at_delivery(engine, receiver):
    clock, tenant = Clock(), str(uuid.uuid4())
    webhooks.create_endpoint({"url": receiver.url}, tenant, None, ADMIN, uow(engine, clock), allow_http=True)
    webhooks.fan_out(Envelope(event_type="case_closed", tenant_id=tenant, payload={}), uow(engine, clock))
    assert webhooks.deliver_once(engine, clock, webhooks.Poster(allow_private=False)) == 1
    assert receiver.got == []
    with engine.connect() as conn:
        row = conn.execute(select(webhook_deliveries)).mappings().one()
    assert row["status"] == "pending" and "address not allowed: 127.0.0.1" in row["last_error"]
    with pytest.raises(webhooks.ValidationFailed) as err:
        webhooks.create_endpoint({"url": receiver.url}, tenant, None, ADMIN, uow(engine, clock), allow_http=False)
    assert err.value.field == "url"


def test_a_case_event_reaches_the_receiver_through_the_service(container_factory, notify_config, engine, receiver,
                                                               wait_until):
    config = dict(notify_config, WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_POLL_SECONDS=0.2)
    container = container_factory(NotifyService, config)
    container.start()
    tenant = str(uuid.uuid4())
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant, "roles": ADMIN}) as notify:
        hook = notify.create_webhook({"url": receiver.url, "events": ["case_escalated"]})
        assert [h["id"] for h in notify.list_webhooks()] == [hook["id"]] and "secret" not in notify.list_webhooks()[0]
    envelope = Envelope(event_type="case_escalated", tenant_id=tenant, payload={"level": 1, "role": "cs_supervisor"})
    with entrypoint_waiter(container, "webhook_case_escalated", timeout=20):
        event_dispatcher(config)("workflow", "case_escalated", envelope.to_dict())
    wait_until(lambda: receiver.got)
    headers, body = receiver.got[0]
    assert json.loads(body)["payload"]["role"] == "cs_supervisor"
    assert rules.verify(hook["secret"], headers["X-EstateDesk-Signature"], body, now=int(time.time()))
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant, "roles": ADMIN}) as notify:
        wait_until(lambda: notify.list_webhook_deliveries(hook["id"])[0]["status"] == "delivered")
        assert notify.delete_webhook(hook["id"]) == {"id": hook["id"], "active": False}
        assert notify.list_webhooks() == []
