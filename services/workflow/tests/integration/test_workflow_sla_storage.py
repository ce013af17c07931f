"""SLA policies as tenant data: resolution group -> region -> estate, versions by effective_from, cases that keep
the version they were opened under, preview and the policy in force (SQLite, and Postgres with
TEST_DATABASE_URL)."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.migrate import upgrade
from estatedesk_common.testing import drop_test_db, new_test_db
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers, policies, presets, repository
from workflow.exceptions import CalendarMissing, PolicyRejected
from workflow.seed import seed_demo
from workflow.tables import case_deadlines, cases, reliability, sla_policies

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
UTC = dt.timezone.utc
SINCE = dt.datetime(2020, 1, 1, tzinfo=UTC)


def at(text):
    return dt.datetime.fromisoformat(text)


def override(stage, limit, severity="moderate"):
    return {"severities": {severity: {"stages": [{"name": stage, "limit": limit}]}}}


def store(engine, scope, document, effective_from=SINCE, tenant=TENANT):
    with engine.begin() as conn:
        return repository.add_policy(conn, tenant, scope, document, effective_from, SINCE, "test")


def received(estate="DEMO-RES", region="EAST", when="2026-11-24T02:00:00+00:00", severity=None, channel="web",
             tenant=TENANT):
    return Envelope("complaint_received", tenant, {
        "complaint_id": str(uuid.uuid4()), "reference": "TS20261124-" + uuid.uuid4().hex[:6].upper(),
        "estate": {"code": estate, "name": estate, "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": region},
        "channel": channel, "description": "电梯故障", "complainant": {"name": "赵", "phone": "13700137000"},
        "category": None, "severity": severity, "urgent": False, "received_at": when, "received_by": None,
        "schema_version": 1})


def first_contact(engine, estate="DEMO-RES", region="EAST", when="2026-11-24T02:00:00+00:00", tenant=TENANT):
    with engine.connect() as conn:
        policy = policies.effective_policy(conn, tenant, {"code": estate, "region": region}, at(when))
    return policy, str({s.name: s for s in policy.stages_for("moderate")}["first_contact"].limit)


def test_group_region_estate_resolution(workflow_engine):
    store(workflow_engine, "group", presets.load("seed002"))
    store(workflow_engine, "region:EAST", override("first_contact", "45m"))
    store(workflow_engine, "estate:DEMO-OFFICE", override("first_contact", "30m"))
    assert first_contact(workflow_engine, "DEMO-OFFICE")[1] == "30m"
    policy, limit = first_contact(workflow_engine, "DEMO-RES")
    assert limit == "45m" and policy.version_label == "group@v1 + region:EAST@v1"
    assert first_contact(workflow_engine, "DEMO-RES", region="WEST")[1] == "1h"  # the group's
    assert first_contact(workflow_engine, "DEMO-RES", region=None)[1] == "1h"


def test_the_version_in_force_at_receipt_applies(workflow_engine):
    store(workflow_engine, "group", presets.load("seed002"))
    v2 = presets.load("seed002")
    v2["severities"]["moderate"]["stages"][0]["limit"] = "20m"
    store(workflow_engine, "group", v2, effective_from=at("2026-12-01T00:00:00+08:00"))
    before, limit = first_contact(workflow_engine, when="2026-11-30T15:59:00+00:00")
    assert (before.version_label, limit) == ("group@v1", "1h")
    after, limit = first_contact(workflow_engine, when="2026-11-30T16:00:00+00:00")
    assert (after.version_label, limit) == ("group@v2", "20m")


def test_a_case_keeps_the_policy_it_was_opened_under(workflow_engine, clock):
    seed_demo(workflow_engine)
    env = received(estate="DEMO-OFFICE")
    assert handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    store(workflow_engine, "estate:DEMO-OFFICE", override("first_contact", "10m"), effective_from=SINCE)
    case = handlers.get_case(env.payload["complaint_id"], TENANT, workflow_engine)
    assert case["policy_version"] == "group@v1 + estate:DEMO-OFFICE@v1"
    deadlines = {d["stage"]: d for d in case["deadlines"]}
    assert deadlines["first_contact"]["due_at"] == "2026-11-24T02:30:00+00:00"
    assert deadlines["first_contact"]["limit"] == "30m"
    assert "项目自定时限" in deadlines["first_contact"]["explanation"]
    assert "30 分钟" in deadlines["first_contact"]["explanation"]
    assert "Estate's own limit" in deadlines["first_contact"]["explanation_en"]
    assert deadlines["resolution"]["due_at"] == "2026-12-01T09:30:00+00:00"  # 5wd: Tue + 5 -> next Tue 17:30
    assert "集团默认时限" in deadlines["resolution"]["explanation"]
    with workflow_engine.connect() as conn:
        levels = conn.execute(select(cases.c.policy_levels)).scalar_one()
        data = conn.execute(select(case_deadlines.c.explanation_data).where(
            case_deadlines.c.stage == "resolution")).scalar_one()
    assert levels == [{"scope": "group", "version": 1}, {"scope": "estate:DEMO-OFFICE", "version": 1}]
    assert data["unit"] == "wd" and data["policy"]["source"] == "group"
    later = received(estate="DEMO-OFFICE")  # a new case gets the new version
    handlers.open_case(later, UnitOfWork(workflow_engine, reliability, clock))
    case = handlers.get_case(later.payload["complaint_id"], TENANT, workflow_engine)
    assert case["policy_version"] == "group@v1 + estate:DEMO-OFFICE@v2"


def test_demo_seed_handover_estate_and_committee_stage(workflow_engine, clock):
    assert seed_demo(workflow_engine) == seed_demo(workflow_engine)  # idempotent
    with workflow_engine.connect() as conn:
        assert len(conn.execute(select(sla_policies)).all()) == 3
    env = received(estate="DEMO-NEW", channel="committee")
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    stages = {d["stage"]: d for d in handlers.get_case(env.payload["complaint_id"], TENANT, workflow_engine)["deadlines"]}
    assert {"simple_fix", "site_investigation", "owner_acceptance", "committee_forward"} <= set(stages)
    assert stages["site_investigation"]["due_at"] == "2026-11-26T02:00:00+00:00"  # 48 h
    assert stages["committee_forward"]["due_at"] == "2026-11-24T04:00:00+00:00"  # seed 002 §4.1: 2 h


def test_a_severity_the_policy_lacks_falls_back_to_the_default_and_says_so(workflow_engine, clock):
    seed_demo(workflow_engine)
    env = received(severity="urgent")
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    case = handlers.get_case(env.payload["complaint_id"], TENANT, workflow_engine)
    assert case["severity"] == "moderate" and "「urgent」不在策略中" in case["timeline"][0]["text"]
    major = received(severity="major")
    handlers.open_case(major, UnitOfWork(workflow_engine, reliability, clock))
    stages = [d["stage"] for d in handlers.get_case(major.payload["complaint_id"], TENANT, workflow_engine)["deadlines"]]
    assert stages[0] == "first_contact" and "special_team" in stages


def test_a_tenant_without_policies_runs_on_the_builtin_preset(workflow_engine, clock):
    seed_demo(workflow_engine)  # the demo tenant's policies must not leak to another tenant
    other = str(uuid.uuid4())
    env = received(estate="DEMO-OFFICE", tenant=other)
    handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    case = handlers.get_case(env.payload["complaint_id"], other, workflow_engine)
    assert case["policy_version"] == "builtin"
    first = next(d for d in case["deadlines"] if d["stage"] == "first_contact")
    assert first["due_at"] == "2026-11-24T03:00:00+00:00" and "系统默认时限" in first["explanation"]


def test_a_stage_the_calendar_cannot_count_is_reported_not_guessed(workflow_engine, clock):
    seed_demo(workflow_engine)
    env = received(when="2026-12-30T02:00:00+00:00")
    assert handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    case = handlers.get_case(env.payload["complaint_id"], TENANT, workflow_engine)
    assert "resolution" not in {d["stage"] for d in case["deadlines"]}
    assert "first_contact" in {d["stage"] for d in case["deadlines"]}
    assert "阶段「resolution」无法计算时限" in case["timeline"][0]["text"] and "2027" in case["timeline"][0]["text"]


def test_preview_and_policy_in_force(workflow_engine, clock):
    seed_demo(workflow_engine)
    office = {"code": "DEMO-OFFICE", "region": "EAST"}
    result = handlers.preview_sla(TENANT, workflow_engine, None, "2026-02-13T16:00:00+08:00", "moderate",
                                  estate=office)
    stages = {s["name"]: s for s in result["stages"]}
    assert result["policy_version"] == "group@v1 + estate:DEMO-OFFICE@v1"
    assert stages["first_contact"]["due_at"] == "2026-02-13T16:30:00+08:00"
    assert stages["resolution"]["due_at"] == "2026-02-27T17:30:00+08:00" and "春节" in stages["resolution"]["explanation"]
    own = handlers.preview_sla(TENANT, workflow_engine, presets.text("seed001"), "2026-02-13T16:00:00+08:00", "major")
    assert own["policy_version"] == "preview" and [s["name"] for s in own["stages"]] == ["first_contact", "resolution"]
    with pytest.raises(PolicyRejected) as info:
        handlers.preview_sla(TENANT, workflow_engine, "timezone: Asia/Shanghai\ncalendar: moon\n", "2026-02-13T16:00:00+08:00", "x")
    assert {"path": "calendar", "line": 2, "problem": "unknown calendar 'moon' (known: cn, none)"} in \
        info.value.details["problems"]
    with pytest.raises(CalendarMissing):
        handlers.preview_sla(TENANT, workflow_engine, None, "2027-02-13T16:00:00+08:00", "moderate", estate=office)
    with pytest.raises(ValidationFailed):
        handlers.preview_sla(TENANT, workflow_engine, None, "yesterday", "moderate", estate=office)
    in_force = handlers.get_sla_policy(TENANT, workflow_engine, office, None, clock)
    assert in_force["policy_version"] == "group@v1 + estate:DEMO-OFFICE@v1"
    assert [level["scope"] for level in in_force["levels"]] == ["group", "estate:DEMO-OFFICE"]
    first = in_force["document"]["severities"]["moderate"]["stages"][0]
    assert (first["limit"], first["source"]) == ("30m", "estate:DEMO-OFFICE")


def test_migration_turns_site_limits_into_estate_overrides():
    import os

    from sqlalchemy import text

    migrations = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))
    target = new_test_db("workflow")
    try:
        upgrade("workflow", migrations, target, revision="90f14570f564")
        engine = make_engine(target)
        with engine.begin() as conn:
            for estate, channel, minutes in (("*", "*", 60), ("*", "committee", 120), ("DEMO-OFFICE", "*", 30)):
                conn.execute(text("INSERT INTO sla_limits (tenant_id, estate_code, channel, stage, minutes) "
                                  "VALUES (:t, :e, :c, 'first_contact', :m)"),
                             {"t": TENANT, "e": estate, "c": channel, "m": minutes})
        engine.dispose()
        upgrade("workflow", migrations, target)
        engine = make_engine(target)
        with engine.connect() as conn:
            rows = conn.execute(select(sla_policies.c.scope, sla_policies.c.document)).all()
        assert [(scope, doc["severities"]) for scope, doc in rows] == [
            ("estate:DEMO-OFFICE", {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]}})]
        assert first_contact(engine, "DEMO-OFFICE")[1] == "30m"
        engine.dispose()
    finally:
        drop_test_db(target)
