"""Nonconformity records and CAPA on a real database: opened on resolve, decided by the site manager,
clusters of one cause, the effectiveness check, and estate scope."""
import datetime as dt

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import actions, handlers, quality
from workflow.seed import seed_demo
from workflow.tables import reliability

from test_workflow_escalation_timers import MovableClock
from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
MANAGER = ("manager-1", [["site_manager", "DEMO-RES"]])
AGENT = ("agent-1", [["agent", "DEMO-RES"]])
OFFICE_MANAGER = ("manager-2", [["site_manager", "DEMO-OFFICE"]])
T0 = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)  # the conftest clock's instant


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def opened(engine, clock, estate="DEMO-RES"):
    env = received(estate=estate)
    handlers.open_case(env, UnitOfWork(engine, reliability, clock))
    return env.payload["complaint_id"]


def act(engine, clock, case_id, action, data, who=AGENT, version=None):
    user, roles = who
    return actions.act(case_id, action, data, TENANT, user, UnitOfWork(engine, reliability, clock), version,
                       roles=roles)


def resolve(engine, clock, cause="facility_fault", loss=0, estate="DEMO-RES"):
    case_id = opened(engine, clock, estate)
    act(engine, clock, case_id, "resolve", {"cause": cause, "remedy": "已处理", "loss_amount": loss})
    return case_id


def outbox(engine, event_type):
    with engine.connect() as conn:
        return [b["payload"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()
                if b["event_type"] == event_type]


def listed(engine, what, roles, **kw):
    with engine.connect() as conn:
        if what == "nc":
            return quality.list_nonconformities(conn, TENANT, roles, **kw)["items"]
        return quality.list_capa(conn, TENANT, roles, now=T0, **kw)["items"]


def test_a_big_loss_opens_a_record_the_site_manager_approves_and_a_capa_opens(engine, clock):
    small = resolve(engine, clock, loss=499)
    case_id = resolve(engine, clock, cause="staff_fault_with_loss", loss=800)
    [record] = listed(engine, "nc", MANAGER[1])
    assert (record["complaint_id"], record["status"], record["loss_amount"]) == (case_id, "open", 800)
    assert small not in {r["complaint_id"] for r in listed(engine, "nc", MANAGER[1])}
    assert outbox(engine, "nonconformity_opened")[0]["record_id"] == record["record_id"]
    version = handlers.get_case(case_id, TENANT, engine)["version"]
    with pytest.raises(Forbidden) as err:
        act(engine, clock, case_id, "decide_nonconformity", {"approve": True}, AGENT, version)
    assert err.value.code == "nonconformity_not_allowed"
    with pytest.raises(Forbidden):
        act(engine, clock, case_id, "decide_nonconformity", {"approve": True}, OFFICE_MANAGER, version)
    with pytest.raises(ValidationFailed):
        act(engine, clock, case_id, "decide_nonconformity", {"approve": False}, MANAGER, version)  # no note
    with pytest.raises(Conflict):
        act(engine, clock, case_id, "decide_nonconformity", {"approve": True}, MANAGER, version - 1)
    done = act(engine, clock, case_id, "decide_nonconformity", {"approve": True, "note": "同意赔偿"}, MANAGER,
               version)
    assert done["version"] == version + 1 and done["nonconformity"]["status"] == "approved"
    [record] = listed(engine, "nc", MANAGER[1], status="approved")
    assert record["decided_by"] == "manager-1" and record["note"] == "同意赔偿"
    [capa] = listed(engine, "capa", MANAGER[1])
    assert (capa["trigger"], capa["owner"], capa["case_ids"], capa["status"]) == (
        "nonconformity", "manager-1", [case_id], "open")
    assert capa["capa_id"] == done["nonconformity"]["capa_id"]
    assert outbox(engine, "nonconformity_decided")[0]["status"] == "approved"
    assert outbox(engine, "capa_opened")[0]["capa_id"] == capa["capa_id"]
    kinds = [t["kind"] for t in handlers.get_case(case_id, TENANT, engine)["timeline"]]
    assert kinds[-4:] == ["case_resolved", "nonconformity_opened", "nonconformity_decided", "capa_opened"]
    with pytest.raises(ValidationFailed):  # decided already
        act(engine, clock, case_id, "decide_nonconformity", {"approve": True}, MANAGER, version + 1)


def test_three_of_one_cause_at_one_estate_open_a_capa_and_a_fourth_joins_it(engine, clock):
    first = [resolve(engine, clock, cause="facility_fault") for _ in range(2)]
    resolve(engine, clock, cause="facility_fault", estate="DEMO-OFFICE")  # another estate does not count
    resolve(engine, clock, cause="invalid_complaint")
    assert listed(engine, "capa", MANAGER[1]) == []
    third = resolve(engine, clock, cause="facility_fault")
    [capa] = listed(engine, "capa", MANAGER[1])
    assert capa["trigger"] == "cluster" and set(capa["case_ids"]) == set(first + [third])
    assert capa["owner"] == "site_manager" and capa["overdue"] is False
    fourth = resolve(engine, clock, cause="facility_fault")
    [capa] = listed(engine, "capa", MANAGER[1])
    assert fourth in capa["case_ids"] and len(outbox(engine, "capa_opened")) == 1
    assert outbox(engine, "capa_case_added")[0]["case_id"] == fourth
    assert listed(engine, "capa", OFFICE_MANAGER[1]) == []  # estate scope
    assert len(listed(engine, "capa", [["head_office", None]])) == 1


def test_effectiveness_check_moves_the_due_or_closes(engine):
    clock = MovableClock(T0)
    for _ in range(3):
        resolve(engine, clock, cause="staff_service")
    [capa] = listed(engine, "capa", MANAGER[1])

    def check(who, effective, note, capa_id=capa["capa_id"]):
        user, roles = who
        return quality.check_capa(UnitOfWork(engine, reliability, clock), TENANT, user, roles, capa_id, effective,
                                  note)

    with pytest.raises(Forbidden):
        check(AGENT, True, "")
    with pytest.raises(NotFound):
        check(OFFICE_MANAGER, True, "")  # another estate's record is not there
    with pytest.raises(NotFound):
        check(MANAGER, True, "", capa_id="nonsense")
    clock.move_to(clock.now() + dt.timedelta(days=20))
    again = check(MANAGER, False, "培训后仍有投诉")
    assert again["status"] == "open" and again["due_at"] > capa["due_at"] and again["effective"] is False
    closed = check(MANAGER, True, "连续一个月无同类投诉")
    assert closed["status"] == "closed" and closed["closed_at"]
    assert [e["status"] for e in outbox(engine, "capa_checked")] == ["open", "closed"]
    with pytest.raises(ValidationFailed):
        check(MANAGER, True, "")
