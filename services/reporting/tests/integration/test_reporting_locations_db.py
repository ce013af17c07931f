"""Location hot spots and estate_saved on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL): the
location upserts (per day, month and quarter), the hot-spot query over quarter, month and day tables, the
drill-down filter, the estate_saved upsert guarded by ``as_of`` and the rebuild of the location rollups."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, reports
from reporting.domain.scope import Scope, scope_from_roles
from reporting.rebuild import rebuild
from reporting.tables import place_daily, place_monthly, place_quarterly, reliability

pytestmark = pytest.mark.integration
ALL = Scope(None)
NOW = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)
ESTATE = {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
          "region": "EAST"}


class Clock:
    def now(self):
        return NOW


def _received(engine, tenant, at, location):
    env = Envelope(event_type="complaint_received", tenant_id=tenant, payload=dict(
        complaint_id=str(uuid.uuid4()), reference="R", estate=ESTATE, channel="hotline", received_at=at,
        location=location))
    handlers.record_complaint_received(env, UnitOfWork(engine, reliability, Clock()))
    return env


def _rows(engine, table):
    with engine.connect() as conn:
        return sorted(tuple(r)[1:] for r in conn.execute(select(table).where(table.c.received != 0)))


def test_location_hot_spots_drilldown_and_rebuild_on_the_database(engine):
    tenant = str(uuid.uuid4())
    for month in (7, 8, 9, 10):
        _received(engine, tenant, f"2026-{month:02d}-10T02:00:00+00:00", {"building": "3栋", "facility": "电梯"})
    burst = [_received(engine, tenant, "2026-11-10T02:00:00+00:00", {"building": "3栋", "facility": "电梯"})
             for _ in range(6)]
    # whole month; months + edges; a whole quarter (Q4: October's 1 and November's 6, against Q3's 3)
    for period, count in ((("2026-11-01", "2026-11-30"), 6), (("2026-10-20", "2026-11-18"), 6),
                          (("2026-10-01", "2026-12-31"), 7)):
        spots = reports.hot_spots(tenant, ALL, engine, *period)
        assert [(b["building"], b["count"]) for b in spots["buildings"]] == [("3栋", count)], period
        assert [(f["facility"], f["count"]) for f in spots["facilities"]] == [("电梯", count)], period
    assert reports.hot_spots(tenant, scope_from_roles([["site_manager", "OTHER"]]), engine, "2026-11-01",
                             "2026-11-30")["buildings"] == []
    page = reports.drilldown(tenant, ALL, engine, NOW, "received", "2026-11-01", "2026-11-30", building="3栋",
                             facility="电梯")
    assert page["total"] == 6 and {i["complaint_id"] for i in page["items"]} == {
        e.payload["complaint_id"] for e in burst}
    tables = (place_daily, place_monthly, place_quarterly)
    before = [_rows(engine, table) for table in tables]
    assert [len(rows) for rows in before] == [10, 10, 4]  # building and facility: 5 days, 5 months, Q3 and Q4
    with engine.begin() as conn:
        conn.execute(place_monthly.delete())
        conn.execute(place_quarterly.update().values(received=9))
    rebuild(engine, progress=False)
    assert [_rows(engine, table) for table in tables] == before


def test_estate_saved_upsert_on_the_database(engine):
    tenant = str(uuid.uuid4())
    uow = lambda: UnitOfWork(engine, reliability, Clock())  # noqa: E731

    def saved(at, **estate):
        return Envelope(event_type="estate_saved", tenant_id=tenant, payload={
            "estate": ESTATE | {"units": None, "active": True} | estate, "created": False, "changed": [],
            "by": "u", "at": at})

    _received(engine, tenant, "2026-11-24T02:00:00+00:00", None)
    assert handlers.record_estate_saved(saved("2026-11-24T05:00:00+00:00", name="新名", units=400,
                                              active=False), uow()) is True
    assert handlers.record_estate_saved(saved("2026-11-24T04:00:00+00:00", name="旧名"), uow()) is False
    row = reports.league_table(tenant, ALL, engine, NOW, "2026-11-24", "2026-11-24")["rows"][0]
    assert (row["estate_name"], row["units"], row["per_1000_units"], row["active"]) == ("新名", 400, 2.5, False)
