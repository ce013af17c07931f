"""Callbacks in a real notify container on RabbitMQ and a real database (SQLite or TEST_DATABASE_URL):
``case_resolved`` -> a callback (once, even when redelivered); claim refused to the resolver; a dissatisfied
answer goes out as ``callback_dissatisfied`` on the broker; another tenant sees nothing."""
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import parse_remote
from notify.service import NotifyService
from notify_helpers import capture_events, drain

pytestmark = pytest.mark.integration


def _rpc(config, tenant, user, roles=(("cs_supervisor", "DEMO-RES"),)):
    return ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant, "user_id": user,
                                                           "roles": [list(r) for r in roles]}, timeout=20)


def test_callback_loop_on_the_broker(container_factory, notify_config, wait_until):
    events = capture_events(notify_config)
    container = container_factory(NotifyService, notify_config)
    container.start()
    tenant, complaint = str(uuid.uuid4()), str(uuid.uuid4())
    body = Envelope(event_type="case_resolved", tenant_id=tenant, payload={
        "case_id": complaint, "complaint_id": complaint, "reference": "TS20261124-CB0001", "estate_code": "DEMO-RES",
        "by": "fixer", "cause": "facility_fault", "remedy": "换了门机", "at": "2026-11-24T06:00:00+00:00"}).to_dict()
    for _ in range(2):  # redelivered: still one callback
        with entrypoint_waiter(container, "on_case_resolved", timeout=20):
            event_dispatcher(notify_config)("workflow", "case_resolved", body)

    with _rpc(notify_config, tenant, "cs-1") as rpc:
        [callback] = rpc.list_callbacks()["items"]
        assert callback["status"] == "open" and callback["due_at"] == "2026-11-25T06:00:00+00:00"
    with _rpc(notify_config, tenant, "fixer") as rpc, pytest.raises(RemoteError) as err:
        rpc.claim_callback(callback["id"])
    assert parse_remote(err.value.value)["error"] == "resolver_cannot_claim"
    with _rpc(notify_config, str(uuid.uuid4()), "cs-1") as rpc:
        assert rpc.list_callbacks()["items"] == []
    with _rpc(notify_config, tenant, "cs-1") as rpc:
        assert rpc.claim_callback(callback["id"])["status"] == "claimed"
        with pytest.raises(RemoteError) as err:
            rpc.log_callback_attempt(callback["id"], "reached")
        assert parse_remote(err.value.value)["details"]["field"] == "satisfaction"
        done = rpc.log_callback_attempt(callback["id"], "reached", "dissatisfied", "还是漏水", True, False)
        assert done["status"] == "done"
    [event] = wait_until(lambda: [b for b in drain(notify_config, events)
                                  if b["event_type"] == "callback_dissatisfied"])
    assert event["payload"]["words"] == "还是漏水" and event["payload"]["complaint_id"] == complaint
    assert event["payload"]["by"] == "cs-1" and event["payload"]["escalate"] is False
