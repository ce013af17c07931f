"""A complaint's location checked against the estate's buildings on a real database (SQLite, or Postgres via
TEST_DATABASE_URL): a registered building by code or name is stored as its code (and read back with its name), an
unknown one is refused on ``location.building`` with nothing stored, an estate without a directory takes free
text, and the forms' building choices stay within the caller's estates and tenant."""
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.dependencies import DbHandle
from estatedesk_common.errors import ValidationFailed

from intake import estate_units as eu
from intake import estates_admin, handlers, locations
from intake.seed import seed_demo
from intake.tables import complaints, reliability

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
ADMIN = [["group_admin", None]]


class Clock:
    def now(self):
        return dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(intake_engine):
    seed_demo(intake_engine)
    return DbHandle(intake_engine, reliability, Clock(), "req-location", None)


def _estate(db, tenant=TENANT, buildings=()) -> str:
    code = f"L-{uuid.uuid4().hex[:8]}".upper()
    estates_admin.create_estate({"code": code, "name": "测试苑", "kind": "residential"}, tenant, "u-hq", ADMIN,
                                db.uow())
    for building, name in buildings:
        eu.save_building(code, building, {"name": name}, True, tenant, "u-hq", ADMIN, db.uow())
    return code


def _body(estate: str, **location) -> dict:
    return {"estate": estate, "channel": "hotline", "description": f"电梯异响 {uuid.uuid4().hex[:6]}",
            "complainant": {"name": "王先生", "phone": f"139{uuid.uuid4().int % 10**8:08d}"},
            "location": location or None}


def _received(db, complaint_id: str) -> dict:
    with db.engine.connect() as conn:
        rows = conn.execute(select(reliability.outbox.c.body).where(
            reliability.outbox.c.event_type == "complaint_received")).scalars().all()
    bodies = [r if isinstance(r, dict) else json.loads(r) for r in rows]
    return [b["payload"] for b in bodies if b["payload"]["complaint_id"] == complaint_id][0]


def test_a_registered_building_is_stored_as_its_code_whether_code_or_name_was_given(db):
    estate = _estate(db, buildings=[("B3", "3号楼"), ("B10", "10号楼")])
    by_code = handlers.register_complaint(_body(estate, building="B3", facility="电梯"), TENANT, "u-a", db.uow())
    by_name = handlers.register_complaint(_body(estate, building=" 10号楼 "), TENANT, "u-a", db.uow())
    assert _received(db, by_code["id"])["location"] == {"building": "B3", "facility": "电梯"}
    assert _received(db, by_name["id"])["location"] == {"building": "B10", "facility": None}
    assert handlers.get_complaint(by_name["id"], TENANT, db.engine)["location"] == {
        "building": "B10", "facility": None, "building_name": "10号楼"}


def test_an_unknown_building_is_refused_on_its_field_and_nothing_is_stored(db):
    estate = _estate(db, buildings=[("1栋", "1栋"), ("2栋", "2栋")])
    with db.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(complaints)).scalar()
    with pytest.raises(ValidationFailed) as refused:
        handlers.register_complaint(_body(estate, building="9栋", facility="电梯"), TENANT, "u-a", db.uow())
    assert refused.value.code == "building_unknown" and refused.value.status == 422
    assert refused.value.details["field"] == "location.building"
    assert refused.value.details["buildings"] == ["1栋", "2栋"]
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(complaints)).scalar() == before


def test_other_or_unknown_building_and_a_facility_alone_are_accepted(db):
    estate = _estate(db, buildings=[("1栋", "1栋")])
    made = handlers.register_complaint(_body(estate, facility="停车场"), TENANT, "u-a", db.uow())
    assert handlers.get_complaint(made["id"], TENANT, db.engine)["location"] == {
        "building": None, "facility": "停车场", "building_name": None}


def test_an_estate_without_registered_buildings_takes_free_text(db):
    estate = _estate(db)
    made = handlers.register_complaint(_body(estate, building="北区7幢"), TENANT, "u-a", db.uow())
    assert handlers.get_complaint(made["id"], TENANT, db.engine)["location"]["building"] == "北区7幢"
    # another tenant's building of the same code does not count as this estate's directory
    other = _estate(db, tenant=OTHER, buildings=[("北区7幢", "北区7幢")])
    with db.engine.connect() as conn:
        assert locations.checked_location(conn, TENANT, other, {"building": "x"}) == {"building": "x"}


def test_building_choices_are_in_natural_order_within_the_callers_estates_and_tenant(db):
    mine = _estate(db, buildings=[("10栋", "10栋"), ("2栋", "二号楼")])
    theirs = _estate(db, buildings=[("A座", "A座")])
    choices = locations.building_choices([mine, theirs], TENANT, db.engine)
    assert choices[mine] == [{"code": "2栋", "name": "二号楼"}, {"code": "10栋", "name": "10栋"}]
    assert list(locations.building_choices([mine, theirs], TENANT, db.engine, scope=frozenset({mine}))) == [mine]
    assert locations.building_choices([mine], OTHER, db.engine) == {}
    assert locations.building_choices([_estate(db)], TENANT, db.engine) == {}  # none registered: free text
    assert "DEMO-RES" in locations.building_choices(None, TENANT, db.engine)
    with pytest.raises(ValidationFailed) as bad:
        locations.building_choices("DEMO-RES", TENANT, db.engine)
    assert bad.value.details["field"] == "estates"
