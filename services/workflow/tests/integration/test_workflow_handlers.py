import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import NotFound
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers
from workflow.seed import seed_demo
from workflow.tables import cases, reliability

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


def received(estate="DEMO-OFFICE", channel="web", tenant=TENANT, complaint_id=None):
    return Envelope("complaint_received", tenant, {
        "complaint_id": complaint_id or str(uuid.uuid4()), "reference": "TS20261124-ABC123",
        "estate": {"code": estate, "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": channel, "description": "空调不制冷", "complainant": {"name": "赵", "phone": "13700137000",
                                                                       "email": "", "unit": "A座1001"},
        "category": None, "severity": None, "urgent": False, "received_at": "2026-11-24T02:00:00+00:00",
        "received_by": None, "schema_version": 1})


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_open_case_sets_the_sites_deadline_and_emits_case_opened(engine, clock):
    env = received()
    assert handlers.open_case(env, UnitOfWork(engine, reliability, clock)) is True
    case = handlers.get_case(env.payload["complaint_id"], TENANT, engine)
    assert case["status"] == "open"
    assert case["deadlines"][0]["stage"] == "first_contact"
    assert case["deadlines"][0]["due_at"] == "2026-11-24T02:30:00+00:00"  # DEMO-OFFICE: 30 minutes
    assert "10:30" in case["timeline"][0]["text"]  # shown in the site's zone
    with engine.connect() as conn:
        body = conn.execute(select(reliability.outbox.c.body)).scalar_one()
    assert body["event_type"] == "case_opened"
    assert body["payload"]["severity"] == "moderate"  # the policy's default: complaints carry none yet
    assert body["payload"]["deadlines"][0] == {"stage": "first_contact", "due_at": "2026-11-24T02:30:00+00:00",
                                               "limit": "30m"}
    assert {d["stage"] for d in body["payload"]["deadlines"]} == {
        "first_contact", "assignment", "department_plan", "progress_check", "plan", "resolution"}


def test_redelivered_or_resent_event_opens_one_case(engine, clock):
    env = received()
    assert handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    assert not handlers.open_case(env, UnitOfWork(engine, reliability, clock))  # same event again
    resent = received(complaint_id=env.payload["complaint_id"])  # same complaint, new event id
    assert not handlers.open_case(resent, UnitOfWork(engine, reliability, clock))
    assert count(engine, cases) == 1 and count(engine, reliability.outbox) == 1


def test_another_tenants_case_is_invisible(engine, clock):
    env = received()
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    with pytest.raises(NotFound):
        handlers.get_case(env.payload["complaint_id"], str(uuid.uuid4()), engine)


def test_group_default_applies_where_the_site_set_nothing(engine, clock):
    env = received(estate="DEMO-RES")
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case = handlers.get_case(env.payload["complaint_id"], TENANT, engine)
    assert case["deadlines"][0]["due_at"] == "2026-11-24T03:00:00+00:00"
