"""list_cases on a real database: estate scope from roles, tenant isolation, next deadline, filters."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
HQ = [["head_office", None]]
SUPERVISOR_RES = [["cs_supervisor", "DEMO-RES"]]


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


def listed(engine, now, roles, tenant=TENANT, **filters):
    return handlers.list_cases(tenant, roles, "user-1", engine, now, **filters)


def test_site_roles_see_their_estates_and_no_other_tenants_rows(cases, clock):
    engine, ids = cases
    everything = listed(engine, clock.now(), HQ)
    assert {i["complaint_id"] for i in everything["items"]} == {ids["res"], ids["office"]}
    assert everything["total"] == 2
    mine = listed(engine, clock.now(), SUPERVISOR_RES)
    assert [i["complaint_id"] for i in mine["items"]] == [ids["res"]] and mine["total"] == 1
    assert listed(engine, clock.now(), SUPERVISOR_RES, estate="DEMO-OFFICE") == {"total": 0, "items": []}
    assert listed(engine, clock.now(), [["agent", None]]) == {"total": 0, "items": []}  # unbound site role
    assert listed(engine, clock.now(), []) == {"total": 0, "items": []}
    other = listed(engine, clock.now(), HQ, tenant=OTHER_TENANT["id"])
    assert [i["complaint_id"] for i in other["items"]] == [ids["other"]]


def test_item_carries_next_deadline_version_and_overdue(cases, clock):
    engine, ids = cases
    [item] = listed(engine, clock.now(), SUPERVISOR_RES)["items"]
    assert item["next_deadline"]["stage"] == "first_contact" and item["overdue"] is False
    assert item["version"] == 1 and item["escalation_level"] == 0 and item["assignee"] is None
    assert item["estate"] == "DEMO-RES" and item["status"] == "open"
    actions.act(ids["res"], "contact", {}, TENANT, "agent-1", UnitOfWork(engine, reliability, clock), 1)
    [item] = listed(engine, clock.now(), SUPERVISOR_RES)["items"]
    assert item["next_deadline"]["stage"] != "first_contact" and item["version"] == 2
    later = clock.now() + dt.timedelta(days=30)
    assert {i["complaint_id"] for i in listed(engine, later, HQ, overdue=True)["items"]} == {ids["res"],
                                                                                          ids["office"]}
    assert listed(engine, clock.now(), HQ, overdue=True)["items"] == []
    assert all(i["overdue"] for i in listed(engine, later, HQ)["items"])


def test_filters_status_escalated_mine_and_ids(cases, clock):
    engine, ids = cases
    actions.act(ids["office"], "resolve", {"cause": "facility_fault", "remedy": "修复"}, TENANT, "agent-1",
                UnitOfWork(engine, reliability, clock), 1)
    assert [i["complaint_id"] for i in listed(engine, clock.now(), HQ, status="active")["items"]] == [ids["res"]]
    assert [i["complaint_id"] for i in listed(engine, clock.now(), HQ, status="resolved")["items"]] == [
        ids["office"]]
    resolved = listed(engine, clock.now(), HQ, status="resolved")["items"][0]
    assert resolved["next_deadline"] is None and resolved["overdue"] is False
    assert listed(engine, clock.now(), HQ, escalated=True)["items"] == []
    with engine.begin() as conn:
        from workflow.tables import cases as table
        conn.execute(table.update().where(table.c.id == ids["res"]).values(escalation_level=2,
                                                                          assignee="user-1"))
    assert [i["escalation_level"] for i in listed(engine, clock.now(), HQ, escalated=True)["items"]] == [2]
    assert [i["complaint_id"] for i in listed(engine, clock.now(), HQ, mine=True)["items"]] == [ids["res"]]
    with engine.begin() as conn:  # routing rules and the duty roster assign by username
        conn.execute(table.update().where(table.c.id == ids["res"]).values(assignee="agent@demo"))
    assert listed(engine, clock.now(), HQ, mine=True)["items"] == []
    assert [i["complaint_id"] for i in listed(engine, clock.now(), HQ, mine=True,
                                              assignee_names=["agent@demo"])["items"]] == [ids["res"]]
    some = listed(engine, clock.now(), HQ, complaint_ids=[ids["office"], str(uuid.uuid4())])
    assert [i["complaint_id"] for i in some["items"]] == [ids["office"]]
    assert listed(engine, clock.now(), HQ, limit=1)["total"] == 2
    assert len(listed(engine, clock.now(), HQ, limit=1, offset=1)["items"]) == 1


def test_list_cases_over_rpc_scopes_by_the_roles_in_the_context(cases, container_factory, rabbit_config,
                                                                 workflow_db):
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy

    from estatedesk_common.testing import service_config
    from workflow.service import WorkflowService

    _, ids = cases
    container_factory(WorkflowService, service_config(rabbit_config, workflow_db)).start()
    context = {"tenant_id": TENANT, "user_id": "sup-1", "roles": SUPERVISOR_RES}
    with ServiceRpcProxy("workflow", rabbit_config, context_data=context, timeout=10) as rpc:
        found = rpc.list_cases()
        assert [i["complaint_id"] for i in found["items"]] == [ids["res"]]
        assert rpc.list_cases(estate="DEMO-OFFICE") == {"total": 0, "items": []}
    with ServiceRpcProxy("workflow", rabbit_config, context_data=context | {"roles": HQ}, timeout=10) as rpc:
        assert rpc.list_cases(status="active", limit=10)["total"] == 2
    with ServiceRpcProxy("workflow", rabbit_config, context_data={"roles": HQ}, timeout=10) as anonymous:
        with pytest.raises(RemoteError, match="tenant_required"):
            anonymous.list_cases()
