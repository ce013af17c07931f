"""Warnings, breaches and escalation fire from durable timers as time passes (real database, moved clock)."""
import datetime as dt

import pytest
from sqlalchemy import select, update

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import escalation, handlers
from workflow.seed import seed_demo
from workflow.tables import case_deadlines, cases, reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


class MovableClock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now

    def move_to(self, when):
        self._now = when


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def fire(engine, clock):
    return timers.fire_due(lambda: UnitOfWork(engine, reliability, clock), timer_table, escalation.on_timer)


def events(engine, event_type):
    with engine.connect() as conn:
        bodies = conn.execute(select(reliability.outbox.c.body)).scalars().all()
    return [b["payload"] for b in bodies if b["event_type"] == event_type]


def first_contact(engine, case_id):
    with engine.connect() as conn:
        return conn.execute(select(case_deadlines).where(case_deadlines.c.case_id == case_id,
                                                         case_deadlines.c.stage == "first_contact")).mappings().one()


def test_warning_then_breach_then_the_case_climbs_the_ladder(engine):
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"  # DEMO-OFFICE: first contact within 30 minutes
    received_at = dt.datetime.fromisoformat(env.payload["received_at"])
    clock = MovableClock(received_at)
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    due = first_contact(engine, case_id)["due_at"]
    assert due == received_at + dt.timedelta(minutes=30)

    clock.move_to(received_at + dt.timedelta(minutes=10))
    assert fire(engine, clock) == 0  # nothing due yet
    clock.move_to(received_at + dt.timedelta(minutes=23))  # 75 % of 30 minutes
    fire(engine, clock)
    assert [e["stage"] for e in events(engine, "sla_warning")] == ["first_contact"]
    assert events(engine, "sla_breached") == []

    clock.move_to(due + dt.timedelta(seconds=1))
    fire(engine, clock)
    assert [e["stage"] for e in events(engine, "sla_breached")] == ["first_contact"]
    assert [(e["level"], e["role"]) for e in events(engine, "case_escalated")] == [(1, "cs_supervisor")]
    case = handlers.get_case(case_id, TENANT, engine)
    assert case["escalation_level"] == 1
    kinds = [t["kind"] for t in case["timeline"]]
    assert kinds[:4] == ["case_opened", "sla_warning", "sla_breached", "case_escalated"]
    assert "客服主管" in case["timeline"][3]["text"]

    clock.move_to(due + dt.timedelta(hours=2, minutes=1))  # the supervisor did not act within 2 hours
    fire(engine, clock)
    clock.move_to(due + dt.timedelta(hours=6, minutes=2))  # nor the site manager within 4 more
    fire(engine, clock)
    assert [e["role"] for e in events(engine, "case_escalated")] == ["cs_supervisor", "site_manager", "head_office"]
    clock.move_to(due + dt.timedelta(days=30))
    fire(engine, clock)
    assert len(events(engine, "case_escalated")) == 3  # the top of the ladder: no further climb


def test_a_met_deadline_or_a_closed_case_fires_nothing(engine):
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    received_at = dt.datetime.fromisoformat(env.payload["received_at"])
    clock = MovableClock(received_at)
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    with engine.begin() as conn:
        conn.execute(update(case_deadlines).where(case_deadlines.c.case_id == case_id,
                                                  case_deadlines.c.stage == "first_contact")
                     .values(met_at=received_at + dt.timedelta(minutes=5)))
    clock.move_to(received_at + dt.timedelta(hours=1))
    fire(engine, clock)
    assert [e for e in events(engine, "sla_breached") if e["stage"] == "first_contact"] == []
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.id == case_id).values(status="closed"))
    clock.move_to(received_at + dt.timedelta(days=60))
    fire(engine, clock)
    assert events(engine, "sla_breached") == [] and events(engine, "case_escalated") == []


def test_the_case_climbs_its_estates_ladder_of_the_version_it_was_opened_under(engine):
    from workflow import repository
    from workflow.seed import EFFECTIVE_FROM, OFFICE_OVERRIDE
    override = dict(OFFICE_OVERRIDE, warning_at=0.5, escalation=[
        {"role": "cs_supervisor", "limit": "1h"}, {"role": "regional_manager", "limit": "20m"},
        {"role": "head_office"}])
    with engine.begin() as conn:
        repository.add_policy(conn, TENANT, "region:EAST", {}, EFFECTIVE_FROM, EFFECTIVE_FROM)
        assert repository.add_policy(conn, TENANT, "estate:DEMO-OFFICE", override, EFFECTIVE_FROM, EFFECTIVE_FROM) == 2
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    received_at = dt.datetime.fromisoformat(env.payload["received_at"])
    clock = MovableClock(received_at)
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    with engine.begin() as conn:  # a later version with today's ladder must not change this case
        repository.add_policy(conn, TENANT, "estate:DEMO-OFFICE", OFFICE_OVERRIDE, EFFECTIVE_FROM, EFFECTIVE_FROM)
    due = first_contact(engine, case_id)["due_at"]
    assert due == received_at + dt.timedelta(minutes=30)

    clock.move_to(received_at + dt.timedelta(minutes=14))
    fire(engine, clock)
    assert events(engine, "sla_warning") == []
    clock.move_to(received_at + dt.timedelta(minutes=15))  # warning_at 0.5 of 30 minutes
    fire(engine, clock)
    assert [e["stage"] for e in events(engine, "sla_warning")] == ["first_contact"]

    clock.move_to(due)
    fire(engine, clock)
    clock.move_to(due + dt.timedelta(minutes=59))  # the supervisor has an hour here, not two
    fire(engine, clock)
    assert [e["rung"] for e in events(engine, "case_escalated")] == ["cs_supervisor"]
    clock.move_to(due + dt.timedelta(hours=1))
    fire(engine, clock)
    clock.move_to(due + dt.timedelta(hours=1, minutes=20))  # before the 2 h assignment breach
    fire(engine, clock)
    escalated = events(engine, "case_escalated")
    assert [(e["level"], e["rung"], e["role"]) for e in escalated] == [
        (1, "cs_supervisor", "cs_supervisor"), (2, "regional_manager", "head_office"),
        (3, "head_office", "head_office")]
    assert escalated[1]["region"] == "EAST" and "region" not in escalated[2]
    assert escalated[2]["reason"] == "level 2 did not act within 20m"
    case = handlers.get_case(case_id, TENANT, engine)
    assert case["escalation_level"] == 3
    assert "区域经理" in [t for t in case["timeline"] if t["kind"] == "case_escalated"][1]["text"]
    clock.move_to(due + dt.timedelta(days=30))
    fire(engine, clock)
    assert len(events(engine, "case_escalated")) == 3
