"""Extension approval rungs from the policy (``extensions.approval``) enforced when a request is decided."""
import datetime as dt

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Forbidden
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers, policy_admin
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
AGENT = ("agent-1", [["agent", "DEMO-OFFICE"]])
SUPERVISOR = ("supervisor-1", [["cs_supervisor", "DEMO-OFFICE"]])
MANAGER = ("manager-1", [["site_manager", "DEMO-OFFICE"]])
RUNGS = """extensions:
  approval: [{max: "2wd", role: cs_supervisor}, {max: "5wd", role: site_manager}, {role: head_office}]
"""


@pytest.fixture
def opened(workflow_engine, clock):
    seed_demo(workflow_engine)
    policy_admin.save(UnitOfWork(workflow_engine, reliability, clock), TENANT, "admin-1", "estate:DEMO-OFFICE",
                      RUNGS, directory=[{"code": "DEMO-OFFICE", "region": "EAST"}])
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    return workflow_engine, env.payload["complaint_id"]


def act(engine, clock, case_id, action, data, who):
    user, roles = who
    version = handlers.get_case(case_id, TENANT, engine)["version"]
    return actions.act(case_id, action, data, TENANT, user, UnitOfWork(engine, reliability, clock), version,
                       roles=roles)


def due(engine, case_id):
    case = handlers.get_case(case_id, TENANT, engine)
    return dt.datetime.fromisoformat(next(d for d in case["deadlines"] if d["stage"] == "resolution")["due_at"])


def test_a_supervisor_approves_within_their_rung_and_a_longer_one_needs_the_site_manager(opened, clock):
    engine, case_id = opened
    original = due(engine, case_id)  # Tue 1 Dec 2026 17:30 (5wd from Tue 24 Nov)
    act(engine, clock, case_id, "request_extension",
        {"new_due_at": (original + dt.timedelta(days=1)).isoformat(), "reason": "等待配件"}, AGENT)
    act(engine, clock, case_id, "decide_extension", {"approve": True}, SUPERVISOR)  # 1 working day: theirs
    assert due(engine, case_id) == original + dt.timedelta(days=1)
    longer = original + dt.timedelta(days=6)  # beyond 2wd counted from the original due time
    act(engine, clock, case_id, "request_extension", {"new_due_at": longer.isoformat(), "reason": "业主出差"}, AGENT)
    assert "项目经理" in handlers.get_case(case_id, TENANT, engine)["timeline"][-1]["text"]
    with pytest.raises(Forbidden) as denied:
        act(engine, clock, case_id, "decide_extension", {"approve": True}, SUPERVISOR)
    assert denied.value.code == "extension_needs_higher_approval"
    assert denied.value.details["required_role"] == "site_manager" and denied.value.details["beyond"] == "2wd"
    assert due(engine, case_id) == original + dt.timedelta(days=1)  # nothing moved
    act(engine, clock, case_id, "decide_extension", {"approve": True}, MANAGER)
    assert due(engine, case_id) == longer
