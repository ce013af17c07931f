"""Extension (延期) requests and decisions on a real database: due moved, original kept, timers rescheduled."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Conflict, Forbidden, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, escalation, handlers
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
AGENT = ("agent-1", [["agent", "DEMO-OFFICE"]])
SUPERVISOR = ("supervisor-1", [["cs_supervisor", "DEMO-OFFICE"]])
OTHER_AGENT = ("agent-2", [["agent", "DEMO-OFFICE"]])
ELSEWHERE = ("supervisor-2", [["cs_supervisor", "DEMO-RES"]])


@pytest.fixture
def opened(workflow_engine, clock):
    seed_demo(workflow_engine)
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    return workflow_engine, env.payload["complaint_id"]


def act(engine, clock, case_id, action, data, who, version=None):
    user, roles = who
    return actions.act(case_id, action, data, TENANT, user, UnitOfWork(engine, reliability, clock), version,
                       roles=roles)


def resolution(engine, case_id):
    case = handlers.get_case(case_id, TENANT, engine)
    return next(d for d in case["deadlines"] if d["stage"] == "resolution"), case


def pending_timers(engine, case_id, stage):
    with engine.connect() as conn:
        return conn.execute(select(timer_table.c.kind, timer_table.c.due_at).where(
            timer_table.c.subject_id == case_id, timer_table.c.key == stage, timer_table.c.fired_at.is_(None),
            timer_table.c.cancelled_at.is_(None)).order_by(timer_table.c.kind)).all()


def events(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def later_than(due_iso, days=3):
    return (dt.datetime.fromisoformat(due_iso) + dt.timedelta(days=days)).isoformat()


def test_request_then_approve_moves_the_due_keeps_the_original_and_reschedules(opened, clock):
    engine, case_id = opened
    before, _ = resolution(engine, case_id)
    new_due = later_than(before["due_at"])
    asked = act(engine, clock, case_id, "request_extension", {"new_due_at": new_due, "reason": "等待厂家配件"},
                AGENT, version=1)
    assert asked["version"] == 2 and asked["extension"]["stage"] == "resolution"
    after_request, case = resolution(engine, case_id)
    assert after_request["due_at"] == before["due_at"]  # nothing moves before the decision
    assert case["extensions"][0]["status"] == "pending" and case["extensions"][0]["reason"] == "等待厂家配件"
    decided = act(engine, clock, case_id, "decide_extension", {"approve": True, "note": "同意"}, SUPERVISOR,
                  version=2)
    assert decided["version"] == 3 and decided["extension"]["approved"] is True
    moved, case = resolution(engine, case_id)
    assert dt.datetime.fromisoformat(moved["due_at"]) == dt.datetime.fromisoformat(new_due)
    assert moved["original_due_at"] == before["due_at"]
    assert case["extensions"][0]["status"] == "approved" and case["extensions"][0]["decided_by"] == "supervisor-1"
    assert [t["kind"] for t in case["timeline"][-2:]] == ["extension_requested", "extension_decided"]
    kinds = pending_timers(engine, case_id, "resolution")
    assert [k for k, _ in kinds] == ["sla_breach", "sla_warning"]
    assert kinds[0][1] == dt.datetime.fromisoformat(new_due)
    [event] = events(engine, "extension_decided")
    assert event["approved"] is True and event["original_due_at"] == before["due_at"]
    assert dt.datetime.fromisoformat(event["due_at"]) == dt.datetime.fromisoformat(new_due)
    assert events(engine, "extension_requested")[0]["reason"] == "等待厂家配件"
    # the old breach time passes: no breach for the stage (its timers were replaced)
    at_old_due = dt.datetime.fromisoformat(before["due_at"]) + dt.timedelta(minutes=1)
    later = UnitOfWork(engine, reliability, type(clock)(at_old_due))
    timers.fire_due(lambda: later, timer_table, escalation.on_timer)
    assert [e for e in events(engine, "sla_breached") if e["stage"] == "resolution"] == []


def test_reject_moves_nothing_and_a_new_request_may_follow(opened, clock):
    engine, case_id = opened
    before, _ = resolution(engine, case_id)
    act(engine, clock, case_id, "request_extension", {"new_due_at": later_than(before["due_at"]), "reason": "配件"},
        AGENT, version=1)
    with pytest.raises(ValidationFailed) as err:  # a rejection says why
        act(engine, clock, case_id, "decide_extension", {"approve": False}, SUPERVISOR, version=2)
    assert err.value.details["field"] == "note"
    act(engine, clock, case_id, "decide_extension", {"approve": False, "note": "请先联系厂家加急"}, SUPERVISOR,
        version=2)
    after, case = resolution(engine, case_id)
    assert after["due_at"] == before["due_at"] and after["original_due_at"] is None
    assert case["extensions"][0]["status"] == "rejected"
    assert [k for k, _ in pending_timers(engine, case_id, "resolution")] == ["sla_breach", "sla_warning"]
    assert events(engine, "extension_decided")[0]["approved"] is False
    act(engine, clock, case_id, "request_extension", {"new_due_at": later_than(before["due_at"], 1), "reason": "再次"},
        AGENT, version=3)


def test_who_may_decide_and_one_pending_request_per_stage(opened, clock):
    engine, case_id = opened
    before, _ = resolution(engine, case_id)
    data = {"new_due_at": later_than(before["due_at"]), "reason": "等待业主在家"}
    act(engine, clock, case_id, "request_extension", data, AGENT)
    with pytest.raises(ValidationFailed) as err:
        act(engine, clock, case_id, "request_extension", data, AGENT)
    assert err.value.details["field"] == "stage"
    for who in (AGENT, OTHER_AGENT, ELSEWHERE):  # self, the same rung, another estate's supervisor
        with pytest.raises(Forbidden) as denied:
            act(engine, clock, case_id, "decide_extension", {"approve": True}, who)
        assert denied.value.code == "extension_not_allowed"
    with pytest.raises(Conflict):
        act(engine, clock, case_id, "decide_extension", {"approve": True}, SUPERVISOR, version=1)
    assert resolution(engine, case_id)[1]["extensions"][0]["status"] == "pending"


def test_bad_requests_name_the_field(opened, clock):
    engine, case_id = opened
    before, _ = resolution(engine, case_id)
    cases = [({"new_due_at": before["due_at"], "reason": "x"}, "new_due_at"),
             ({"new_due_at": "2026-11-30T10:00:00", "reason": "x"}, "new_due_at"),
             ({"new_due_at": "2026-11-01T10:00:00+08:00", "reason": "x"}, "new_due_at"),
             ({"new_due_at": later_than(before["due_at"]), "reason": "  "}, "reason"),
             ({"stage": "nope", "new_due_at": later_than(before["due_at"]), "reason": "x"}, "stage")]
    for data, field in cases:
        with pytest.raises(ValidationFailed) as err:
            act(engine, clock, case_id, "request_extension", data, AGENT)
        assert err.value.details["field"] == field, data
    with pytest.raises(ValidationFailed):
        act(engine, clock, case_id, "decide_extension", {"approve": True}, SUPERVISOR)  # nothing pending
    with pytest.raises(Forbidden):  # head office has nobody above it
        act(engine, clock, case_id, "request_extension", {"new_due_at": later_than(before["due_at"]), "reason": "x"},
            ("hq", [["head_office", None]]))
