"""intake -> workflow on quorum queues, the way production runs them (docs/operations.md, "Quorum queues").

Production gives vhost ``estatedesk`` the default queue type ``quorum`` (deploy/k8s/base/rabbitmq.yaml) instead of
declaring ``x-queue-type`` in code. The local broker (Debian's RabbitMQ 3.10) honours a vhost's default queue type
too, so this test makes a fresh vhost with it and runs the real containers there: a complaint becomes a case, a
poison event (wrong envelope: dead-lettered by the handler; undecodable: rejected and routed by the queue's
dead-letter exchange) lands in ``workflow.dlq`` and the operator tool lists it, and the management API reports
every durable, non-exclusive queue the services declared as ``type: quorum``.
"""
import io
import json
import os
import random
import string
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy

import intake.seed
import workflow.seed
from estatedesk_common import deadletter
from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config
from intake.service import IntakeService
from workflow.service import WorkflowService

pytestmark = pytest.mark.integration
INTAKE_MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(intake.seed.__file__), "..", "..", "migrations"))


@pytest.fixture
def quorum_vhost(request, rabbit_manager):
    """A private vhost whose default queue type is quorum (3.10 reads ``defaultqueuetype``, 3.11+
    ``default_queue_type``: both are sent), deleted afterwards."""
    from urllib.parse import urlparse

    uri = urlparse(request.config.getoption("RABBIT_AMQP_URI"))
    vhost = "estatedesk_qq_" + "".join(random.choice(string.ascii_lowercase) for _ in range(8))
    rabbit_manager._put("vhosts", vhost, json={"defaultqueuetype": "quorum", "default_queue_type": "quorum"})
    rabbit_manager.set_vhost_permissions(vhost, uri.username, ".*", ".*", ".*")
    assert rabbit_manager._get("vhosts", vhost)["default_queue_type"] == "quorum"
    yield {"AMQP_URI": f"{uri.scheme}://{uri.netloc}/{vhost}", "vhost": vhost}
    rabbit_manager.delete_vhost(vhost)


@pytest.fixture
def running(quorum_vhost, container_factory, workflow_db):  # the vhost goes after the containers stop
    with migrated_test_db("intake", INTAKE_MIGRATIONS) as intake_db:
        for target, seed in ((intake_db, intake.seed.seed_demo), (workflow_db, workflow.seed.seed_demo)):
            engine = make_engine(target)
            seed(engine)
            engine.dispose()
        with Connection(quorum_vhost["AMQP_URI"]) as conn:  # a listener on case_opened, before anything is published
            Queue("test-case-opened", Exchange("workflow.events", type="topic", durable=True),
                  routing_key="case_opened", durable=True)(conn.default_channel).declare()
        for cls, target in ((WorkflowService, workflow_db), (IntakeService, intake_db)):
            container_factory(cls, service_config({"AMQP_URI": quorum_vhost["AMQP_URI"]}, target)).start()
        yield quorum_vhost


def _dlq_messages(amqp_uri: str, want: int, timeout: float = 15.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        out = io.StringIO()
        deadletter.list_messages(amqp_uri, "workflow", out=out)  # declares workflow.dlq as the operator tool does
        lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
        if len(lines) >= want or time.monotonic() > deadline:
            return lines
        time.sleep(0.3)


def test_complaint_flows_and_poison_is_dead_lettered_on_quorum_queues(running, rabbit_manager):
    amqp_uri = running["AMQP_URI"]
    context = {"tenant_id": DEMO_TENANT["id"], "user_id": "agent-1", "request_id": "req-qq"}
    with ServiceRpcProxy("intake", running, context_data=context, timeout=10) as intake_rpc:
        complaint = intake_rpc.register_complaint({
            "estate": "DEMO-RES", "channel": "web", "description": "楼道灯不亮",
            "complainant": {"name": "林", "phone": "13700137000"}})
    with Connection(amqp_uri) as conn:
        queue = conn.SimpleQueue("test-case-opened")
        message = queue.get(timeout=15)
        body = message.payload
        message.ack()
        queue.close()
    assert body["event_type"] == "case_opened" and body["payload"]["reference"] == complaint["reference"]
    with ServiceRpcProxy("workflow", running, context_data=context, timeout=10) as workflow_rpc:
        case = workflow_rpc.get_case(complaint["id"])
    assert case["deadlines"], case  # the case was opened from complaint_received, with its clock running

    intake_events = Exchange("intake.events", type="topic", durable=True)
    with Connection(amqp_uri) as conn:
        producer = conn.Producer()
        producer.publish({"event_type": "complaint_received", "no": "envelope"}, exchange=intake_events,
                         routing_key="complaint_received", serializer="json", delivery_mode=2)
        producer.publish(b"\xff not json", exchange=intake_events, routing_key="complaint_received",
                         content_type="application/json", content_encoding="binary", delivery_mode=2)
    dead = _dlq_messages(amqp_uri, 2)
    assert len(dead) == 2, dead
    reasons = sorted(m["reason"].split(":")[0] for m in dead)
    assert reasons == ["EnvelopeError", "rejected by broker (undecodable)"], dead
    # both keep their original route (the broker's one read back from x-death), so `replay` can send them back
    assert {(m["exchange"], m["routing_key"]) for m in dead} == {("intake.events", "complaint_received")}, dead

    queues = {q["name"]: q for q in rabbit_manager.get_queues(running["vhost"])}
    for name in ("rpc-intake", "rpc-workflow", "workflow.dlq", "intake.dlq",
                 "evt-intake-complaint_received--workflow.on_complaint_received"):
        assert queues[name]["type"] == "quorum", (name, queues[name]["type"])
    durable_shared = {n: q["type"] for n, q in queues.items() if q["durable"] and not q["exclusive"]
                      and not q["auto_delete"]}
    assert set(durable_shared.values()) == {"quorum"}, durable_shared
    # nameko 2.14.1's RPC reply queues are durable and not exclusive (x-expires only): quorum too, one each
    assert any(name.startswith("rpc.reply-") for name in durable_shared), durable_shared
    assert queues["workflow.dlq"]["arguments"].get("x-queue-type") == "quorum"
