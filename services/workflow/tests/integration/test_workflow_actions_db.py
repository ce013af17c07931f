"""Case actions on a real database: deadlines met, timers cancelled, versions, events, tenant isolation."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Conflict, NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, escalation, handlers
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


@pytest.fixture
def opened(workflow_engine, clock):
    seed_demo(workflow_engine)
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    return workflow_engine, env.payload["complaint_id"]


def act(engine, clock, case_id, action, data=None, version=None, tenant=TENANT):
    return actions.act(case_id, action, data, tenant, "agent-1", UnitOfWork(engine, reliability, clock), version)


def events(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def test_contact_meets_the_deadline_and_its_timers_never_fire(opened, clock):
    engine, case_id = opened
    result = act(engine, clock, case_id, "contact", {"note": "已电话联系业主"}, version=1)
    assert result["status"] == "contacted" and result["version"] == 2 and result["stages_met"] == ["first_contact"]
    case = handlers.get_case(case_id, TENANT, engine)
    assert [d["met_at"] for d in case["deadlines"] if d["stage"] == "first_contact"] != [None]
    assert case["timeline"][-1]["kind"] == "case_contacted" and case["timeline"][-1]["actor"] == "agent-1"
    assert events(engine, "case_contacted")[0]["stages_met"] == ["first_contact"]
    later = UnitOfWork(engine, reliability, type(clock)(clock.now() + dt.timedelta(hours=2)))
    timers.fire_due(lambda: later, timer_table, escalation.on_timer)
    assert [e for e in events(engine, "sla_breached") if e["stage"] == "first_contact"] == []


def test_stale_version_is_a_conflict_and_changes_nothing(opened, clock):
    engine, case_id = opened
    act(engine, clock, case_id, "assign", {"assignee": "工程部"}, version=1)
    with pytest.raises(Conflict) as err:
        act(engine, clock, case_id, "assign", {"assignee": "保洁部"}, version=1)
    assert err.value.code == "version_conflict" and err.value.details["current_version"] == 2
    assert handlers.get_case(case_id, TENANT, engine)["assignee"] == "工程部"


def test_resolve_with_a_big_loss_flags_a_nonconformity_and_stops_all_timers(opened, clock):
    engine, case_id = opened
    act(engine, clock, case_id, "resolve", {"cause": "staff_fault_with_loss", "remedy": "赔偿并返工",
                                            "loss_amount": 800})
    [event] = events(engine, "case_resolved")
    assert event["nonconformity_required"] is True and event["cause"] == "staff_fault_with_loss"
    case = handlers.get_case(case_id, TENANT, engine)
    assert case["status"] == "resolved" and case["loss_amount"] == 800 and "不合格品" in case["timeline"][-1]["text"]
    with engine.connect() as conn:
        pending = conn.execute(select(timer_table).where(timer_table.c.subject_id == case_id,
                                                         timer_table.c.cancelled_at.is_(None),
                                                         timer_table.c.fired_at.is_(None))).all()
    assert pending == []
    with pytest.raises(ValidationFailed):
        act(engine, clock, case_id, "contact")
    assert act(engine, clock, case_id, "accept")["status"] == "closed"


def test_another_tenant_cannot_act_on_the_case(opened, clock):
    engine, case_id = opened
    with pytest.raises(NotFound):
        act(engine, clock, case_id, "contact", tenant=str(uuid.uuid4()))
