"""The callback loop's effect on a case, on a real database: satisfied -> closed; dissatisfied -> reopened with a
new resolution deadline, its timers and the owner's words; the third dissatisfied round escalates to the site
manager; stale or repeated events change nothing."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import callbacks, handlers
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_actions_db import act, events, opened  # noqa: F401 - fixture

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


def outcome(case_id, event_type, satisfaction, words="", round_=1, escalate=False):
    payload = {"callback_id": str(uuid.uuid4()), "case_id": case_id, "complaint_id": case_id, "reference": "R",
               "estate_code": "DEMO-OFFICE", "satisfaction": satisfaction, "words": words, "valid": True,
               "solved": satisfaction != "dissatisfied", "by": "cs-1", "via": "phone", "round": round_}
    if event_type == "callback_dissatisfied":
        payload["escalate"] = escalate
    return Envelope(event_type=event_type, tenant_id=TENANT, payload=payload)


def uow(engine, clock):
    return UnitOfWork(engine, reliability, clock)


def resolve(engine, clock, case_id):
    act(engine, clock, case_id, "resolve", {"cause": "facility_fault", "remedy": "更换电梯门机"})


def test_satisfied_callback_closes_the_case_once(opened, clock):  # noqa: F811
    engine, case_id = opened
    resolve(engine, clock, case_id)
    env = outcome(case_id, "callback_completed", "satisfied")
    assert callbacks.on_callback_completed(env, uow(engine, clock)) is True
    assert callbacks.on_callback_completed(env, uow(engine, clock)) is False  # redelivered
    case = handlers.get_case(case_id, TENANT, engine)
    assert case["status"] == "closed" and case["version"] == 3
    assert case["timeline"][-1]["kind"] == "case_closed" and "回访满意，结案" in case["timeline"][-1]["text"]
    assert [e["reason"] for e in events(engine, "case_closed")] == ["callback_satisfied"]


def test_dissatisfied_callback_reopens_with_a_new_resolution_deadline_and_timers(opened, clock):  # noqa: F811
    engine, case_id = opened
    resolve(engine, clock, case_id)
    env = outcome(case_id, "callback_dissatisfied", "dissatisfied", words="电梯还是有异响")
    assert callbacks.on_callback_dissatisfied(env, uow(engine, clock)) is True
    case = handlers.get_case(case_id, TENANT, engine)
    assert case["status"] == "in_progress"
    assert "电梯还是有异响" in case["timeline"][-1]["text"] and case["timeline"][-1]["kind"] == "case_reopened"
    [resolution] = [d for d in case["deadlines"] if d["stage"] == "resolution"]
    assert resolution["met_at"] is None and dt.datetime.fromisoformat(resolution["due_at"]) > clock.now()
    with engine.connect() as conn:
        pending = conn.execute(select(timer_table.c.kind).where(
            timer_table.c.subject_id == case_id, timer_table.c.key == "resolution",
            timer_table.c.cancelled_at.is_(None), timer_table.c.fired_at.is_(None))).scalars().all()
    assert sorted(pending) == ["sla_breach", "sla_warning"]
    [reopened] = events(engine, "case_reopened")
    assert reopened["words"] == "电梯还是有异响" and reopened["resolution_due_at"] == resolution["due_at"]
    # back to the handler: it can be resolved again, and a satisfied callback then closes it
    resolve(engine, clock, case_id)
    callbacks.on_callback_completed(outcome(case_id, "callback_completed", "very_satisfied", round_=2),
                                    uow(engine, clock))
    assert handlers.get_case(case_id, TENANT, engine)["status"] == "closed"


def test_third_dissatisfied_round_escalates_to_the_site_manager(opened, clock):  # noqa: F811
    engine, case_id = opened
    resolve(engine, clock, case_id)
    callbacks.on_callback_dissatisfied(outcome(case_id, "callback_dissatisfied", "dissatisfied", round_=3,
                                               escalate=True), uow(engine, clock))
    [escalated] = events(engine, "case_escalated")
    assert (escalated["level"], escalated["role"]) == (2, "site_manager")
    assert handlers.get_case(case_id, TENANT, engine)["escalation_level"] == 2


def test_an_outcome_for_a_case_that_is_not_resolved_is_ignored(opened, clock):  # noqa: F811
    engine, case_id = opened
    assert callbacks.on_callback_completed(outcome(case_id, "callback_completed", "satisfied"),
                                           uow(engine, clock)) is False
    assert handlers.get_case(case_id, TENANT, engine)["status"] == "open"


def test_close_and_reopen_are_not_staff_actions(opened, clock):  # noqa: F811
    engine, case_id = opened
    for action in ("close", "reopen"):
        with pytest.raises(ValidationFailed):
            act(engine, clock, case_id, action)
