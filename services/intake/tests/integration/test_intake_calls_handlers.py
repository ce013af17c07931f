"""Hotline calls on a real database (SQLite, or Postgres via TEST_DATABASE_URL): idempotent CTI events, the
caller lookup with estate scope, the agents' call list and the complaint linked to its call in one transaction."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.errors import NotFound, ValidationFailed
from estatedesk_common.tenant import estates_from_roles
from estatedesk_common.unit_of_work import UnitOfWork

from intake import calls, classification, handlers
from intake.seed import seed_demo
from intake.tables import call_events, complaints, reliability

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
AGENT = estates_from_roles([["agent", "DEMO-RES"], ["agent", "DEMO-OFFICE"]])


class Clock:
    def __init__(self):
        self.at = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)

    def now(self):
        return self.at


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def world(engine):
    clock = Clock()
    uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    return engine, clock, uow


def phone():
    return "139" + str(uuid.uuid4().int)[:8]


def complain(uow, estate, who, tenant=TENANT, user="u-1", scope=None, **extra):
    body = {"estate": estate, "channel": "hotline", "description": "电梯又坏了，困在3楼", "complainant": who} | extra
    return handlers.register_complaint(body, tenant, user, uow(), classification.default_cache(), scope=scope)


def event(call_id, name, caller, **over):
    return {"call_id": call_id, "event": name, "caller": caller, "called": "4008001234"} | over


def test_events_are_idempotent_and_return_the_screen_pop(world):
    engine, clock, uow = world
    number = phone()
    old = complain(uow, "DEMO-RES", {"name": "周女士", "phone": number, "unit": "1栋101"})
    call_id = f"pbx-{uuid.uuid4().hex[:8]}"

    pop = calls.record_call_event(event(call_id, "ringing", "+86 " + number), TENANT, uow())
    assert pop["duplicate"] is False and pop["call"]["state"] == "ringing"
    assert pop["call"]["estate"] == "DEMO-RES"  # the known caller's only estate
    assert [o["name"] for o in pop["caller"]["owners"]] == ["周女士"]
    assert [c["id"] for c in pop["caller"]["complaints"]] == [old["id"]]

    again = calls.record_call_event(event(call_id, "ringing", number), TENANT, uow())
    assert again["duplicate"] is True and again["call"] == pop["call"]

    clock.at += dt.timedelta(seconds=8)
    answered = calls.record_call_event(event(call_id, "answered", number, agent_user_id="u-7", agent="agent@demo"),
                                       TENANT, uow())
    assert answered["call"]["state"] == "answered" and answered["call"]["agent_user_id"] == "u-7"
    assert answered["call"]["answered_at"] == clock.at.isoformat()
    clock.at += dt.timedelta(minutes=3)
    ended = calls.record_call_event(event(call_id, "ended", number), TENANT, uow())
    assert ended["call"]["state"] == "ended" and ended["call"]["ended_at"] == clock.at.isoformat()
    with engine.connect() as conn:
        rows = conn.execute(select(call_events.c.event).where(call_events.c.call_id == call_id)).scalars().all()
    assert sorted(rows) == ["answered", "ended", "ringing"]


def test_invalid_events_and_unknown_estates_are_refused(world):
    _, _, uow = world
    with pytest.raises(ValidationFailed) as err:
        calls.record_call_event({"call_id": "x", "event": "hangup"}, TENANT, uow())
    assert err.value.details["field"] == "event"
    with pytest.raises(ValidationFailed) as err:
        calls.record_call_event(event("x2", "ringing", phone(), estate="OTHER-RES"), TENANT, uow())
    assert err.value.details["field"] == "estate"


def test_lookup_by_phone_or_unit_is_scoped_and_tenant_isolated(world):
    engine, _, uow = world
    number = phone()
    res = complain(uow, "DEMO-RES", {"name": "吴先生", "phone": number, "unit": "2栋202"})
    new = complain(uow, "DEMO-NEW", {"name": "吴先生", "phone": number, "unit": "3栋301"})
    theirs = complain(uow, "OTHER-RES", {"name": "别家", "phone": number, "unit": "5栋501"}, tenant=OTHER)

    everything = calls.lookup_caller(TENANT, engine, phone=number)
    assert {c["id"] for c in everything["complaints"]} == {res["id"], new["id"]}
    assert {o["estate"] for o in everything["owners"]} == {"DEMO-RES", "DEMO-NEW"}
    scoped = calls.lookup_caller(TENANT, engine, phone=number, scope=AGENT)
    assert [c["id"] for c in scoped["complaints"]] == [res["id"]]
    assert calls.lookup_caller(TENANT, engine, phone=number, estate="DEMO-NEW", scope=AGENT)["owners"] == []
    assert calls.lookup_caller(TENANT, engine, phone=number, scope=frozenset())["complaints"] == []
    assert [c["id"] for c in calls.lookup_caller(OTHER, engine, phone=number)["complaints"]] == [theirs["id"]]

    by_unit = calls.lookup_caller(TENANT, engine, unit="2栋202", estate="DEMO-RES")
    assert res["id"] in {c["id"] for c in by_unit["complaints"]} and new["id"] not in {
        c["id"] for c in by_unit["complaints"]}
    assert calls.lookup_caller(TENANT, engine, unit="_栋%", estate="DEMO-RES")["owners"] == []  # LIKE escaped
    for kwargs, field in (({}, "phone"), ({"phone": "12345"}, "phone"), ({"unit": "1"}, "unit"),
                          ({"phone": 13800000000}, "phone")):
        with pytest.raises(ValidationFailed) as err:
            calls.lookup_caller(TENANT, engine, **kwargs)
        assert err.value.details["field"] == field


def test_complaint_is_linked_to_its_call_and_the_recorder_owns_an_unclaimed_call(world):
    engine, clock, uow = world
    number, call_id = phone(), f"pbx-{uuid.uuid4().hex[:8]}"
    calls.record_call_event(event(call_id, "ringing", number), TENANT, uow())
    assert call_id in {c["call_id"] for c in calls.list_calls(TENANT, engine, clock.now(), scope=AGENT)}

    first = complain(uow, "DEMO-RES", {"name": "郑女士", "phone": number}, user="agent-1", call_id=call_id)
    second = complain(uow, "DEMO-RES", {"name": "郑女士", "phone": number}, user="agent-2", call_id=call_id)
    call = calls.get_call(call_id, TENANT, engine, scope=AGENT)
    assert call["complaint_id"] == first["id"] and call["agent_user_id"] == "agent-1"
    assert first["received_by"] == "agent-1"  # first-question responsibility: the receiving agent
    assert handlers.get_complaint(second["id"], TENANT, engine)["call_id"] == call_id
    with engine.connect() as conn:
        linked = conn.execute(select(complaints.c.id).where(complaints.c.call_id == call_id)).scalars().all()
    assert set(linked) == {first["id"], second["id"]}

    clock.at += dt.timedelta(minutes=1)
    calls.record_call_event(event(call_id, "ended", number), TENANT, uow())
    assert call_id not in {c["call_id"] for c in calls.list_calls(TENANT, engine, clock.now())}  # recorded


def test_ended_unrecorded_calls_stay_listed_for_two_hours_and_scope_applies(world):
    engine, clock, uow = world
    number, call_id = phone(), f"pbx-{uuid.uuid4().hex[:8]}"
    calls.record_call_event(event(call_id, "ringing", number, estate="DEMO-NEW"), TENANT, uow())
    calls.record_call_event(event(call_id, "ended", number), TENANT, uow())
    assert call_id in {c["call_id"] for c in calls.list_calls(TENANT, engine, clock.now())}
    assert call_id not in {c["call_id"] for c in calls.list_calls(TENANT, engine, clock.now(), scope=AGENT)}
    assert call_id not in {c["call_id"] for c in calls.list_calls(OTHER, engine, clock.now())}
    with pytest.raises(NotFound):
        calls.get_call(call_id, TENANT, engine, scope=AGENT)
    with pytest.raises(NotFound):
        calls.get_call(call_id, OTHER, engine)
    with pytest.raises(NotFound):  # linking from outside the call's estate: as unknown, and nothing is stored
        complain(uow, "DEMO-RES", {"phone": number}, scope=AGENT, call_id=call_id)
    with engine.connect() as conn:
        assert conn.execute(select(complaints.c.id).where(complaints.c.call_id == call_id)).first() is None
    with pytest.raises(NotFound):
        complain(uow, "DEMO-RES", {"phone": number}, call_id="no-such-call")
    later = clock.now() + dt.timedelta(hours=2, minutes=1)
    assert call_id not in {c["call_id"] for c in calls.list_calls(TENANT, engine, later)}
