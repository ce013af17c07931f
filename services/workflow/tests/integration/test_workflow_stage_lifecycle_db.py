"""Which action meets which stage (``met_by``), stages that live after resolution, the original due time on
``sla_breached`` after an extension and the month upgrade of a reopened case: on a real database, with a moved
clock and the durable timers."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, callbacks, escalation, handlers, presets, repository
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_escalation_timers import MovableClock
from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
RECEIVED = dt.datetime(2026, 11, 2, 2, 0, tzinfo=dt.timezone.utc)  # Monday 10:00 in Shanghai
AGENT = ("agent-1", [["agent", "DEMO-OFFICE"]])
SUPERVISOR = ("supervisor-1", [["cs_supervisor", "DEMO-OFFICE"]])
RESOLVE = {"cause": "facility_fault", "remedy": "已修复"}


@pytest.fixture
def clock():
    return MovableClock(RECEIVED)


def group_policy(engine, document):
    with engine.begin() as conn:
        repository.add_policy(conn, TENANT, "group", document, RECEIVED - dt.timedelta(days=1), RECEIVED)


def open_case(engine, clock, estate="DEMO-OFFICE", severity=None):
    env = received(estate=estate)
    env.payload.update(severity=severity, received_at=RECEIVED.isoformat())
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"]


def act(engine, clock, case_id, action, data=None, who=AGENT):
    return actions.act(case_id, action, data, TENANT, who[0], UnitOfWork(engine, reliability, clock),
                       roles=who[1])


def at(engine, clock, when):
    """Move the clock to ``when`` and fire every timer due by then."""
    clock.move_to(when)
    timers.fire_due(lambda: UnitOfWork(engine, reliability, clock), timer_table, escalation.on_timer)


def outbox(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def deadlines(engine, case_id):
    return {d["stage"]: d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"]}


def due(engine, case_id, stage):
    return dt.datetime.fromisoformat(deadlines(engine, case_id)[stage]["due_at"])


def callback_event(case_id, event_type, satisfaction):
    return Envelope(event_type, TENANT, {
        "callback_id": str(uuid.uuid4()), "case_id": case_id, "complaint_id": case_id, "reference": "R",
        "estate_code": "DEMO-OFFICE", "satisfaction": satisfaction, "words": "", "by": "cs-1", "via": "phone",
        "round": 1, "escalate": False})


def test_seed000_urgent_case_meets_on_site_and_its_callback_without_a_false_breach(workflow_engine, clock):
    group_policy(workflow_engine, presets.load("seed000"))
    case_id = open_case(workflow_engine, clock, severity="urgent")
    assert set(deadlines(workflow_engine, case_id)) >= {"first_contact", "on_site", "resolution", "callback"}
    clock.move_to(RECEIVED + dt.timedelta(minutes=10))
    assert act(workflow_engine, clock, case_id, "contact")["stages_met"] == ["first_contact"]
    assert act(workflow_engine, clock, case_id, "assign", {"assignee": "工程部 李工"})["stages_met"] == ["special_team"]
    clock.move_to(RECEIVED + dt.timedelta(minutes=40))  # the handler is on site: an update says so
    assert act(workflow_engine, clock, case_id, "progress", {"note": "维修人员已到现场"})["stages_met"] == ["on_site"]
    at(workflow_engine, clock, RECEIVED + dt.timedelta(hours=5))
    assert act(workflow_engine, clock, case_id, "resolve", RESOLVE)["stages_met"] == ["resolution"]
    callback_due = due(workflow_engine, case_id, "callback")
    at(workflow_engine, clock, callback_due - dt.timedelta(minutes=1))  # resolved: the callback still warns
    assert [e["stage"] for e in outbox(workflow_engine, "sla_warning")] == ["callback"]
    callbacks.on_callback_completed(callback_event(case_id, "callback_completed", "satisfied"),
                                    UnitOfWork(workflow_engine, reliability, clock))
    at(workflow_engine, clock, callback_due + dt.timedelta(days=40))
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    assert case["status"] == "closed"
    assert all(d["met_at"] for d in case["deadlines"]), case["deadlines"]
    assert outbox(workflow_engine, "sla_breached") == [] and outbox(workflow_engine, "case_escalated") == []


def test_a_suggestion_is_met_by_its_reply_and_a_custom_stage_by_its_met_by(workflow_engine, clock):
    document = presets.load("seed000")
    document["severities"]["routine"]["stages"].append({"name": "owner_briefed", "limit": "2h",
                                                        "met_by": ["progress"]})
    group_policy(workflow_engine, document)
    suggestion = open_case(workflow_engine, clock, severity="suggestion")
    assert act(workflow_engine, clock, suggestion, "contact")["stages_met"] == ["reply"]
    routine = open_case(workflow_engine, clock, severity="routine")
    assert act(workflow_engine, clock, routine, "progress", {"note": "已告知业主进度"})["stages_met"] == ["owner_briefed"]


def test_an_unanswered_callback_breaches_after_resolution(workflow_engine, clock):
    group_policy(workflow_engine, presets.load("seed000"))
    case_id = open_case(workflow_engine, clock, severity="routine")
    act(workflow_engine, clock, case_id, "contact")
    act(workflow_engine, clock, case_id, "resolve", RESOLVE)
    callback_due = due(workflow_engine, case_id, "callback")
    at(workflow_engine, clock, callback_due + dt.timedelta(minutes=1))
    assert [(e["stage"], e["due_at"]) for e in outbox(workflow_engine, "sla_breached")] == [
        ("callback", callback_due.isoformat())]
    assert [e["level"] for e in outbox(workflow_engine, "case_escalated")] == [1]
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    assert case["status"] == "resolved" and case["timeline"][-2]["kind"] == "sla_breached"
    at(workflow_engine, clock, callback_due + dt.timedelta(days=5))  # resolved: the ladder climbs no further
    assert len(outbox(workflow_engine, "case_escalated")) == 1


def test_owner_acceptance_warns_and_breaches_after_resolution_until_accepted(workflow_engine, clock):
    seed_demo(workflow_engine)  # DEMO-NEW: the seed 004 handover override
    late = open_case(workflow_engine, clock, estate="DEMO-NEW", severity="moderate")
    accepted = open_case(workflow_engine, clock, estate="DEMO-NEW", severity="moderate")
    for case_id in (late, accepted):
        act(workflow_engine, clock, case_id, "resolve", RESOLVE)
    acceptance_due = due(workflow_engine, late, "owner_acceptance")
    assert act(workflow_engine, clock, accepted, "accept")["stages_met"] == ["owner_acceptance"]
    at(workflow_engine, clock, acceptance_due + dt.timedelta(minutes=1))
    assert [(e["stage"], e["complaint_id"]) for e in outbox(workflow_engine, "sla_breached")] == [
        ("owner_acceptance", late)]
    assert "owner_acceptance" in [e["stage"] for e in outbox(workflow_engine, "sla_warning")]
    assert {e["complaint_id"] for e in outbox(workflow_engine, "sla_warning")} == {late}
    assert handlers.get_case(accepted, TENANT, workflow_engine)["status"] == "closed"


def test_a_breach_after_an_extension_carries_the_original_due(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock, severity="moderate")
    original = due(workflow_engine, case_id, "resolution")
    extended = original + dt.timedelta(days=3)
    act(workflow_engine, clock, case_id, "request_extension",
        {"new_due_at": extended.isoformat(), "reason": "等待厂家配件"})
    act(workflow_engine, clock, case_id, "decide_extension", {"approve": True}, who=SUPERVISOR)
    at(workflow_engine, clock, extended + dt.timedelta(minutes=1))
    [breach] = [e for e in outbox(workflow_engine, "sla_breached") if e["stage"] == "resolution"]
    assert (breach["due_at"], breach["original_due_at"]) == (extended.isoformat(), original.isoformat())
    first = next(e for e in outbox(workflow_engine, "sla_breached") if e["stage"] == "first_contact")
    assert first["original_due_at"] == first["due_at"]  # never moved: the same


def pending_upgrade(engine, case_id):
    with engine.connect() as conn:
        return conn.execute(select(timer_table.c.due_at).where(
            timer_table.c.subject_id == case_id, timer_table.c.kind == "upgrade",
            timer_table.c.fired_at.is_(None), timer_table.c.cancelled_at.is_(None))).scalars().all()


def test_a_case_reopened_after_its_month_is_upgraded(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock, estate="DEMO-RES", severity="moderate")
    clock.move_to(RECEIVED + dt.timedelta(days=2))
    act(workflow_engine, clock, case_id, "resolve", RESOLVE)
    at(workflow_engine, clock, RECEIVED + dt.timedelta(days=31))  # the month passes while it is resolved
    assert handlers.get_case(case_id, TENANT, workflow_engine)["severity"] == "moderate"
    reopened_at = RECEIVED + dt.timedelta(days=35)
    clock.move_to(reopened_at)
    callbacks.on_callback_dissatisfied(callback_event(case_id, "callback_dissatisfied", "dissatisfied"),
                                       UnitOfWork(workflow_engine, reliability, clock))
    assert pending_upgrade(workflow_engine, case_id) == [reopened_at]  # its month is over: at once
    [reopened] = outbox(workflow_engine, "case_reopened")
    assert reopened["upgrade_at"] == reopened_at.isoformat()
    at(workflow_engine, clock, reopened_at + dt.timedelta(seconds=1))
    case = handlers.get_case(case_id, TENANT, workflow_engine)
    assert case["severity"] == "major" and case["status"] == "in_progress"
    assert [e["reason"] for e in outbox(workflow_engine, "case_upgraded")] == ["unresolved_30_days"]
    assert [e["reason"] for e in outbox(workflow_engine, "major_case_opened")] == ["upgraded"]


def test_a_case_reopened_within_its_month_waits_for_the_month(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = open_case(workflow_engine, clock, estate="DEMO-RES", severity="moderate")
    clock.move_to(RECEIVED + dt.timedelta(days=2))
    act(workflow_engine, clock, case_id, "resolve", RESOLVE)
    assert pending_upgrade(workflow_engine, case_id) == []  # resolving stops it
    clock.move_to(RECEIVED + dt.timedelta(days=4))
    callbacks.on_callback_dissatisfied(callback_event(case_id, "callback_dissatisfied", "dissatisfied"),
                                       UnitOfWork(workflow_engine, reliability, clock))
    assert pending_upgrade(workflow_engine, case_id) == [RECEIVED + dt.timedelta(days=30)]
