"""Recomputing open cases under a new policy version on a real database: stages added, dropped and moved, past
due deadlines breaching once, batches with a report, a run that stopped midway resuming, and nothing twice."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common import timers
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import escalation, handlers, policy_admin, presets, recompute
from workflow.domain.sla import parse
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow.tables import timers as timer_table

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
DIRECTORY = [{"code": "DEMO-OFFICE", "region": "EAST"}, {"code": "DEMO-RES", "region": "EAST"},
             {"code": "DEMO-NEW", "region": "WEST"}]


class Clock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now


def new_group():
    """seed 002 with moderate ``plan`` dropped, ``owner_briefed`` added, ``department_plan`` 24h -> 30m."""
    doc = parse(presets.text("seed002"))
    stages = doc["severities"]["moderate"]["stages"]
    stages[:] = [s for s in stages if s["name"] != "plan"]
    for s in stages:
        if s["name"] == "department_plan":
            s["limit"] = "30m"
    stages.append({"name": "owner_briefed", "limit": "4h", "met_by": ["progress"]})
    return doc


def open_case(engine, clock, received_at, estate="DEMO-RES"):
    env = received(estate=estate, complaint_id=str(uuid.uuid4()))
    env.payload.update(severity="moderate", received_at=received_at.isoformat(),
                       reference=f"TS-{env.payload['complaint_id'][:8]}")
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"]


def deadlines(engine, case_id):
    return {d["stage"]: d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"]}


def pending_timers(engine, case_id, stage):
    with engine.connect() as conn:
        return conn.execute(select(timer_table.c.kind, timer_table.c.due_at).where(
            timer_table.c.subject_id == case_id, timer_table.c.key == stage, timer_table.c.fired_at.is_(None),
            timer_table.c.cancelled_at.is_(None)).order_by(timer_table.c.kind)).all()


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def test_stages_are_added_dropped_and_moved_in_batches_with_a_report(engine, clock):
    now = clock.now()
    old = open_case(engine, clock, now - dt.timedelta(hours=3))  # department_plan was due at +4h: now past
    fresh = [open_case(engine, clock, now - dt.timedelta(minutes=m)) for m in (20, 10)]
    before = deadlines(engine, fresh[0])
    report = policy_admin.save(UnitOfWork(engine, reliability, clock), TENANT, "admin-1", "group", new_group(),
                               recompute_open=True, directory=DIRECTORY, batch_size=2)
    run = report["recompute"]
    assert run["status"] == "done" and [b["examined"] for b in run["batches"]] == [2, 1]
    totals = run["totals"]
    assert totals["examined"] == 3 and totals["changed"] == 3
    assert totals["stages_added"] == 3 and totals["stages_removed"] == 3 and totals["moved_earlier"] == 3
    assert totals["past_due"] == 1 and run["past_due"][0]["stage"] == "department_plan"
    after = deadlines(engine, fresh[0])
    assert "plan" not in after and "plan" in before  # dropped: no deadline, no timers
    assert pending_timers(engine, fresh[0], "plan") == []
    assert dt.datetime.fromisoformat(after["owner_briefed"]["due_at"]) == now + dt.timedelta(hours=4, minutes=-20)
    assert [k for k, _ in pending_timers(engine, fresh[0], "owner_briefed")] == ["sla_breach", "sla_warning"]
    moved = dt.datetime.fromisoformat(after["department_plan"]["due_at"])
    assert moved == dt.datetime.fromisoformat(after["assignment"]["due_at"]) + dt.timedelta(minutes=30)
    case = handlers.get_case(fresh[0], TENANT, engine)
    entry = case["timeline"][-1]
    assert entry["kind"] == "deadlines_recomputed" and "group@v1 → group@v2" in entry["text"] and "plan" in entry["text"]
    assert "group@v2" in case["policy_version"] and case["version"] == 2
    # the past-due stage breaches once, at the next tick, without a warning first
    assert [k for k, _ in pending_timers(engine, old, "department_plan")] == ["sla_breach"]
    timers.fire_due(lambda: UnitOfWork(engine, reliability, clock), timer_table, escalation.on_timer)
    breached = [t for t in handlers.get_case(old, TENANT, engine)["timeline"]
                if t["kind"] == "sla_breached" and "department_plan" in t["text"]]
    assert len(breached) == 1 and pending_timers(engine, old, "department_plan") == []


def test_a_run_that_stopped_midway_resumes_from_its_timer_and_does_nothing_twice(engine, clock):
    now = clock.now()
    ids = [open_case(engine, clock, now - dt.timedelta(minutes=m)) for m in (30, 20, 10)]
    uow = UnitOfWork(engine, reliability, clock)
    from workflow import repository
    with uow:  # what save does before its batches: the version and the record of the run, one transaction
        version = policy_admin._next_version(uow.conn, TENANT, "group")
        repository.add_policy(uow.conn, TENANT, "group", new_group(), now, now, "admin-1")
        recompute.start(uow.conn, TENANT, "group", version, DIRECTORY, "admin-1", now, batch_size=2)
        uow.commit()
    with uow:  # one batch, then the process "dies"
        assert recompute.run_batch(uow, TENANT, "group", version) is False
        uow.commit()
    with engine.connect() as conn:
        assert recompute.report(conn, TENANT, "group", version)["status"] == "running"
    later = Clock(now + recompute.RESUME_AFTER + dt.timedelta(seconds=1))
    for _ in range(3):
        timers.fire_due(lambda: UnitOfWork(engine, reliability, later), timer_table, escalation.on_timer)
    with engine.connect() as conn:
        rep = recompute.report(conn, TENANT, "group", version)
    assert rep["status"] == "done" and rep["totals"]["examined"] == 3 and rep["totals"]["changed"] == 3
    assert all(len([t for t in handlers.get_case(i, TENANT, engine)["timeline"]
                    if t["kind"] == "deadlines_recomputed"]) == 1 for i in ids)
    case = handlers.get_case(ids[0], TENANT, engine)  # a case already under the version is skipped
    tally = dict.fromkeys(recompute.COUNTS, 0)
    with uow:
        row = repository.get_case(uow.conn, TENANT, ids[0])
        recompute._recompute_case(uow, TENANT, row, "group", version, new_group(), "admin-1", now, tally,
                                  {"failed": [], "recomputed": [], "past_due": []})
        uow.commit()
    assert tally["unchanged"] == 1 and tally["changed"] == 0
    assert handlers.get_case(ids[0], TENANT, engine)["version"] == case["version"]


def test_an_estate_override_recompute_touches_only_that_estate_and_keeps_met_stages(engine, clock):
    from workflow import actions
    here = open_case(engine, clock, clock.now(), estate="DEMO-OFFICE")
    there = open_case(engine, clock, clock.now(), estate="DEMO-RES")
    actions.act(here, "contact", {}, TENANT, "agent-1", UnitOfWork(engine, reliability, clock), 1)
    met = deadlines(engine, here)["first_contact"]
    override = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: 10m}\n" \
               "      - {name: resolution, limit: 2wd}\n"
    report = policy_admin.save(UnitOfWork(engine, reliability, clock), TENANT, "admin-1", "estate:DEMO-OFFICE",
                               override, recompute_open=True, directory=DIRECTORY)
    assert report["recompute"]["totals"]["examined"] == 1
    assert [m["stage"] for m in report["recomputed"]] == ["resolution"]
    assert deadlines(engine, here)["first_contact"] == met
    assert handlers.get_case(there, TENANT, engine)["version"] == 1
