"""Night shift and deferral with the owner's consent on a real database: the duty roster, cases opened at night
going to the person on duty, ``defer``/``resume`` pausing the clocks and their timers."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Forbidden, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, duty, escalation, handlers, routing
from workflow.seed import seed_demo
from workflow.tables import reliability, routing_rules
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
UTC = dt.timezone.utc
NIGHT = dt.datetime(2026, 11, 24, 14, 0, tzinfo=UTC)  # Tuesday 22:00 in Shanghai
MORNING = dt.datetime(2026, 11, 25, 0, 30, tzinfo=UTC)  # Wednesday 08:30, the next working period
MANAGER = ("manager-1", [["site_manager", "DEMO-RES"]])
AGENT = ("agent-1", [["agent", "DEMO-RES"]])
ROSTER = [{"person": "centre@demo", "post": "消防监控中心"},
          {"person": "night-tue@demo", "weekdays": [2], "note": "周二夜班"}]


class FixedClock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def uow(engine, clock):
    return UnitOfWork(engine, reliability, clock)


def open_case(engine, clock, severity="moderate", category=None):
    env = received(estate="DEMO-RES")
    env.payload.update(severity=severity, category=category, received_at=clock.now().isoformat())
    handlers.open_case(env, uow(engine, clock))
    return handlers.get_case(env.payload["complaint_id"], TENANT, engine)


def act(engine, clock, case, action, data=None, who=AGENT):
    current = handlers.get_case(case["complaint_id"], TENANT, engine)
    return actions.act(case["complaint_id"], action, data or {}, TENANT, who[0], uow(engine, clock),
                       current["version"], roles=who[1])


def events(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def pending(engine, case_id, kind=None):
    q = select(timer_table.c.kind, timer_table.c.key, timer_table.c.due_at).where(
        timer_table.c.subject_id == case_id, timer_table.c.fired_at.is_(None), timer_table.c.cancelled_at.is_(None))
    with engine.connect() as conn:
        return [r for r in conn.execute(q).all() if kind is None or r.kind == kind]


def due(case, stage):
    return dt.datetime.fromisoformat(next(d["due_at"] for d in case["deadlines"] if d["stage"] == stage))


def fire(engine, clock):
    return timers.fire_due(lambda: uow(engine, clock), timer_table, escalation.on_timer)


def test_roster_permissions_and_who_is_on_duty_now(engine):
    clock = FixedClock(NIGHT)
    saved = duty.save_roster(uow(engine, clock), TENANT, *MANAGER, "DEMO-RES", ROSTER)
    assert [e["post"] for e in saved["entries"]] == ["消防监控中心", "值班"]
    for who, estate in ((AGENT, "DEMO-RES"), (MANAGER, "DEMO-OFFICE")):
        with pytest.raises(Forbidden):
            duty.save_roster(uow(engine, clock), TENANT, *who, estate, ROSTER)
    duty.save_roster(uow(engine, clock), TENANT, "ho-1", [["head_office", None]], "DEMO-OFFICE", [])
    with pytest.raises(ValidationFailed) as err:
        duty.save_roster(uow(engine, clock), TENANT, *MANAGER, "DEMO-RES", [{"person": "a", "weekdays": [8]}])
    assert err.value.details["field"] == "entries[0].weekdays"
    with engine.connect() as conn:
        night = duty.get_roster(conn, TENANT, [["cs_supervisor", "DEMO-RES"]], "DEMO-RES", NIGHT)
        day = duty.get_roster(conn, TENANT, [["group_admin", None]], "DEMO-RES", MORNING)
        with pytest.raises(Forbidden):
            duty.get_roster(conn, TENANT, AGENT[1], "DEMO-RES", NIGHT)
    assert night["on_duty_now"] == {"person": "night-tue@demo", "post": "值班"} and night["off_hours_now"] is True
    assert day["on_duty_now"] is None and day["off_hours_now"] is False and day["updated_by"] == "manager-1"
    assert events(engine, "duty_roster_saved")[0]["estate_code"] == "DEMO-RES"


def test_a_case_opened_at_night_goes_to_the_person_on_duty_not_the_routing_rules(engine):
    clock = FixedClock(NIGHT)
    duty.save_roster(uow(engine, clock), TENANT, *MANAGER, "DEMO-RES", ROSTER)
    routing.save_rules(uow(engine, clock), TENANT, *MANAGER, "estate:DEMO-RES",
                       [{"department": "工程部", "team": ["a@demo", "b@demo"]}])
    case = open_case(engine, clock)
    assert (case["assignee"], case["department"], case["status"]) == ("night-tue@demo", "值班", "assigned")
    assert next(d for d in case["deadlines"] if d["stage"] == "assignment")["met_at"]
    entry = next(t for t in case["timeline"] if t["kind"] == "case_on_duty")
    assert "night-tue@demo" in entry["text"] and "非工作时间" in entry["text"]
    assigned = events(engine, "case_assigned")[-1]
    assert assigned["on_duty"] is True and assigned["routed"] is True and assigned["assignee"] == "night-tue@demo"
    with engine.connect() as conn:  # the day team's round-robin turn was not spent
        assert conn.execute(select(routing_rules.c.last_assignee)).scalar_one() is None
    day = open_case(engine, FixedClock(MORNING + dt.timedelta(hours=1)))
    assert (day["assignee"], day["department"]) == ("a@demo", "工程部")


def test_deferral_pauses_the_clocks_and_resumes_at_the_next_working_period(engine):
    clock = FixedClock(NIGHT)
    case = open_case(engine, clock)
    contact, resolution = due(case, "first_contact"), due(case, "resolution")
    result = act(engine, clock, case, "defer", {"consented_by": "业主（电话确认）", "note": "明早上门"})
    assert result["status"] == "deferred" and result["deferral"]["until"] == MORNING.isoformat()
    assert pending(engine, case["complaint_id"], "sla_breach") == []
    assert pending(engine, case["complaint_id"], "sla_warning") == []
    assert [r.due_at for r in pending(engine, case["complaint_id"], "resume")] == [MORNING]
    deferred = events(engine, "case_deferred")[0]
    assert deferred["consented_by"] == "业主（电话确认）" and deferred["by"] == "agent-1"
    with pytest.raises(ValidationFailed) as err:
        act(engine, clock, case, "contact")
    assert err.value.details["field"] == "action"
    clock._now = contact + dt.timedelta(minutes=5)  # the first contact's original due time has passed
    fire(engine, clock)
    assert events(engine, "sla_breached") == [] and events(engine, "sla_warning") == []
    [item] = handlers.list_cases(TENANT, AGENT[1], AGENT[0], engine, clock.now())["items"]
    assert (item["status"], item["overdue"], item["deferred_until"]) == ("deferred", False, MORNING.isoformat())
    assert handlers.list_cases(TENANT, AGENT[1], AGENT[0], engine, clock.now(), overdue=True)["total"] == 0
    clock._now = MORNING
    assert fire(engine, clock) == 1
    after = handlers.get_case(case["complaint_id"], TENANT, engine)
    assert after["status"] == "open" and after["version"] == case["version"] + 2
    assert due(after, "first_contact") == contact + (MORNING - NIGHT)  # wall clock: the whole night
    assert due(after, "resolution") == resolution  # working days: the night cost nothing
    resumed = events(engine, "case_resumed")[0]
    assert resumed["automatic"] is True and resumed["paused_minutes"] == 630
    assert {m["stage"] for m in resumed["deadlines"]} >= {"first_contact", "plan"}
    assert after["deferrals"][0]["consented_by"] == "业主（电话确认）" and after["deferrals"][0]["resumed_at"]
    assert [t["kind"] for t in after["timeline"]][-2:] == ["case_deferred", "case_resumed"]
    breach = {r.key: r.due_at for r in pending(engine, case["complaint_id"], "sla_breach")}
    assert breach["first_contact"] == due(after, "first_contact")


def test_urgent_cases_cannot_wait_and_a_manual_resume_leaves_paused_hours_out_of_handling_time(engine):
    day = dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # Tuesday 10:00
    clock = FixedClock(day)
    major = open_case(engine, clock, severity="major")
    with pytest.raises(ValidationFailed) as err:
        act(engine, clock, major, "defer", {"consented_by": "业主"})
    assert (err.value.code, err.value.details["field"]) == ("deferral_not_allowed", "severity")
    case = open_case(engine, clock)
    plan = due(case, "plan")
    with pytest.raises(ValidationFailed) as err:
        act(engine, clock, case, "resume")
    assert err.value.details["field"] == "action"
    act(engine, clock, case, "defer", {"consented_by": "周先生", "until": "2026-11-24T16:00:00+08:00"})
    clock._now = day + dt.timedelta(hours=2)  # 12:00: resumed by hand before the end
    act(engine, clock, case, "resume", {"note": "业主提前回家"})
    after = handlers.get_case(case["complaint_id"], TENANT, engine)
    assert due(after, "plan") == plan + dt.timedelta(hours=2) and after["status"] == "open"
    assert pending(engine, case["complaint_id"], "resume") == []
    assert events(engine, "case_resumed")[0]["automatic"] is False
    clock._now = day + dt.timedelta(hours=5)  # 15:00
    act(engine, clock, case, "resolve", {"cause": "facility_fault", "remedy": "修好了"})
    # 10:00-15:00 is 3.5 business hours (lunch 12:00-13:30); 10:00-12:00 was paused
    assert events(engine, "case_resolved")[0]["handling_working_hours"] == 1.5
