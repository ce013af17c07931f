"""The first two hops on a real broker: intake RPC -> outbox -> complaint_received -> workflow -> case_opened."""
import time

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config

import intake.seed
import workflow.seed
from intake.service import IntakeService
from workflow.service import WorkflowService
from estatedesk_common.db import make_engine

import os

pytestmark = pytest.mark.integration
INTAKE_MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(intake.seed.__file__), "..", "..", "migrations"))


@pytest.fixture
def running(container_factory, rabbit_config, workflow_db):
    with migrated_test_db("intake", INTAKE_MIGRATIONS) as intake_db:
        for target, seed in ((intake_db, intake.seed.seed_demo), (workflow_db, workflow.seed.seed_demo)):
            engine = make_engine(target)
            seed(engine)
            engine.dispose()
        # a listener queue on case_opened, declared before anything is published
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            Queue("test-case-opened", Exchange("workflow.events", type="topic", durable=True),
                  routing_key="case_opened", durable=True)(conn.default_channel).declare()
        for cls, target in ((WorkflowService, workflow_db), (IntakeService, intake_db)):
            container_factory(cls, service_config(rabbit_config, target)).start()
        yield rabbit_config


def test_a_complaint_becomes_a_case_with_a_deadline(running):
    context = {"tenant_id": DEMO_TENANT["id"], "user_id": "agent-1", "request_id": "req-42"}
    with ServiceRpcProxy("intake", running, context_data=context, timeout=10) as intake_rpc:
        complaint = intake_rpc.register_complaint({
            "estate": "DEMO-RES", "channel": "web", "description": "地下车库漏水",
            "complainant": {"name": "陈", "phone": "13600136000"}})
    with Connection(running["AMQP_URI"]) as conn:
        queue = conn.SimpleQueue("test-case-opened")
        message = queue.get(timeout=15)
        body = message.payload
        message.ack()
        queue.close()
    assert body["event_type"] == "case_opened" and body["tenant_id"] == DEMO_TENANT["id"]
    assert body["request_id"] == "req-42"  # the request id travels across services
    assert body["payload"]["reference"] == complaint["reference"]
    with ServiceRpcProxy("workflow", running, context_data=context, timeout=10) as workflow_rpc:
        case = workflow_rpc.get_case(complaint["id"])
        assert case["deadlines"][0]["stage"] == "first_contact"
    with ServiceRpcProxy("workflow", running, timeout=10) as anonymous:  # no tenant: fail closed
        with pytest.raises(Exception, match="tenant_required"):
            anonymous.get_case(complaint["id"])
