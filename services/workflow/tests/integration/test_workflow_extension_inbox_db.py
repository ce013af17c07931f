"""The 延期审批 inbox: ``list_cases(extension_pending=True)`` keeps the cases with a request waiting for a
decision, in the caller's estate scope, each with its pending requests."""
import datetime as dt

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


def _open(engine, clock, estate):
    env = received(estate=estate)
    env.payload["severity"] = "moderate"
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"]


def _ask(engine, clock, case_id, estate, reason):
    due = next(d for d in handlers.get_case(case_id, TENANT, engine)["deadlines"] if d["stage"] == "resolution")
    new_due = (dt.datetime.fromisoformat(due["due_at"]) + dt.timedelta(days=2)).isoformat()
    actions.act(case_id, "request_extension", {"new_due_at": new_due, "reason": reason}, TENANT, "agent-1",
                UnitOfWork(engine, reliability, clock), 1, roles=[["agent", estate]])
    return new_due


def _inbox(engine, clock, roles):
    return handlers.list_cases(TENANT, roles, "someone", engine, clock.now(), status="active",
                               extension_pending=True)


def test_only_cases_with_a_pending_request_in_scope_are_listed_with_the_request(workflow_engine, clock):
    seed_demo(workflow_engine)
    asked = _open(workflow_engine, clock, "DEMO-OFFICE")
    quiet = _open(workflow_engine, clock, "DEMO-OFFICE")
    elsewhere = _open(workflow_engine, clock, "DEMO-RES")
    new_due = _ask(workflow_engine, clock, asked, "DEMO-OFFICE", "等待厂家配件")
    _ask(workflow_engine, clock, elsewhere, "DEMO-RES", "业主出差")

    office = _inbox(workflow_engine, clock, [["cs_supervisor", "DEMO-OFFICE"]])
    assert [i["complaint_id"] for i in office["items"]] == [asked] and office["total"] == 1
    [request] = office["items"][0]["pending_extensions"]
    assert request["stage"] == "resolution" and request["reason"] == "等待厂家配件"
    assert request["requested_by"] == "agent-1"
    assert dt.datetime.fromisoformat(request["new_due_at"]) == dt.datetime.fromisoformat(new_due)
    group = _inbox(workflow_engine, clock, [["head_office", None]])
    assert {i["complaint_id"] for i in group["items"]} == {asked, elsewhere}
    assert quiet not in {i["complaint_id"] for i in group["items"]}
    # without the filter the queue has no extension field and lists every case
    plain = handlers.list_cases(TENANT, [["head_office", None]], "someone", workflow_engine, clock.now())
    assert plain["total"] == 3 and "pending_extensions" not in plain["items"][0]


def test_a_decided_request_leaves_the_inbox(workflow_engine, clock):
    seed_demo(workflow_engine)
    case_id = _open(workflow_engine, clock, "DEMO-OFFICE")
    _ask(workflow_engine, clock, case_id, "DEMO-OFFICE", "等待厂家配件")
    actions.act(case_id, "decide_extension", {"approve": False, "note": "请按期完成"}, TENANT, "supervisor-1",
                UnitOfWork(workflow_engine, reliability, clock), 2, roles=[["cs_supervisor", "DEMO-OFFICE"]])
    assert _inbox(workflow_engine, clock, [["head_office", None]]) == {"total": 0, "items": []}
