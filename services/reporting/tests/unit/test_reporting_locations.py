"""Location hot spots (complaint_received's optional ``location``) and intake's ``estate_saved``: rollups,
hot spots, drill-down, scoping, rebuilds and redelivery, on a migrated temp SQLite."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope

from reporting import archive, handlers, reports
from reporting.domain.facts import CaseFact, location_changes
from reporting.domain.rollup import InvalidEvent
from reporting.domain.scope import Scope, scope_from_roles
from reporting.rebuild import rebuild
from reporting.tables import estate_names, place_daily, place_monthly, place_quarterly

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
ALL = Scope(None)
OFFICE = {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "WEST"}


@pytest.fixture
def tenant():
    return str(uuid.uuid4())


def received(events, new_uow, tenant, at, location=None, **fields):
    extra = {"location": location} if location is not None else {}
    env = events.received(tenant, received_at=at, **extra, **fields)
    handlers.record_complaint_received(env, new_uow())
    return env


def _rows(engine, table):
    with engine.connect() as conn:
        return sorted(tuple(r)[1:] for r in conn.execute(select(table).where(table.c.received != 0)))


def test_a_named_location_is_counted_once_per_day_estate_and_named_building_or_facility(engine, new_uow, events,
                                                                                         tenant):
    env = received(events, new_uow, tenant, "2026-11-24T02:00:00+00:00", {"building": " 3栋 ", "facility": "电梯"})
    handlers.record_complaint_received(env, new_uow())  # redelivery
    received(events, new_uow, tenant, "2026-11-24T03:00:00+00:00", {"building": "3栋"})
    received(events, new_uow, tenant, "2026-11-24T03:00:00+00:00")  # names none: not in the location rollup
    received(events, new_uow, tenant, "2026-11-24T03:00:00+00:00", {"building": 7})  # unusable: none
    received(events, new_uow, tenant, "2026-08-31T17:00:00+00:00", {"facility": "电梯"})  # 9-01 in Shanghai: Q3
    expected = {"day": dt.date(2026, 11, 24), "month": dt.date(2026, 11, 1), "quarter": dt.date(2026, 10, 1)}
    earlier = {"day": dt.date(2026, 9, 1), "month": dt.date(2026, 9, 1), "quarter": dt.date(2026, 7, 1)}
    for table, period in ((place_daily, "day"), (place_monthly, "month"), (place_quarterly, "quarter")):
        # keyed by the name of each kind: the complaint naming both counts under the building and the facility
        assert _rows(engine, table) == [(earlier[period], "DEMO-RES", "facility", "电梯", 1),
                                        (expected[period], "DEMO-RES", "building", "3栋", 2),
                                        (expected[period], "DEMO-RES", "facility", "电梯", 1)], period


def test_location_changes_move_the_count_only_when_the_place_changes():
    day = dt.date(2026, 11, 24)
    placed = CaseFact("t", "c", estate_code="E", channel="web", day=day, building="1栋")
    assert location_changes(CaseFact("t", "c"), placed) == [((day, "E", "1栋", ""), 1)]
    assert location_changes(placed, placed) == []
    assert location_changes(CaseFact("t", "c", building="1栋"), placed) == [((day, "E", "1栋", ""), 1)]


def _burst(events, new_uow, tenant, location, estate=None):
    """One complaint a week at ``location`` in the 4 weeks before 2026-11-23, then 6 in that week."""
    extra = {"estate": estate} if estate else {}
    for week in range(4):
        day = dt.date(2026, 11, 16) - dt.timedelta(weeks=week)
        received(events, new_uow, tenant, f"{day}T02:00:00+00:00", location, **extra)
    return [received(events, new_uow, tenant, "2026-11-24T02:00:00+00:00", location, **extra).payload["complaint_id"]
            for _ in range(6)]


def test_hot_spots_by_building_and_facility_against_their_own_baseline(engine, new_uow, events, tenant):
    burst = _burst(events, new_uow, tenant, {"building": "3栋", "facility": "地下车库"})
    for week in range(5):  # a steady building: one a week, never hot
        day = dt.date(2026, 11, 24) - dt.timedelta(weeks=week)
        received(events, new_uow, tenant, f"{day}T04:00:00+00:00", {"building": "5栋"})
    spots = reports.hot_spots(tenant, ALL, engine, "2026-11-23", "2026-11-29")
    assert [(b["estate"], b["estate_name"], b["building"], b["count"], b["baseline"]) for b in spots["buildings"]] == [
        ("DEMO-RES", "锦绣花园", "3栋", 6, [1, 1, 1, 1])]
    assert [(f["estate"], f["facility"], f["count"], f["z"]) for f in spots["facilities"]] == [
        ("DEMO-RES", "地下车库", 6, 5.0)]  # (6 - 1) / max(0, 1, 1)
    # drill-down to the cases behind the spot
    page = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-23", "2026-11-29", estate="DEMO-RES",
                             building="3栋")
    assert page["total"] == 6 and {i["complaint_id"] for i in page["items"]} == set(burst)
    assert {(i["building"], i["facility"]) for i in page["items"]} == {("3栋", "地下车库")}
    facility = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-23", "2026-11-29",
                                 facility="地下车库")
    assert facility["total"] == 6


def test_location_hot_spots_are_scoped_to_the_callers_estates(engine, new_uow, events, tenant):
    _burst(events, new_uow, tenant, {"building": "A座"}, estate=OFFICE)
    site = scope_from_roles([["site_manager", "DEMO-RES"]])
    assert reports.hot_spots(tenant, site, engine, "2026-11-23", "2026-11-29")["buildings"] == []
    assert [b["building"] for b in reports.hot_spots(tenant, ALL, engine, "2026-11-23", "2026-11-29")["buildings"]] \
        == ["A座"]
    assert reports.hot_spots(str(uuid.uuid4()), ALL, engine, "2026-11-23", "2026-11-29")["buildings"] == []


def test_location_hot_spots_over_whole_months_and_rolling_ranges(engine, new_uow, events, tenant):
    for month in (7, 8, 9, 10):
        received(events, new_uow, tenant, f"2026-{month:02d}-10T02:00:00+00:00", {"facility": "会所"})
    for _ in range(6):
        received(events, new_uow, tenant, "2026-11-10T02:00:00+00:00", {"facility": "会所"})
    months = reports.hot_spots(tenant, ALL, engine, "2026-11-01", "2026-11-30")
    assert [(f["facility"], f["count"], f["baseline"]) for f in months["facilities"]] == [("会所", 6, [1, 1, 1, 1])]
    # 30 days not on month bounds: months and edge days mixed in each period
    rolling = reports.hot_spots(tenant, ALL, engine, "2026-10-20", "2026-11-18")
    assert [(f["facility"], f["count"]) for f in rolling["facilities"]] == [("会所", 6)]
    # a calendar quarter from the quarter table: Q4's 7 against Q3's 3 (and nothing before)
    quarter = reports.hot_spots(tenant, ALL, engine, "2026-10-01", "2026-12-31")
    assert [(f["facility"], f["count"], f["baseline"]) for f in quarter["facilities"]] == [("会所", 7, [0, 0, 0, 3])]


def test_rebuild_recomputes_the_location_rollups(engine, new_uow, events, tenant):
    _burst(events, new_uow, tenant, {"building": "3栋"})
    received(events, new_uow, tenant, "2026-11-24T02:00:00+00:00", {"building": "3栋", "facility": "电梯"})
    tables = (place_daily, place_monthly, place_quarterly)
    before = [_rows(engine, table) for table in tables]
    with engine.begin() as conn:
        conn.execute(place_daily.update().values(received=42))
        conn.execute(place_monthly.delete())
        conn.execute(place_quarterly.delete())
    rebuild(engine, progress=False)
    assert [_rows(engine, table) for table in tables] == before


# --- estate_saved ---------------------------------------------------------------------------------------------

def estate_saved(tenant, at="2026-11-24T05:00:00+00:00", event_id=None, **estate):
    body = {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
            "region": "EAST", "units": None, "address": "", "active": True} | estate
    kwargs = {"event_id": event_id} if event_id else {}
    return Envelope(event_type="estate_saved", tenant_id=tenant, payload={
        "estate": body, "created": False, "changed": sorted(estate), "by": "u-hq", "at": at}, **kwargs)


def _estate(engine, tenant, code="DEMO-RES"):
    with engine.connect() as conn:
        row = conn.execute(select(estate_names).where(estate_names.c.tenant_id == tenant,
                                                      estate_names.c.estate_code == code)).mappings().first()
    return dict(row) if row else None


def test_estate_saved_renames_moves_and_counts_units_without_a_new_complaint(engine, new_uow, events, tenant):
    for _ in range(4):
        received(events, new_uow, tenant, "2026-11-24T02:00:00+00:00")
    env = estate_saved(tenant, name="锦绣花园二期", region="WEST", units=2000)
    assert handlers.record_estate_saved(env, new_uow()) is True
    assert handlers.record_estate_saved(env, new_uow()) is False  # redelivery
    row = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24", region="WEST")["rows"][0]
    assert (row["estate_name"], row["region"], row["units"], row["per_1000_units"], row["active"]) == (
        "锦绣花园二期", "WEST", 2000, 2.0, True)
    assert reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24", region="EAST")["rows"] == []
    assert reports.kpis(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")["per_1000_units"] == 2.0


def test_a_new_estate_is_listed_and_a_deactivated_one_says_so(engine, new_uow, events, tenant):
    handlers.record_estate_saved(estate_saved(tenant, code="NEW-1", name="新项目", units=300), new_uow())
    rows = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")["rows"]
    assert [(r["estate"], r["received"], r["active"]) for r in rows] == [("NEW-1", 0, True)]
    handlers.record_estate_saved(estate_saved(tenant, code="NEW-1", name="新项目", units=300, active=False,
                                              at="2026-11-24T06:00:00+00:00"), new_uow())
    assert reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")["rows"][0]["active"] is False


def test_estate_saved_and_complaint_snapshots_newest_wins_in_any_order(engine, new_uow, events, tenant):
    older = estate_saved(tenant, name="旧名", units=100, at="2026-11-24T01:00:00+00:00")
    newer = estate_saved(tenant, name="新名", units=None, at="2026-11-24T05:00:00+00:00")
    handlers.record_estate_saved(newer, new_uow())
    assert handlers.record_estate_saved(older, new_uow()) is False  # late and older: ignored
    received(events, new_uow, tenant, "2026-11-24T02:00:00+00:00")  # a complaint from before the save
    row = _estate(engine, tenant)
    assert (row["name"], row["units"]) == ("新名", None)  # units cleared by the save stay cleared
    received(events, new_uow, tenant, "2026-11-24T07:00:00+00:00",
             estate={"code": "DEMO-RES", "name": "最新名", "kind": "residential", "timezone": "Asia/Shanghai",
                     "region": "EAST", "units": 900})
    row = _estate(engine, tenant)
    assert (row["name"], row["units"], row["active"]) == ("最新名", 900, True)


@pytest.mark.parametrize("payload", [{"estate": None}, {"estate": {"code": "X"}},
                                     {"estate": {"code": "X", "name": "x", "active": "no"}},
                                     {"estate": {"code": "X", "name": "x"}, "at": "2026-11-24T05:00:00"}])
def test_an_unusable_estate_saved_is_refused_before_any_write(engine, new_uow, tenant, payload):
    with pytest.raises(InvalidEvent):
        handlers.record_estate_saved(Envelope(event_type="estate_saved", tenant_id=tenant, payload=payload),
                                     new_uow())
    assert _estate(engine, tenant, "X") is None


def test_rebuild_from_events_replays_estate_saved(engine, new_uow, events, tenant):
    env = events.received(tenant, received_at="2026-11-24T02:00:00+00:00", location={"building": "1栋"})
    saved = estate_saved(tenant, name="改名花园", units=500)
    for e in (env, saved):
        archive.archive_event(e, "intake", new_uow())
    handlers.record_complaint_received(env, new_uow())
    handlers.record_estate_saved(saved, new_uow())
    before = (_estate(engine, tenant), _rows(engine, place_daily))
    summary = archive.rebuild_from_events(engine, progress=False)
    assert summary["replayed"] == {"complaint_received": 1, "estate_saved": 1}
    assert (_estate(engine, tenant), _rows(engine, place_daily)) == before
    assert before[0]["name"] == "改名花园" and before[0]["units"] == 500
