"""``register_complaint`` with files and ``get_attachment`` on a real nameko container and broker: the estate
scope comes from the roles in the call context, the tenant from the context only."""
import base64
import os
import uuid

import pytest
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config

from intake.seed import seed_demo
from intake.service import IntakeService

pytestmark = pytest.mark.integration

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def context(*roles, tenant=DEMO_TENANT["id"]):
    return {"tenant_id": tenant, "user_id": "agent-9", "request_id": f"req-{uuid.uuid4().hex[:8]}",
            "roles": [list(r) for r in roles]}


@pytest.fixture
def running(container_factory, rabbit_config):
    with migrated_test_db("intake", MIGRATIONS) as target:
        engine = make_engine(target)
        seed_demo(engine)
        engine.dispose()
        container_factory(IntakeService, service_config(rabbit_config, target)).start()
        yield rabbit_config


def test_intake_attachments_over_rpc_respect_tenant_and_estate(running):
    res_agent = context(("agent", "DEMO-RES"))
    with ServiceRpcProxy("intake", running, context_data=res_agent, timeout=15) as intake:
        created = intake.register_complaint({
            "estate": "DEMO-RES", "channel": "complaint_box", "description": "投诉箱来信：地下车库照明不足",
            "complainant": {"name": "吴", "phone": "13500135000"},
            "attachments": [{"filename": "box-slip.pdf", "content_type": "application/pdf",
                             "content": base64.b64encode(PDF).decode("ascii")}]})
        [listed] = created["attachments"]
        got = intake.get_attachment(created["id"], listed["id"])
        assert base64.b64decode(got["content"]) == PDF and got["source"] == "complaint_box"
        assert intake.get_complaint(created["id"])["attachments"] == [listed]
        with pytest.raises(Exception, match="validation_failed"):
            intake.register_complaint({"estate": "DEMO-RES", "description": "x",
                                       "complainant": {"phone": "13500135000"},
                                       "attachments": [{"filename": "a.pdf", "content_type": "application/pdf",
                                                        "content": base64.b64encode(b"<html>").decode()}]})
    for ctx in (context(("agent", "DEMO-OFFICE")), context(("agent", "DEMO-RES"), tenant=str(uuid.uuid4()))):
        with ServiceRpcProxy("intake", running, context_data=ctx, timeout=15) as intake:
            with pytest.raises(Exception, match="complaint_not_found"):
                intake.get_attachment(created["id"], listed["id"])
