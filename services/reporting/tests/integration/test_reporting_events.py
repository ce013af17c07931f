"""reporting in a real nameko container on a real RabbitMQ: idempotent consumption, dead letters, RPC."""
import time
import uuid

import pytest
from kombu import Connection, Exchange
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import parse_remote
from estatedesk_common.events import dead_letter_queue

pytestmark = pytest.mark.integration

ESTATE = {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"}


def complaint_received(tenant_id, event_id=None, received_at="2026-11-24T02:00:00+00:00", channel="hotline"):
    payload = {"complaint_id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "estate": ESTATE,
               "channel": channel, "description": "电梯停运", "complainant": {"phone": "13800000000"},
               "category": None, "severity": None, "urgent": False, "received_at": received_at,
               "received_by": None, "schema_version": 1}
    return Envelope(event_type="complaint_received", tenant_id=tenant_id, payload=payload,
                    event_id=event_id or str(uuid.uuid4())).to_dict()


def calls(n):
    """entrypoint_waiter callback: stop waiting after the n-th worker finished."""
    seen = []

    def callback(worker_ctx, result, exc_info):
        seen.append(exc_info)
        return len(seen) >= n

    return callback


def rpc(config, tenant_id=None, roles=(("head_office", None),)):
    context = {"tenant_id": tenant_id, "roles": [list(r) for r in roles]} if tenant_id else {}
    return ServiceRpcProxy("reporting", config, context_data=context, timeout=10)


def dead_letters(amqp_uri, expected, timeout=10):
    """Take ``expected`` messages off reporting.dlq (waiting up to ``timeout`` seconds)."""
    found, deadline = [], time.monotonic() + timeout
    with Connection(amqp_uri) as conn:
        queue = dead_letter_queue("reporting")(conn.default_channel)
        while len(found) < expected and time.monotonic() < deadline:
            message = queue.get(no_ack=False, accept=["json"])
            if message is None:
                time.sleep(0.1)
                continue
            message.ack()
            found.append(message)
    return found


def test_redelivered_event_counts_once(reporting, service_config):
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    first = complaint_received(tenant)
    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20, callback=calls(3)):
        dispatch("intake", "complaint_received", first)
        dispatch("intake", "complaint_received", first)
        dispatch("intake", "complaint_received", complaint_received(tenant, channel="wechat"))

    with rpc(service_config, tenant) as reporting_rpc:
        counts = reporting_rpc.complaint_counts("2026-11-24", "2026-11-24")
        assert counts == {"total": 2, "rows": [
            {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "hotline", "count": 1},
            {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "wechat", "count": 1},
        ]}
    with rpc(service_config, str(uuid.uuid4())) as other_tenant:
        assert other_tenant.complaint_counts() == {"total": 0, "rows": []}


def test_poison_message_goes_to_the_dlq_and_later_messages_still_flow(reporting, service_config):
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20):
        dispatch("intake", "complaint_received", {"complaint_id": "not an envelope"})
        dispatch("intake", "complaint_received", complaint_received(tenant))

    (poison,) = dead_letters(service_config["AMQP_URI"], 1)
    assert poison.payload == {"complaint_id": "not an envelope"}
    assert poison.headers["x-estatedesk-reason"].startswith("EnvelopeError: missing fields")
    assert poison.headers["x-original-exchange"] == "intake.events"
    assert poison.headers["x-original-routing-key"] == "complaint_received"

    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20):
        dispatch("intake", "complaint_received", complaint_received(tenant))
    with rpc(service_config, tenant) as reporting_rpc:
        assert reporting_rpc.complaint_counts()["total"] == 2


def test_unusable_payload_and_undecodable_body_are_dead_lettered(reporting, service_config):
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    bad_zone = complaint_received(tenant)
    bad_zone["payload"]["estate"] = dict(ESTATE, timezone="Mars/Olympus")
    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20):
        dispatch("intake", "complaint_received", bad_zone)
    with Connection(service_config["AMQP_URI"], transport_options={"confirm_publish": True}) as conn:
        conn.Producer().publish(b"\xff{not json", exchange=Exchange("intake.events", type="topic", passive=True),
                                routing_key="complaint_received", content_type="application/json",
                                content_encoding="binary")

    letters = dead_letters(service_config["AMQP_URI"], 2)
    assert len(letters) == 2
    by_kind = {"x-death" in (m.headers or {}): m for m in letters}
    assert by_kind[False].headers["x-estatedesk-reason"].startswith("reporting.domain.rollup.InvalidEvent")
    assert by_kind[True].body == b"\xff{not json"  # rejected by the consumer, routed by the queue's DLX

    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20):
        dispatch("intake", "complaint_received", complaint_received(tenant))
    with rpc(service_config, tenant) as reporting_rpc:
        assert reporting_rpc.complaint_counts()["total"] == 1


def test_rpc_errors_and_health(reporting, service_config):
    with rpc(service_config, str(uuid.uuid4())) as reporting_rpc:
        assert reporting_rpc.health() == {"status": "ok", "service": "reporting"}
        with pytest.raises(RemoteError) as info:
            reporting_rpc.complaint_counts("2025-01-01", "2026-06-30")
        assert info.value.exc_type == "ValidationFailed"
        assert parse_remote(info.value.value)["details"] == {"field": "to"}
    with rpc(service_config) as no_tenant:
        with pytest.raises(RemoteError) as info:
            no_tenant.complaint_counts()
        assert info.value.exc_type == "TenantRequired"
