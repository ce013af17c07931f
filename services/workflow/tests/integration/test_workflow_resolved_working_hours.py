"""``case_resolved`` carries the handling time in working hours on the site's calendar (for reporting)."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import TENANT, received

pytestmark = pytest.mark.integration


def resolve_at(engine, clock, when):
    env = received(estate="DEMO-OFFICE")
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    later = type(clock)(when)
    actions.act(env.payload["complaint_id"], "resolve", {"cause": "facility_fault", "remedy": "已修复"}, TENANT,
                "agent-1", UnitOfWork(engine, reliability, later))
    with engine.connect() as conn:
        bodies = conn.execute(select(reliability.outbox.c.body)).scalars()
        return [b["payload"] for b in bodies if b["event_type"] == "case_resolved"][0]


def test_working_hours_skip_nights_and_lunch(workflow_engine, clock):
    seed_demo(workflow_engine)
    # received Tue 2026-11-24 10:00 Shanghai, resolved Wed 10:00: Tue 10:00-12:00 and 13:30-17:30, Wed 08:30-10:00
    payload = resolve_at(workflow_engine, clock, dt.datetime(2026, 11, 25, 2, 0, tzinfo=dt.timezone.utc))
    assert payload["handling_working_hours"] == 7.5


def test_a_weekend_counts_nothing(workflow_engine, clock):
    seed_demo(workflow_engine)
    # resolved Mon 2026-11-30 08:30 Shanghai: Tue 6 h + Wed-Fri 7.5 h each, Saturday and Sunday nothing
    payload = resolve_at(workflow_engine, clock, dt.datetime(2026, 11, 30, 0, 30, tzinfo=dt.timezone.utc))
    assert payload["handling_working_hours"] == 6 + 3 * 7.5
