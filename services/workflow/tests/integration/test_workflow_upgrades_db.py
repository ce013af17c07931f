"""Automatic upgrades and major cases on a real database, with a moved clock and the durable timers."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, escalation, handlers, presets, repository
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_escalation_timers import MovableClock
from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
RECEIVED = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai


@pytest.fixture
def clock():
    return MovableClock(RECEIVED)


def open_case(engine, clock, estate="DEMO-RES", severity="moderate"):
    env = received(estate=estate)
    env.payload.update(severity=severity, received_at=RECEIVED.isoformat())
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"]


def outbox(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def fire(engine, clock):
    return timers.fire_due(lambda: UnitOfWork(engine, reliability, clock), timer_table, escalation.on_timer)


def pending_upgrade(engine, case_id):
    with engine.connect() as conn:
        return conn.execute(select(timer_table.c.due_at).where(
            timer_table.c.subject_id == case_id, timer_table.c.kind == "upgrade",
            timer_table.c.fired_at.is_(None), timer_table.c.cancelled_at.is_(None))).scalars().all()


def test_a_month_unresolved_makes_the_case_major_with_new_deadlines(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock)
    assert pending_upgrade(workflow_engine, case_id) == [RECEIVED + dt.timedelta(days=30)]
    before = handlers.get_case(case_id, TENANT, workflow_engine)
    upgraded_at = RECEIVED + dt.timedelta(days=30, minutes=1)
    clock.move_to(upgraded_at)
    fire(workflow_engine, clock)
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    assert case["severity"] == "major" and case["version"] == before["version"] + 1
    due = {d["stage"]: d for d in case["deadlines"]}
    team = dt.datetime.fromisoformat(due["special_team"]["due_at"])
    assert team == upgraded_at + dt.timedelta(hours=2)  # seed 002: special team within 2 h, from the upgrade
    assert "自升级为重大投诉" in due["special_team"]["explanation"]
    assert "plan_told" in due  # a stage of the new severity is added
    # resolution: moderate 5wd from receipt (long past) stays; an upgrade never gives more time
    assert due["resolution"]["due_at"] == next(d for d in before["deadlines"] if d["stage"] == "resolution")["due_at"]
    [event] = outbox(workflow_engine, "case_upgraded")
    assert (event["from_severity"], event["severity"], event["reason"]) == ("moderate", "major", "unresolved_30_days")
    [major] = outbox(workflow_engine, "major_case_opened")
    assert major["reason"] == "upgraded" and major["notify_role"] == "site_manager"
    assert dt.datetime.fromisoformat(major["special_team_due_at"]) == team
    kinds = [t["kind"] for t in case["timeline"]]
    assert kinds[-2:] == ["case_upgraded", "major_case_opened"]
    assert "一个月仍未解决" in case["timeline"][-2]["text"]
    fire(workflow_engine, clock)  # fired once: nothing more
    assert len(outbox(workflow_engine, "case_upgraded")) == 1


def test_a_resolved_case_is_not_upgraded(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock)
    actions.act(case_id, "resolve", {"cause": "facility_fault", "remedy": "已修复"}, TENANT, "agent-1",
                UnitOfWork(workflow_engine, reliability, clock))
    clock.move_to(RECEIVED + dt.timedelta(days=31))
    fire(workflow_engine, clock)
    assert handlers.get_case(case_id, TENANT, workflow_engine)["severity"] == "moderate"
    assert outbox(workflow_engine, "case_upgraded") == []


def test_a_major_case_at_opening_tells_the_site_manager_and_forms_the_team(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock, severity="major")
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    assert pending_upgrade(workflow_engine, case_id) == []  # already at the top
    team = next(d for d in case["deadlines"] if d["stage"] == "special_team")
    assert dt.datetime.fromisoformat(team["due_at"]) == RECEIVED + dt.timedelta(hours=2)
    [major] = outbox(workflow_engine, "major_case_opened")
    assert major["reason"] == "opened" and major["special_team_due_at"] == team["due_at"]
    assert case["timeline"][-1]["kind"] == "major_case_opened" and "专项处理小组" in case["timeline"][-1]["text"]


def test_a_policy_without_the_stage_still_forms_the_special_team(workflow_engine, clock):
    with workflow_engine.begin() as conn:  # seed 001's scheme: general / important / major, no special_team
        repository.add_policy(conn, TENANT, "group", presets.load("seed001"), RECEIVED - dt.timedelta(days=1),
                              RECEIVED)
    case_id = open_case(workflow_engine, clock, severity="general")
    clock.move_to(RECEIVED + dt.timedelta(days=30))
    fire(workflow_engine, clock)
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    due = {d["stage"]: d for d in case["deadlines"]}
    assert case["severity"] == "major"
    assert dt.datetime.fromisoformat(due["special_team"]["due_at"]) == clock.now() + dt.timedelta(hours=2)
    assert outbox(workflow_engine, "major_case_opened")[0]["reason"] == "upgraded"
