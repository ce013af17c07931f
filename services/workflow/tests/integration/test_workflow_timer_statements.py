"""What one fired breach costs in SQL statements, pinned (bench/timers.py: the timer loop's throughput is bounded by
them). A breach that escalates writes four: the case's level, two timeline entries, the next rung's timer; the
claim, the batch's case and deadline reads, the outbox rows, the fired marks and one savepoint are per batch."""
import datetime as dt

import pytest
from sqlalchemy import event, func, select

from estatedesk_common import timers
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import escalation, handlers
from workflow.seed import seed_demo
from workflow.tables import case_timeline, cases, reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
CASES = 12
PER_BREACH = 4  # UPDATE cases, INSERT case_timeline x2, INSERT timers
PER_BATCH = 8  # claim, cases, deadlines, savepoint + release, the outbox rows, the fired marks; one to spare


class Clock:
    def __init__(self, now):
        self.at = now

    def now(self):
        return self.at


def test_a_batch_of_breaches_costs_four_statements_each_plus_a_few_per_batch(workflow_engine):
    seed_demo(workflow_engine)
    start = dt.datetime.fromisoformat(received().payload["received_at"])
    clock = Clock(start)
    ids = []
    for _ in range(CASES):
        env = received(estate="DEMO-OFFICE")
        env.payload["severity"] = "moderate"  # DEMO-OFFICE: first contact within 30 minutes, warned at 75 %
        handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
        ids.append(env.payload["complaint_id"])
    fire = lambda: timers.fire_due(lambda: UnitOfWork(workflow_engine, reliability, clock),  # noqa: E731
                                   timer_table, escalation.on_timer)
    clock.at = start + dt.timedelta(minutes=23)
    assert fire() == CASES  # the warnings
    clock.at = start + dt.timedelta(minutes=31)
    with workflow_engine.connect() as conn:  # the ladder's policy, built once per engine and cached, is not counted
        escalation.case_policy(conn, conn.execute(select(cases).where(cases.c.id == ids[0])).mappings().one())

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(workflow_engine, "before_cursor_execute", listener)
    try:
        assert fire() == CASES  # the first-contact breaches, each escalating to the supervisor
    finally:
        event.remove(workflow_engine, "before_cursor_execute", listener)

    with workflow_engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(cases).where(
            cases.c.id.in_(ids), cases.c.escalation_level == 1)).scalar_one() == CASES
        assert conn.execute(select(func.count()).select_from(case_timeline).where(
            case_timeline.c.case_id.in_(ids), case_timeline.c.kind.in_(["sla_breached", "case_escalated"]))
        ).scalar_one() == 2 * CASES
    assert len(statements) <= PER_BREACH * CASES + PER_BATCH, "\n".join(statements)
