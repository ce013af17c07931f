"""team_workload on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): counts per estate and
assignee, deferred cases never overdue, finished cases left out, estate scope and tenant isolation."""
import datetime as dt

import pytest
from sqlalchemy import update

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers, workload
from workflow.seed import seed_demo
from workflow.tables import case_deadlines, cases, reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
HQ = [["head_office", None]]
SUPERVISOR_RES = [["cs_supervisor", "DEMO-RES"]]


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def case_with(engine, clock, *, estate="DEMO-RES", assignee=None, status=None, due_in=None, tenant=TENANT):
    """A case opened now, then given an assignee, a status and its unmet deadlines due ``due_in`` from now."""
    env = received(estate=estate, tenant=tenant)
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    case_id = env.payload["complaint_id"]
    with engine.begin() as conn:
        values = {"assignee": assignee} | ({"status": status} if status else {})
        conn.execute(update(cases).where(cases.c.tenant_id == tenant, cases.c.id == case_id).values(**values))
        if due_in is not None:
            conn.execute(update(case_deadlines).where(
                case_deadlines.c.tenant_id == tenant, case_deadlines.c.case_id == case_id,
                case_deadlines.c.met_at.is_(None)).values(due_at=clock.now() + due_in))
    return case_id


def rows(engine, clock, roles, tenant=TENANT, estate=None):
    with engine.connect() as conn:
        found = workload.team_workload(conn, tenant, roles, estate, clock.now())
    return {(i["estate"], i["assignee"]): (i["open"], i["overdue"], i["due_24h"], i["deferred"])
            for i in found["items"]}


def test_counts_per_estate_and_assignee(engine, clock):
    hour = dt.timedelta(hours=1)
    case_with(engine, clock, assignee="wang", due_in=-hour)                # overdue
    case_with(engine, clock, assignee="wang", due_in=3 * hour)             # due within 24 h
    case_with(engine, clock, assignee="wang", due_in=30 * hour)            # later
    case_with(engine, clock, assignee="wang", status="deferred", due_in=-hour)  # paused: never overdue
    case_with(engine, clock, assignee="wang", status="resolved", due_in=-hour)  # finished: not counted
    case_with(engine, clock, assignee="li", due_in=23 * hour)
    case_with(engine, clock, assignee=None, due_in=-hour)                  # unassigned
    case_with(engine, clock, estate="DEMO-OFFICE", assignee="zhao", due_in=-hour)
    case_with(engine, clock, assignee="wang", due_in=-hour, tenant=OTHER_TENANT["id"])
    assert rows(engine, clock, HQ) == {
        ("DEMO-RES", "wang"): (4, 1, 1, 1), ("DEMO-RES", "li"): (1, 0, 1, 0), ("DEMO-RES", None): (1, 1, 0, 0),
        ("DEMO-OFFICE", "zhao"): (1, 1, 0, 0)}
    with engine.connect() as conn:
        items = workload.team_workload(conn, TENANT, HQ, None, clock.now())["items"]
    assert [(i["estate"], i["assignee"]) for i in items][:2] == [("DEMO-OFFICE", "zhao"), ("DEMO-RES", "wang")]
    assert items[1]["estate_name"]  # the name the case was opened with
    assert rows(engine, clock, HQ, tenant=OTHER_TENANT["id"]) == {("DEMO-RES", "wang"): (1, 1, 0, 0)}


def test_estate_scope_from_roles(engine, clock):
    case_with(engine, clock, assignee="wang")
    case_with(engine, clock, estate="DEMO-OFFICE", assignee="zhao")
    assert set(rows(engine, clock, SUPERVISOR_RES)) == {("DEMO-RES", "wang")}
    assert rows(engine, clock, SUPERVISOR_RES, estate="DEMO-OFFICE") == {}  # another estate: nothing
    assert set(rows(engine, clock, HQ, estate="DEMO-OFFICE")) == {("DEMO-OFFICE", "zhao")}
    assert rows(engine, clock, [["cs_supervisor", None]]) == {} and rows(engine, clock, []) == {}  # fail closed
