"""Regions and an estate's buildings and units on a real database (SQLite, or Postgres via TEST_DATABASE_URL):
regions added, renamed and deactivated only when empty; buildings and units added, renamed and removed within the
caller's estates; a units import planned, applied once and idempotent, with ``estate_saved`` carrying the new
count; other tenants' and other estates' rows are "not found"."""
import datetime as dt
import json
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.dependencies import DbHandle
from estatedesk_common.errors import Conflict, Forbidden, NotFound, ValidationFailed

from intake import estate_units as eu
from intake import estates_admin, handlers, regions_admin
from intake.seed import seed_demo
from intake.tables import reliability

pytestmark = pytest.mark.integration

TENANT, OTHER = DEMO_TENANT["id"], OTHER_TENANT["id"]
HQ, ADMIN = [["head_office", None]], [["group_admin", None]]
MANAGER = [["site_manager", "DEMO-RES"], ["site_manager", "DEMO-NEW"]]


class Clock:
    def now(self):
        return dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def db(intake_engine):
    seed_demo(intake_engine)
    return DbHandle(intake_engine, reliability, Clock(), "req-units-admin", None)


def _code(prefix="R") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}".upper()


def _estate_events(db, code) -> list[dict]:
    outbox = reliability.outbox
    with db.engine.connect() as conn:
        rows = conn.execute(select(outbox.c.body).where(outbox.c.event_type == "estate_saved")).scalars().all()
    bodies = [r if isinstance(r, dict) else json.loads(r) for r in rows]
    return [b["payload"] for b in bodies if b["payload"]["estate"]["code"] == code]


def test_a_region_is_added_renamed_and_deactivated_only_without_active_estates(db):
    code = _code()
    made = regions_admin.create_region({"code": code.lower(), "name": "华南区域"}, TENANT, "u-hq", HQ, db.uow())
    assert made == {"code": code, "name": "华南区域", "active": True, "created": True,
                    "changed": ["active", "code", "name"]}
    renamed = regions_admin.update_region(code, {"name": "华南大区"}, TENANT, "u-hq", ADMIN, db.uow())
    assert renamed["changed"] == ["name"] and renamed["name"] == "华南大区"
    estate = estates_admin.create_estate({"code": _code("E"), "name": "南苑", "kind": "residential",
                                          "region": code}, TENANT, "u-hq", HQ, db.uow())["code"]
    with pytest.raises(Conflict) as in_use:
        regions_admin.update_region(code, {"active": False}, TENANT, "u-hq", HQ, db.uow())
    assert in_use.value.code == "region_in_use" and in_use.value.details["estates"] == [estate]
    listed = {r["code"]: r for r in regions_admin.list_regions(TENANT, db.engine)}
    assert listed[code] == {"code": code, "name": "华南大区", "active": True, "estates": 1}
    estates_admin.update_estate(estate, {"active": False}, TENANT, "u-hq", HQ, db.uow())
    off = regions_admin.update_region(code, {"active": False}, TENANT, "u-hq", HQ, db.uow())
    assert off["active"] is False and off["changed"] == ["active"]
    # a deactivated region takes no estate; the estate already in it may still be saved
    with pytest.raises(ValidationFailed) as refused:
        estates_admin.create_estate({"code": _code("E"), "name": "北苑", "kind": "office", "region": code},
                                    TENANT, "u-hq", HQ, db.uow())
    assert refused.value.field == "region"
    assert estates_admin.update_estate(estate, {"name": "南苑二期", "region": code}, TENANT, "u-hq", HQ,
                                       db.uow())["changed"] == ["name"]


def test_regions_refuse_bad_values_other_roles_and_other_tenants(db):
    with pytest.raises(ValidationFailed) as bad:
        regions_admin.create_region({"code": "-x", "name": "甲"}, TENANT, "u", HQ, db.uow())
    assert bad.value.field == "code"
    with pytest.raises(ValidationFailed) as empty:
        regions_admin.create_region({"code": _code(), "name": " "}, TENANT, "u", HQ, db.uow())
    assert empty.value.field == "name"
    with pytest.raises(Conflict) as taken:
        regions_admin.create_region({"code": "east", "name": "甲"}, TENANT, "u", HQ, db.uow())
    assert taken.value.code == "region_exists"
    with pytest.raises(Forbidden):
        regions_admin.create_region({"code": _code(), "name": "甲"}, TENANT, "u", MANAGER, db.uow())
    with pytest.raises(NotFound):
        regions_admin.update_region("EAST", {"name": "别人的"}, OTHER, "u", HQ, db.uow())
    assert [r["code"] for r in regions_admin.list_regions(OTHER, db.engine)] == []
    with pytest.raises(ValidationFailed) as code_change:
        regions_admin.update_region("EAST", {"code": "WEST"}, TENANT, "u", HQ, db.uow())
    assert code_change.value.field == "code"


def _new_estate(db, **over) -> str:
    data = {"code": _code("E"), "name": "测试苑", "kind": "residential", "region": "EAST"} | over
    return estates_admin.create_estate(data, TENANT, "u-hq", HQ, db.uow())["code"]


def test_buildings_and_units_are_added_renamed_and_removed_with_the_count_following(db):
    estate = _new_estate(db)  # no declared units: counted from the directory
    eu.save_building(estate, "1栋", {"name": "一号楼"}, True, TENANT, "u-admin", ADMIN, db.uow())
    added = eu.save_unit(estate, "1栋", "101", {"floor": 1, "area": 88.5}, True, TENANT, "u-admin", ADMIN, db.uow())
    assert (added["units_before"], added["units_after"]) == (None, 1)
    eu.save_unit(estate, "1栋", "102", {"floor": "1"}, True, TENANT, "u-admin", ADMIN, db.uow())
    renamed = eu.save_building(estate, "1栋", {"name": "一号楼（东）"}, False, TENANT, "u", ADMIN, db.uow())
    assert renamed["changed"] == ["name"]
    moved = eu.save_unit(estate, "1栋", "102", {"code": "103", "area": "90"}, False, TENANT, "u", ADMIN, db.uow())
    assert moved["unit"] == "103" and moved["previous_code"] == "102" and moved["changed"] == ["area", "code"]
    with pytest.raises(Conflict):
        eu.save_unit(estate, "1栋", "103", {"code": "101"}, False, TENANT, "u", ADMIN, db.uow())
    listed = eu.list_buildings(estate, TENANT, HQ, db.engine)
    assert listed["units"] == 2 and listed["declared"] is None
    assert listed["buildings"] == [{"code": "1栋", "name": "一号楼（东）", "units": [
        {"code": "101", "floor": 1, "area": 88.5}, {"code": "103", "floor": 1, "area": 90.0}]}]
    eu.remove_unit(estate, "1栋", "101", TENANT, "u", ADMIN, db.uow())
    gone = eu.remove_building(estate, "1栋", TENANT, "u", ADMIN, db.uow())
    assert gone["removed_units"] == 1 and gone["units_after"] is None
    assert [(e["changed"], e["estate"]["units"]) for e in _estate_events(db, estate)] == [
        (sorted(estates_admin.FIELDS), None), (["units"], 1), (["units"], 2), (["units"], 1), (["units"], None)]
    with pytest.raises(NotFound):
        eu.remove_unit(estate, "1栋", "101", TENANT, "u", ADMIN, db.uow())


def test_a_site_manager_reaches_only_their_estates_and_other_tenants_are_not_found(db):
    listed = eu.list_buildings("demo-res", TENANT, MANAGER, db.engine)
    assert [b["code"] for b in listed["buildings"]] == ["1栋", "2栋"] and listed["units"] == 8
    eu.save_unit("DEMO-RES", "1栋", "301", {}, True, TENANT, "u-mgr", MANAGER, db.uow())
    for call in (lambda: eu.list_buildings("DEMO-OFFICE", TENANT, MANAGER, db.engine),
                 lambda: eu.save_unit("DEMO-OFFICE", "A座", "9", {}, True, TENANT, "u", MANAGER, db.uow()),
                 lambda: eu.remove_building("DEMO-OFFICE", "A座", TENANT, "u", MANAGER, db.uow()),
                 lambda: eu.list_buildings("OTHER-RES", TENANT, ADMIN, db.engine),
                 lambda: eu.remove_unit("DEMO-RES", "1栋", "101", OTHER, "u", ADMIN, db.uow()),
                 lambda: eu.import_units("OTHER-RES", [{"line": 2, "building": "5栋", "unit": "503"}], True,
                                         TENANT, "u", ADMIN, db.uow())):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(Forbidden):  # an agent of the estate: not a manager of it
        eu.save_building("DEMO-RES", "9栋", {}, True, TENANT, "u", [["agent", "DEMO-RES"]], db.uow())
    with pytest.raises(Forbidden):  # head office reads but does not write
        eu.remove_unit("DEMO-RES", "1栋", "101", TENANT, "u", HQ, db.uow())
    assert [u["code"] for u in eu.list_buildings("DEMO-OFFICE", TENANT, ADMIN, db.engine)["buildings"][0]["units"]
            ] == ["1001", "1002", "2001"]


def test_an_import_is_previewed_applied_once_and_idempotent(db):
    estate = _new_estate(db)
    eu.save_building(estate, "1栋", {}, True, TENANT, "u", ADMIN, db.uow())
    eu.save_unit(estate, "1栋", "101", {"floor": 1}, True, TENANT, "u", ADMIN, db.uow())
    rows = [{"line": 2, "building": "1栋", "unit": "101", "floor": "1", "area": "80"},
            {"line": 3, "building": "1栋", "unit": "102", "floor": "1", "area": ""},
            {"line": 4, "building": "2栋", "unit": "201", "floor": "2", "area": "75.25"}]
    preview = eu.import_units(estate, rows, False, TENANT, "u-mgr", ADMIN, db.uow())
    assert (preview["applied"], preview["added"], preview["updated"], preview["unchanged"]) == (False, 2, 1, 0)
    assert preview["buildings_added"] == ["2栋"] and preview["errors"] == []
    assert [(c["line"], c["action"]) for c in preview["changes"]] == [(2, "update"), (3, "add"), (4, "add")]
    assert eu.list_buildings(estate, TENANT, ADMIN, db.engine)["units"] == 1  # a preview changes nothing
    done = eu.import_units(estate, rows, True, TENANT, "u-mgr", ADMIN, db.uow())
    assert done["applied"] is True and (done["units_before"], done["units_after"]) == (1, 3)
    assert _estate_events(db, estate)[-1]["estate"]["units"] == 3
    events = len(_estate_events(db, estate))
    again = eu.import_units(estate, rows, True, TENANT, "u-mgr", ADMIN, db.uow())
    assert (again["added"], again["updated"], again["unchanged"]) == (0, 0, 3)
    assert len(_estate_events(db, estate)) == events  # nothing changed: no event
    listed = eu.list_buildings(estate, TENANT, ADMIN, db.engine)["buildings"]
    assert listed[0]["units"][0] == {"code": "101", "floor": 1, "area": 80.0}
    assert listed[1] == {"code": "2栋", "name": "2栋", "units": [{"code": "201", "floor": 2, "area": 75.25}]}


def test_an_import_with_row_errors_is_previewed_with_them_and_refused(db):
    estate = _new_estate(db, units=500)  # declared units: the directory does not move them, no event
    rows = [{"line": 2, "building": "1栋", "unit": "101", "floor": "一楼"},
            {"line": 3, "building": "1栋", "unit": "102"}, {"line": 4, "building": "1栋", "unit": "101"}]
    preview = eu.import_units(estate, rows, False, TENANT, "u", ADMIN, db.uow())
    assert [(e["line"], e["column"]) for e in preview["errors"]] == [(2, "floor")] and preview["added"] == 2
    with pytest.raises(ValidationFailed) as refused:
        eu.import_units(estate, rows, True, TENANT, "u", ADMIN, db.uow())
    assert refused.value.field == "rows" and refused.value.details["error_count"] == 1
    assert eu.list_buildings(estate, TENANT, ADMIN, db.engine)["buildings"] == []
    eu.import_units(estate, rows[1:2], True, TENANT, "u", ADMIN, db.uow())
    assert [e["changed"] for e in _estate_events(db, estate)] == [sorted(estates_admin.FIELDS)]
    assert handlers.list_estates(TENANT, db.engine) and eu.list_buildings(estate, TENANT, ADMIN,
                                                                          db.engine)["units"] == 500
