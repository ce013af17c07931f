"""Saving SLA policy versions on a real database: bad lines refused (the old version stays), recompute report."""
import datetime as dt

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers, policies, policy_admin
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
DIRECTORY = [{"code": "DEMO-OFFICE", "region": "EAST"}, {"code": "DEMO-RES", "region": "EAST"},
             {"code": "DEMO-NEW", "region": "WEST"}]
BAD = """severities:
  moderate:
    stages:
      - {name: first_contact, limit: "-2h"}
"""
GOOD = """severities:
  moderate:
    stages:
      - {name: first_contact, limit: "10m"}
      - {name: resolution, limit: "2wd"}
"""


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def save(engine, clock, scope, document, **kw):
    return policy_admin.save(UnitOfWork(engine, reliability, clock), TENANT, "admin-1", scope, document,
                             directory=DIRECTORY, **kw)


def in_force(engine, clock, estate="DEMO-OFFICE"):
    with engine.connect() as conn:
        return policies.policy_in_force(conn, TENANT, {"code": estate, "region": "EAST"}, clock.now())


def test_a_bad_line_is_refused_with_its_number_and_the_old_version_stays(engine, clock):
    before = in_force(engine, clock)
    with pytest.raises(ValidationFailed) as err:
        save(engine, clock, "estate:DEMO-OFFICE", BAD)
    assert err.value.code == "policy_invalid" and err.value.details["line"] == 4
    with pytest.raises(ValidationFailed) as err:  # a severity the group does not define
        save(engine, clock, "estate:DEMO-OFFICE", "severities:\n  critical:\n    stages: []\n")
    assert err.value.code == "policy_invalid" and "critical" in str(err.value)
    overlapping = ("timezone: Asia/Shanghai\ncalendar: cn\ndefault_severity: moderate\nbusiness_hours:\n"
                   "  - {start: '08:30', end: '12:00'}\n  - {start: '11:00', end: '17:30'}\n"
                   "severities:\n  moderate:\n    stages: [{name: first_contact, limit: 1h}]\n")
    with pytest.raises(ValidationFailed) as err:
        save(engine, clock, "group", overlapping)
    assert err.value.code == "policy_invalid" and err.value.details["line"] in (5, 6)
    with pytest.raises(ValidationFailed) as err:
        save(engine, clock, "estate:DEMO-OFFICE", GOOD, effective_from="2026-01-01T00:00:00+08:00")
    assert err.value.details["field"] == "effective_from"
    with pytest.raises(ValidationFailed) as err:
        save(engine, clock, "county:X", GOOD)
    assert err.value.details["field"] == "scope"
    assert in_force(engine, clock)["policy_version"] == before["policy_version"]
    with engine.connect() as conn:
        assert [v["version"] for v in policy_admin.versions(conn, TENANT, "estate:DEMO-OFFICE")["items"]] == [1]


def test_a_year_the_calendar_does_not_know_is_refused(engine, clock):
    far = type(clock)(dt.datetime(2199, 1, 2, 2, 0, tzinfo=dt.timezone.utc))
    with pytest.raises(ValidationFailed) as err:
        save(engine, far, "estate:DEMO-OFFICE", GOOD)
    assert err.value.code == "calendar_unavailable" and err.value.details["year"] == 2199


def test_new_version_applies_to_new_cases_only_unless_recompute(engine, clock):
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    old = {d["stage"]: d["due_at"] for d in handlers.get_case(case_id, TENANT, engine)["deadlines"]}
    report = save(engine, clock, "estate:DEMO-OFFICE", GOOD)
    assert report["version"] == 2 and report["recomputed"] == [] and report["unchanged"] == 0
    assert {d["stage"]: d["due_at"] for d in handlers.get_case(case_id, TENANT, engine)["deadlines"]} == old
    report = save(engine, clock, "estate:DEMO-OFFICE", GOOD, recompute_open=True)
    assert report["version"] == 3
    moved = {m["stage"]: m for m in report["recomputed"]}
    assert set(moved) == {"first_contact", "resolution"} and report["failed"] == []
    assert dt.datetime.fromisoformat(moved["first_contact"]["new_due"]) == clock.now() + dt.timedelta(minutes=10)
    case = handlers.get_case(case_id, TENANT, engine)
    assert "estate:DEMO-OFFICE@v3" in case["policy_version"] and case["version"] == 2
    assert case["timeline"][-1]["kind"] == "deadlines_recomputed"
    with engine.connect() as conn:
        listed = policy_admin.versions(conn, TENANT, "estate:DEMO-OFFICE")["items"]
    assert [v["version"] for v in listed] == [3, 2, 1] and listed[0]["created_by"] == "admin-1"


def test_recompute_never_moves_met_stages(engine, clock):
    from workflow import actions
    env = received(estate="DEMO-OFFICE")
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    actions.act(case_id, "contact", {}, TENANT, "agent-1", UnitOfWork(engine, reliability, clock), 1)
    met = next(d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"] if d["stage"] == "first_contact")
    report = save(engine, clock, "region:EAST", GOOD, recompute_open=True)
    assert [m["stage"] for m in report["recomputed"]] == ["resolution"]
    again = next(d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"] if d["stage"] == "first_contact")
    assert again == met
