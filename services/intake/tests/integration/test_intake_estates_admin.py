"""Head office's estate directory on a real database (SQLite, or Postgres via TEST_DATABASE_URL): add, change and
deactivate an estate with ``estate_saved`` in the outbox; bad values name their field; other tenants and other
roles are refused; complaints take the new estate (units in the snapshot) and a deactivated one refuses them."""
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.dependencies import DbHandle
from estatedesk_common.errors import Conflict, Forbidden, NotFound, ValidationFailed

from intake import estates_admin as admin
from intake import handlers
from intake.seed import seed_demo
from intake.tables import reliability

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
HQ = [["head_office", None]]


class Clock:
    def now(self):
        return dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(intake_engine):
    seed_demo(intake_engine)
    return DbHandle(intake_engine, reliability, Clock(), "req-estates-admin", None)


def _code() -> str:
    return f"T-{uuid.uuid4().hex[:8]}".upper()


def _events(db, event_type="estate_saved") -> list[dict]:
    outbox = reliability.outbox
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.body).where(outbox.c.event_type == event_type)).scalars().all()
    return [r if isinstance(r, dict) else json.loads(r) for r in rows]


def _new(db, **over):
    data = {"code": _code().lower(), "name": "徐汇苑", "kind": "residential", "region": "EAST",
            "timezone": "Asia/Shanghai", "address": "上海市徐汇区漕溪北路 1 号", "units": 1200} | over
    return admin.create_estate(data, TENANT, "u-hq", HQ, db.uow())


def test_an_estate_is_added_changed_and_deactivated_with_an_event_each_time(db):
    saved = _new(db)
    code = saved["code"]
    assert code == code.upper() and saved["created"] is True
    listed = {e["code"]: e for e in handlers.list_estates(TENANT, db.engine)}
    assert listed[code] == {"code": code, "name": "徐汇苑", "kind": "residential", "timezone": "Asia/Shanghai",
                            "region": "EAST", "units": 1200, "address": "上海市徐汇区漕溪北路 1 号", "active": True}
    changes = {"name": "徐汇新苑", "units": 1300, "timezone": "Asia/Urumqi", "kind": "residential", "code": code}
    changed = admin.update_estate(code.lower(), changes, TENANT, "u-hq", HQ, db.uow())
    assert changed["changed"] == ["name", "timezone", "units"] and changed["units"] == 1300
    again = admin.update_estate(code, {"name": "徐汇新苑"}, TENANT, "u-hq", HQ, db.uow())
    assert again["changed"] == []  # nothing changed: no event
    off = admin.update_estate(code, {"active": False}, TENANT, "u-hq", HQ, db.uow())
    assert off["active"] is False and off["changed"] == ["active"]
    events = [e for e in _events(db) if e["payload"]["estate"]["code"] == code]
    assert [(e["payload"]["created"], e["payload"]["estate"]["active"]) for e in events] == [
        (True, True), (False, True), (False, False)]
    assert all(e["tenant_id"] == TENANT and e["payload"]["by"] == "u-hq" for e in events)
    assert events[1]["payload"]["estate"]["timezone"] == "Asia/Urumqi"


def test_complaints_carry_the_declared_units_and_a_deactivated_estate_refuses_new_ones(db):
    code = _new(db, units=800)["code"]
    body = {"estate": code, "channel": "hotline", "description": "楼道灯不亮",
            "complainant": {"name": "王先生", "phone": "13800138000"}, "category": "facilities_equipment",
            "severity": "general"}
    made = handlers.register_complaint(dict(body), TENANT, "u-agent", db.uow())
    received = [e for e in _events(db, "complaint_received") if e["payload"]["complaint_id"] == made["id"]]
    assert received[0]["payload"]["estate"]["units"] == 800
    admin.update_estate(code, {"active": False}, TENANT, "u-hq", HQ, db.uow())
    with pytest.raises(ValidationFailed) as refused:
        handlers.register_complaint(dict(body, description="电梯异响"), TENANT, "u-agent", db.uow())
    assert refused.value.code == "estate_inactive" and refused.value.details["field"] == "estate"
    assert handlers.get_complaint(made["id"], TENANT, db.engine)["estate"]["code"] == code  # kept


def test_a_complaint_keeps_the_location_it_names_and_announces_it(db):
    code = _new(db)["code"]
    body = {"estate": code, "channel": "hotline", "description": "地下车库积水",
            "complainant": {"name": "王先生", "phone": "13800138000"}, "location": {"building": "3栋",
                                                                                "facility": "地下车库"}}
    made = handlers.register_complaint(dict(body), TENANT, "u-agent", db.uow())
    received = [e for e in _events(db, "complaint_received") if e["payload"]["complaint_id"] == made["id"]]
    assert received[0]["payload"]["location"] == {"building": "3栋", "facility": "地下车库"}
    assert handlers.get_complaint(made["id"], TENANT, db.engine)["location"] == {
        "building": "3栋", "facility": "地下车库", "building_name": None}  # no buildings registered: free text
    plain = handlers.register_complaint(dict(body, description="电梯异响", location=None), TENANT, "u-agent",
                                        db.uow())
    assert handlers.get_complaint(plain["id"], TENANT, db.engine)["location"] is None


@pytest.mark.parametrize("field, value", [
    ("code", "-BAD"), ("code", "A"), ("code", "中文编号"), ("name", " "), ("name", "x" * 101), ("kind", "castle"),
    ("timezone", "Mars/Olympus"), ("timezone", "../etc/passwd"), ("region", "NOWHERE"), ("address", "x" * 201),
    ("units", 0), ("units", "12"), ("units", True), ("active", "yes"), ("colour", "red"),
])
def test_bad_values_name_their_field(db, field, value):
    data = {"code": _code(), "name": "徐汇苑", "kind": "office"} | {field: value}
    with pytest.raises(ValidationFailed) as bad:
        admin.create_estate(data, TENANT, "u-hq", HQ, db.uow())
    assert bad.value.details["field"] == field


def test_the_code_never_changes_and_is_unique_per_tenant(db):
    code = _new(db)["code"]
    with pytest.raises(ValidationFailed) as renamed:
        admin.update_estate(code, {"code": "ELSEWHERE"}, TENANT, "u-hq", HQ, db.uow())
    assert renamed.value.details["field"] == "code"
    with pytest.raises(Conflict) as taken:
        _new(db, code=code)
    assert taken.value.code == "estate_exists"
    # the same code in another tenant is another estate
    other = admin.create_estate({"code": code, "name": "翠湖二期", "kind": "residential"}, OTHER, "u-o", HQ,
                                db.uow())
    assert other["code"] == code and other["region"] is None and other["timezone"] == "Asia/Shanghai"


def test_other_tenants_estates_are_not_found_and_other_roles_are_refused(db):
    with pytest.raises(NotFound):
        admin.update_estate("OTHER-RES", {"name": "探针"}, TENANT, "u-hq", HQ, db.uow())
    assert [e["name"] for e in handlers.list_estates(OTHER, db.engine) if e["code"] == "OTHER-RES"] == ["翠湖苑"]
    for roles in ([["agent", "DEMO-RES"]], [["site_manager", "DEMO-RES"]], []):
        with pytest.raises(Forbidden):
            admin.create_estate({"code": _code(), "name": "x", "kind": "office"}, TENANT, "u", roles, db.uow())
        with pytest.raises(Forbidden):
            admin.update_estate("DEMO-RES", {"name": "x"}, TENANT, "u", roles, db.uow())
    assert admin.list_regions(TENANT, db.engine) == [{"code": "EAST", "name": "华东区域"}]
    assert admin.list_regions(OTHER, db.engine) == []
