"""The callback loop across services on a real broker: intake -> workflow (case) -> resolve -> notify (callback)
-> "reached, dissatisfied" -> workflow reopens -> resolve again -> a new callback -> "reached, satisfied" ->
workflow closes the case."""
import os
import time

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.utils import find_free_port

import intake.seed
import notify.cli
import workflow.seed
from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config
from intake.service import IntakeService
from notify.service import NotifyService
from workflow.service import WorkflowService

pytestmark = pytest.mark.integration
INTAKE_MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(intake.seed.__file__), "..", "..", "migrations"))
NOTIFY_MIGRATIONS = os.path.abspath(notify.cli.MIGRATIONS)
AGENT = {"tenant_id": DEMO_TENANT["id"], "user_id": "agent-1", "roles": [["agent", "DEMO-RES"]]}
SUPERVISOR = {"tenant_id": DEMO_TENANT["id"], "user_id": "supervisor-1", "roles": [["cs_supervisor", "DEMO-RES"]]}


@pytest.fixture
def running(container_factory, rabbit_config, workflow_db):
    with migrated_test_db("intake", INTAKE_MIGRATIONS) as intake_db, \
            migrated_test_db("notify", NOTIFY_MIGRATIONS) as notify_db:
        for target, seed in ((intake_db, intake.seed.seed_demo), (workflow_db, workflow.seed.seed_demo)):
            engine = make_engine(target)
            seed(engine)
            engine.dispose()
        extra = {"OUTBOX_POLL_SECONDS": 0.2}
        notify_extra = extra | {"SMTP_PORT": find_free_port(), "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}"}
        for cls, target, more in ((WorkflowService, workflow_db, extra), (NotifyService, notify_db, notify_extra),
                                  (IntakeService, intake_db, extra)):
            container_factory(cls, service_config(rabbit_config, target, **more)).start()
        yield rabbit_config


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met")


def test_dissatisfied_reopens_and_satisfied_closes(running):
    with ServiceRpcProxy("intake", running, context_data=AGENT, timeout=10) as intake_rpc:
        complaint = intake_rpc.register_complaint({
            "estate": "DEMO-RES", "channel": "web", "description": "地下车库漏水",
            "complainant": {"name": "陈", "phone": "13600136000"}})
    cid = complaint["id"]
    with ServiceRpcProxy("workflow", running, context_data=AGENT, timeout=10) as wf, \
            ServiceRpcProxy("notify", running, context_data=SUPERVISOR, timeout=10) as nt:
        def case():
            try:
                return wf.get_case(cid)
            except Exception:  # noqa: BLE001 - not opened yet
                return None
        _wait(case)
        wf.act(cid, "resolve", {"cause": "facility_fault", "remedy": "封堵裂缝"})
        [first] = _wait(lambda: nt.list_callbacks(complaint_id=cid)["items"])
        assert first["resolved_by"] == "agent-1"
        nt.log_callback_attempt(first["id"], "reached", "dissatisfied", "下雨还漏")
        reopened = _wait(lambda: (c := case()) and c["status"] == "in_progress" and c)
        assert any("下雨还漏" in e["text"] for e in reopened["timeline"])
        wf.act(cid, "resolve", {"cause": "facility_fault", "remedy": "重做防水层"})
        [second] = _wait(lambda: [c for c in nt.list_callbacks(complaint_id=cid)["items"] if c["round"] == 2])
        nt.log_callback_attempt(second["id"], "reached", "satisfied", "不漏了")
        closed = _wait(lambda: (c := case()) and c["status"] == "closed" and c)
        assert closed["timeline"][-1]["kind"] == "case_closed"
