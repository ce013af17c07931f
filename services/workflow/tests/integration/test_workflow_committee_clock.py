"""The residents' committee clock (seed 002 §4.1): counted from when the owner told the committee, met by the
recording, breached at once when recorded more than 2 hours later. Real database."""
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers
from workflow.seed import seed_demo
from workflow.tables import reliability, timers

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
RECEIVED = "2026-11-24T02:00:00+00:00"  # 10:00 in Shanghai


def committee(reported_at, channel="committee", **extra):
    return Envelope("complaint_received", TENANT, {
        "complaint_id": str(uuid.uuid4()), "reference": "TS20261124-CMT001",
        "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": channel, "description": "楼道堆放杂物", "complainant": {"name": "刘", "phone": "13800138000",
                                                                       "email": "", "unit": "1栋101"},
        "category": None, "severity": "moderate", "urgent": False, "received_at": RECEIVED,
        "received_by": None, "committee_received_at": reported_at, "schema_version": 1} | extra)


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def open_(engine, clock, env):
    assert handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case = handlers.get_case(env.payload["complaint_id"], TENANT, engine)
    with engine.connect() as conn:
        events = [r.body for r in conn.execute(select(reliability.outbox.c.body))]
        mine = select(timers).where(timers.c.subject_id == case["complaint_id"])
        keys = {(r.kind, r.key) for r in conn.execute(mine)}
    return case, events, keys


def stage(case, name):
    return next(d for d in case["deadlines"] if d["stage"] == name)


def test_forwarded_in_time_counts_from_the_committee_and_is_met_by_the_recording(engine, clock):
    case, events, keys = open_(engine, clock, committee("2026-11-24T09:15:00+08:00"))
    forward = stage(case, "committee_forward")
    assert forward["due_at"] == "2026-11-24T03:15:00+00:00" and forward["met_at"] == RECEIVED
    assert "自业主向居委会/业委会反映（2026-11-24 09:15）起" in forward["explanation"]
    assert "from when the owner told the committee (2026-11-24 09:15)" in forward["explanation_en"]
    assert [e["event_type"] for e in events] == ["case_opened"]
    assert events[0]["payload"]["committee_received_at"] == "2026-11-24T09:15:00+08:00"
    assert not any(key == "committee_forward" for _, key in keys) and ("sla_breach", "first_contact") in keys
    assert stage(case, "first_contact")["met_at"] is None  # the case's own stages still count from receipt


def test_recorded_late_is_breached_at_once_and_says_so(engine, clock):
    case, events, _ = open_(engine, clock, committee("2026-11-24T06:30:00+08:00"))
    forward = stage(case, "committee_forward")
    assert forward["due_at"] == "2026-11-24T00:30:00+00:00" and forward["met_at"] == RECEIVED
    breached = [e for e in events if e["event_type"] == "sla_breached"]
    assert len(breached) == 1 and breached[0]["payload"]["stage"] == "committee_forward"
    assert breached[0]["payload"]["met_at"] == RECEIVED
    entry = next(t for t in case["timeline"] if t["kind"] == "sla_breached")
    assert "应于 2026-11-24 08:30 前转至客服中心，2026-11-24 10:00 才登记（逾期 1 小时 30 分钟）" in entry["text"]
    assert case["escalation_level"] == 0


def test_without_the_stamp_the_old_rule_stands(engine, clock):
    case, events, keys = open_(engine, clock, committee(None))
    forward = stage(case, "committee_forward")
    assert forward["due_at"] == "2026-11-24T04:00:00+00:00" and forward["met_at"] is None
    assert ("sla_breach", "committee_forward") in keys


def test_head_office_forward_travels_on_case_opened(engine, clock):
    superior = {"name": "陈总", "title": "客服总监", "phone": "", "email": "chen@example.com"}
    env = committee(None, channel="head_office", forwarded_by=superior, instructions="三日内回报")
    case, events, _ = open_(engine, clock, env)
    assert "committee_forward" not in {d["stage"] for d in case["deadlines"]}
    assert events[0]["payload"]["forwarded_by"] == superior and events[0]["payload"]["instructions"] == "三日内回报"
