"""Routing rules on a real database: who may save and read them, and a new case assigned by them."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from estatedesk_common.db import is_postgres
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Forbidden, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers, routing
from workflow.seed import DEMO_ROUTING, seed_demo, seed_demo_system
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
ADMIN = [["group_admin", None]]
MANAGER_RES = [["site_manager", "DEMO-RES"]]
SUPERVISOR_RES = [["cs_supervisor", "DEMO-RES"]]
AGENT = [["agent", "DEMO-RES"]]


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def save(engine, clock, scope, rules, roles=MANAGER_RES, user="manager-1"):
    return routing.save_rules(UnitOfWork(engine, reliability, clock), TENANT, user, roles, scope, rules)


def open_case(engine, clock, estate="DEMO-RES", category=None, received_by="receiver-1", **payload):
    env = received(estate=estate)
    env.payload.update(category=category, received_by=received_by, **payload)
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return handlers.get_case(env.payload["complaint_id"], TENANT, engine)


def outbox(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def test_site_manager_saves_own_estate_only_and_admin_saves_the_group(engine, clock):
    rule = {"department": "工程部", "team": ["a@demo"]}
    assert save(engine, clock, "estate:DEMO-RES", [rule])["items"][0]["department"] == "工程部"
    for scope, roles in (("estate:DEMO-OFFICE", MANAGER_RES), ("group", MANAGER_RES), ("estate:DEMO-RES", AGENT),
                         ("estate:DEMO-RES", SUPERVISOR_RES)):
        with pytest.raises(Forbidden):
            save(engine, clock, scope, [rule], roles=roles)
    save(engine, clock, "group", [rule | {"department": "客服中心"}], roles=ADMIN, user="admin-1")
    with pytest.raises(ValidationFailed) as err:
        save(engine, clock, "estate:DEMO-RES", [{"department": "工程部", "team": []}])
    assert err.value.details["field"] == "rules[0].team"
    with engine.connect() as conn:
        everything = routing.list_rules(conn, TENANT, ADMIN)["items"]
        theirs = routing.list_rules(conn, TENANT, [["cs_supervisor", "DEMO-OFFICE"]])["items"]
        with pytest.raises(Forbidden):
            routing.list_rules(conn, TENANT, AGENT)
    assert {i["scope"] for i in everything} == {"group", "estate:DEMO-RES"}
    assert [i["scope"] for i in theirs] == ["group"]  # the group's rules, not another estate's
    assert everything[0]["updated_by"] in ("admin-1", "manager-1")
    assert outbox(engine, "routing_rules_saved")[0]["scope"] == "estate:DEMO-RES"


def test_new_cases_go_round_robin_and_the_receiver_stays_owner(engine, clock):
    save(engine, clock, "estate:DEMO-RES", [
        {"category": "facilities_equipment", "department": "工程部", "team": ["a@demo", "b@demo"]},
        {"department": "客服中心", "team": ["c@demo"]}])
    first, second, third = (open_case(engine, clock, category="facilities_equipment") for _ in range(3))
    assert [c["assignee"] for c in (first, second, third)] == ["a@demo", "b@demo", "a@demo"]
    assert first["department"] == "工程部" and first["status"] == "assigned"
    assert first["owner_user_id"] == "receiver-1"  # first-question responsibility: the receiver
    met = {d["stage"]: d["met_at"] for d in first["deadlines"]}
    assert met["assignment"] and met["first_contact"] is None
    routed = [t for t in first["timeline"] if t["kind"] == "case_routed"]
    assert len(routed) == 1 and "工程部" in routed[0]["text"] and "a@demo" in routed[0]["text"]
    other = open_case(engine, clock, category="greening")
    assert (other["assignee"], other["department"]) == ("c@demo", "客服中心")
    events = outbox(engine, "case_assigned")
    assert [e["assignee"] for e in events] == ["a@demo", "b@demo", "a@demo", "c@demo"]
    assert events[0]["routed"] is True and events[0]["stages_met"] == ["assignment"] and events[0]["by"] is None
    kinds = [b for b in outbox_kinds(engine)]
    assert kinds.index("case_opened") < kinds.index("case_assigned")


def test_an_opening_waits_only_for_the_rule_it_uses_and_reads_its_cursor_under_the_lock(engine, clock):
    """PostgreSQL: while one opening holds its rule (not yet committed), a case another rule routes is opened at
    once; one of the same rule waits, then takes the next member. Locking every candidate rule serialised all
    openings of an estate and deadlocked under load (the 10,000-complaint fault run, docs/reliability.md)."""
    if not is_postgres(engine):
        pytest.skip("row locks: PostgreSQL (SQLite serialises writers)")
    save(engine, clock, "estate:DEMO-RES", [
        {"category": "facilities_equipment", "department": "工程部", "team": ["a@demo", "b@demo"]},
        {"category": "security", "department": "秩序维护部", "team": ["s@demo"]}])
    save(engine, clock, "group", [{"department": "客服中心", "team": ["c@demo"]}], roles=ADMIN, user="admin-1")
    with ThreadPoolExecutor(3) as pool, engine.connect() as holder:
        tx = holder.begin()
        try:
            assert routing.assign_new_case(holder, TENANT, "DEMO-RES", "facilities_equipment")[1] == "a@demo"
            same = pool.submit(open_case, engine, clock, category="facilities_equipment")
            other = pool.submit(open_case, engine, clock, category="security")
            by_group = pool.submit(open_case, engine, clock, category="greening")
            assert other.result(timeout=20)["assignee"] == "s@demo"
            assert by_group.result(timeout=20)["assignee"] == "c@demo"
            time.sleep(0.5)
            assert not same.done(), "an opening of the held rule went ahead without its lock"
        finally:
            tx.commit()
        assert same.result(timeout=20)["assignee"] == "b@demo"  # the cursor the holder committed, read under the lock


def outbox_kinds(engine):
    with engine.connect() as conn:
        return [b["event_type"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()]


def test_least_loaded_counts_active_cases_and_no_rule_leaves_the_case_unassigned(engine, clock):
    save(engine, clock, "estate:DEMO-RES", [{"department": "工程部", "team": ["a@demo", "b@demo"],
                                             "strategy": "least_loaded"}])
    picks = [open_case(engine, clock)["assignee"] for _ in range(3)]
    assert picks == ["a@demo", "b@demo", "a@demo"]
    office = open_case(engine, clock, estate="DEMO-OFFICE")
    assert office["assignee"] is None and office["status"] == "open" and office["department"] is None


def test_saving_again_keeps_the_cursor_of_a_kept_member(engine, clock):
    rules = [{"department": "工程部", "team": ["a@demo", "b@demo", "c@demo"]}]
    save(engine, clock, "estate:DEMO-RES", rules)
    assert open_case(engine, clock)["assignee"] == "a@demo"
    save(engine, clock, "estate:DEMO-RES", rules)
    assert open_case(engine, clock)["assignee"] == "b@demo"
    save(engine, clock, "estate:DEMO-RES", [])
    with engine.connect() as conn:
        assert routing.list_rules(conn, TENANT, ADMIN)["items"] == []


def test_demo_rules_route_demo_res(workflow_engine, clock):
    seed_demo_system(workflow_engine)
    seed_demo_system(workflow_engine)  # idempotent
    with workflow_engine.connect() as conn:
        assert len(routing.list_rules(conn, TENANT, ADMIN)["items"]) == len(DEMO_ROUTING)
    case = open_case(workflow_engine, clock, category="security")
    assert (case["department"], case["assignee"]) == ("秩序维护部", "supervisor@demo")
    assert open_case(workflow_engine, clock, category="greening")["assignee"] is None  # assigned by hand
