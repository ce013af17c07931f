"""A repeating stage (seed 002 moderate: a progress update every 12 hours) is due again after each update."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common.unit_of_work import UnitOfWork
from workflow import actions, handlers
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_actions_db import TENANT, opened  # noqa: F401  (the fixture)

pytestmark = pytest.mark.integration


class Clock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now


def _stage(engine, case_id, name):
    return next(d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"] if d["stage"] == name)


def test_each_progress_update_arms_the_next_one(opened):  # noqa: F811
    engine, case_id = opened
    first = _stage(engine, case_id, "progress_check")
    assert first["met_at"] is None
    at = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.timezone.utc)
    actions.act(case_id, "progress", {"note": "已联系电梯维保单位"}, TENANT, "agent-1",
                UnitOfWork(engine, reliability, Clock(at)))
    again = _stage(engine, case_id, "progress_check")
    assert again["met_at"] is None and again["due_at"] == (at + dt.timedelta(hours=12)).isoformat()
    assert "12" in again["explanation"]
    with engine.connect() as conn:
        pending = conn.execute(select(timer_table.c.kind, timer_table.c.due_at).where(
            timer_table.c.subject_id == case_id, timer_table.c.key == "progress_check",
            timer_table.c.cancelled_at.is_(None), timer_table.c.fired_at.is_(None))).all()
    assert sorted(k for k, _ in pending) == ["sla_breach", "sla_warning"]
    assert max(d for _, d in pending) == at + dt.timedelta(hours=12)
    timeline = handlers.get_case(case_id, TENANT, engine)["timeline"]
    assert "下次「progress_check」时限 2026-11-25 02:00" in timeline[-1]["text"]

    later = at + dt.timedelta(hours=5)
    actions.act(case_id, "resolve", {"cause": "facility_fault", "remedy": "更换电梯控制板"}, TENANT, "agent-1",
                UnitOfWork(engine, reliability, Clock(later)))
    with engine.connect() as conn:  # resolved: nothing is armed again, every timer is gone
        assert conn.execute(select(timer_table.c.id).where(
            timer_table.c.subject_id == case_id, timer_table.c.cancelled_at.is_(None),
            timer_table.c.fired_at.is_(None))).all() == []
