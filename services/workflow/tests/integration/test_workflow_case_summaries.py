"""case_summaries on a real database: open/closed, resolution deadline, last change, tenant and estate scope."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers
from workflow.case_summaries import case_summaries
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


@pytest.fixture
def cases(workflow_engine, clock):
    seed_demo(workflow_engine)
    opened = {}
    for key, estate, tenant in [("res", "DEMO-RES", TENANT), ("office", "DEMO-OFFICE", TENANT),
                                ("other", "DEMO-RES", OTHER_TENANT["id"])]:
        env = received(estate=estate, tenant=tenant)
        env.payload["severity"] = "moderate"
        handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
        opened[key] = env.payload["complaint_id"]
    return workflow_engine, opened


def by_id(rows):
    return {r["complaint_id"]: r for r in rows}


def test_open_cases_carry_their_resolution_deadline(cases):
    engine, ids = cases
    rows = by_id(case_summaries([ids["res"], ids["office"]], TENANT, None, engine))
    res = rows[ids["res"]]
    assert res["status"] == "open" and res["closed"] is False and res["estate_name"] and res["version"] == 1
    deadlines = handlers.get_case(ids["res"], TENANT, engine)["deadlines"]
    assert res["resolution_due_at"] == next(d["due_at"] for d in deadlines if d["stage"] == "resolution")
    assert res["updated_at"] and res["updated_at"].endswith("+00:00")


def test_cancelled_and_closed_cases_are_closed(cases, clock):
    engine, ids = cases
    uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    actions.act(ids["res"], "cancel", {"reason": "重复投诉"}, TENANT, "agent-1", uow(), 1)
    actions.act(ids["office"], "resolve", {"cause": "facility_fault", "remedy": "已更换灯泡"}, TENANT, "agent-1",
                uow(), 1)
    rows = by_id(case_summaries([ids["res"], ids["office"]], TENANT, None, engine))
    assert rows[ids["res"]]["closed"] is True and rows[ids["res"]]["cancel_reason"] == "重复投诉"
    office = rows[ids["office"]]
    assert office["status"] == "resolved" and office["closed"] is False and office["remedy"] == "已更换灯泡"
    # the version intake's case-status projection orders by: in the summary and in the events that set a status
    # (case_opened: 1; each action: the case's new version)
    with engine.connect() as conn:
        sent = [b for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["payload"].get("complaint_id") == ids["office"]]
    versions = {b["event_type"]: b["payload"].get("version") for b in sent}
    assert office["version"] == 2 and versions["case_opened"] == 1 and versions["case_resolved"] == 2
    at = dt.datetime.fromisoformat
    assert office["resolved_at"] and at(office["updated_at"]) >= at(office["resolved_at"])


def test_other_tenants_cases_unknown_ids_and_estate_scope(cases):
    engine, ids = cases
    everything = [ids["res"], ids["office"], ids["other"], str(uuid.uuid4()), "not-an-id"]
    assert set(by_id(case_summaries(everything, TENANT, None, engine))) == {ids["res"], ids["office"]}
    assert set(by_id(case_summaries(everything, OTHER_TENANT["id"], None, engine))) == {ids["other"]}
    scoped = case_summaries(everything, TENANT, [["cs_supervisor", "DEMO-RES"]], engine)
    assert [r["complaint_id"] for r in scoped] == [ids["res"]]
    assert case_summaries(everything, TENANT, [], engine) == []
    assert case_summaries([], TENANT, None, engine) == []
    with pytest.raises(ValidationFailed):
        case_summaries([str(uuid.uuid4())] * 1001, TENANT, None, engine)
    with pytest.raises(ValidationFailed):
        case_summaries("not a list", TENANT, None, engine)
