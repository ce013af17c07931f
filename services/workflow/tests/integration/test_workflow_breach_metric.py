"""A breach that fires counts in estatedesk_deadline_breaches_total (EstateDeskBreachRateSpike); a met deadline
does not, and the labels carry no tenant or estate."""
import datetime as dt

import pytest
from sqlalchemy import update

from estatedesk_common import timers
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import escalation, handlers
from workflow.seed import seed_demo
from workflow.tables import case_deadlines, reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, now):
        self.at = now

    def now(self):
        return self.at


def _breaches(stage):
    return escalation.BREACHES.labels("workflow", stage)._value.get()


def _open(engine, clock):
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"  # DEMO-OFFICE: first contact within 30 minutes
    clock.at = dt.datetime.fromisoformat(env.payload["received_at"])
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"], clock.at


def _fire(engine, clock):
    timers.fire_due(lambda: UnitOfWork(engine, reliability, clock), timer_table, escalation.on_timer)


def test_a_fired_breach_counts_once_by_stage_and_a_met_one_does_not(workflow_engine):
    seed_demo(workflow_engine)
    clock = Clock(None)
    before = _breaches("first_contact")
    _, received_at = _open(workflow_engine, clock)
    clock.at = received_at + dt.timedelta(minutes=31)
    _fire(workflow_engine, clock)
    _fire(workflow_engine, clock)  # nothing fires twice
    assert _breaches("first_contact") == before + 1

    case_id, received_at = _open(workflow_engine, clock)
    with workflow_engine.begin() as conn:
        conn.execute(update(case_deadlines).where(case_deadlines.c.case_id == case_id,
                                                  case_deadlines.c.stage == "first_contact")
                     .values(met_at=received_at + dt.timedelta(minutes=5)))
    clock.at = received_at + dt.timedelta(minutes=31)
    _fire(workflow_engine, clock)
    assert _breaches("first_contact") == before + 1
    assert escalation.BREACHES._labelnames == ("service", "stage")
