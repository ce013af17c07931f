"""The classification RPCs on a real nameko container and broker: suggest, register, correct, and the
``complaint_reclassified`` event relayed from the outbox."""
import os

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config

from intake.seed import seed_demo
from intake.service import IntakeService

pytestmark = pytest.mark.integration

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))
CONTEXT = {"tenant_id": DEMO_TENANT["id"], "user_id": "agent-7", "request_id": "req-cls-1"}


@pytest.fixture
def running(container_factory, rabbit_config):
    with migrated_test_db("intake", MIGRATIONS) as target:
        engine = make_engine(target)
        seed_demo(engine)
        engine.dispose()
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            Queue("test-reclassified", Exchange("intake.events", type="topic", durable=True),
                  routing_key="complaint_reclassified", durable=True)(conn.default_channel).declare()
        container_factory(IntakeService, service_config(rabbit_config, target)).start()
        yield rabbit_config


def test_suggest_register_and_correct_over_rpc(running):
    with ServiceRpcProxy("intake", running, context_data=CONTEXT, timeout=15) as intake:
        suggestion = intake.suggest_classification("小区门口的垃圾桶满了三天没人清理")
        assert suggestion["category"] == "sanitation" and len(suggestion["categories"]) == 3
        created = intake.register_complaint({
            "estate": "DEMO-RES", "channel": "hotline", "description": "小区门口的垃圾桶满了三天没人清理",
            "complainant": {"name": "陈", "phone": "13600136000"}})
        assert (created["category"], created["category_source"]) == ("sanitation", "auto")
        corrected = intake.correct_classification(created["id"], "customer_service", severity="moderate")
        assert corrected["category"] == "customer_service" and corrected["previous"]["category"] == "sanitation"
        with pytest.raises(Exception, match="validation_failed"):
            intake.correct_classification(created["id"], "lift")
    with Connection(running["AMQP_URI"]) as conn:
        queue = conn.SimpleQueue("test-reclassified")
        message = queue.get(timeout=15)
        body = message.payload
        message.ack()
        queue.close()
    assert body["event_type"] == "complaint_reclassified" and body["request_id"] == "req-cls-1"
    assert body["payload"]["old"]["category"] == "sanitation"
    assert body["payload"]["new"]["category"] == "customer_service"
    assert body["payload"]["corrected_by"] == "agent-7"
