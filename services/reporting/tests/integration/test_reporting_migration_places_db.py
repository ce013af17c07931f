"""Revision r18l1o2c3a4t on a populated database (SQLite, or PostgreSQL via TEST_DATABASE_URL): the location rows
keyed by the building x facility pair become rows keyed by (estate, kind, name) per day, month and quarter, estate
x category months become quarters, and the pair tables go (the upgrade test lists them as dropped on purpose);
the downgrade recreates the pair tables from the facts."""
import datetime as dt
import os

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy.pool import NullPool

from estatedesk_common.db import make_engine
from estatedesk_common.migrate import alembic_config
from estatedesk_common.testing import drop_test_db, new_test_db

pytestmark = pytest.mark.integration
MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")
T = "t-1"
d = dt.date.fromisoformat


def _insert(conn, table: str, rows: list[dict]) -> None:
    meta = sa.MetaData()
    conn.execute(sa.Table(table, meta, autoload_with=conn).insert(), rows)


def _rows(conn, table: str) -> list[tuple]:
    meta = sa.MetaData()
    t = sa.Table(table, meta, autoload_with=conn)
    return sorted(tuple(r)[1:] for r in conn.execute(sa.select(t)))


def test_places_and_quarters_are_filled_from_the_pair_rows_and_the_months():
    target = new_test_db("reporting")
    cfg = alembic_config("reporting", MIGRATIONS, target)
    engine = make_engine(target, poolclass=NullPool)
    try:
        command.upgrade(cfg, "r17q1u2e3r4y")
        pair = {"tenant_id": T, "estate_code": "E1"}
        with engine.begin() as conn:
            _insert(conn, "complaint_location_daily", [
                {**pair, "day": d("2026-09-30"), "building": "3栋", "facility": "电梯", "received": 2},
                {**pair, "day": d("2026-09-30"), "building": "3栋", "facility": "", "received": 1},
                {**pair, "day": d("2026-10-01"), "building": "", "facility": "电梯", "received": 1},
                {**pair, "day": d("2026-10-02"), "building": "5栋", "facility": "", "received": 0}])  # moved away
            _insert(conn, "complaint_monthly_category", [
                {**pair, "month": d(m), "category": c, "received": n}
                for m, c, n in (("2026-07-01", "greening", 1), ("2026-09-01", "greening", 2),
                                ("2026-10-01", "greening", 4), ("2026-10-01", "", 1))])
            _insert(conn, "complaint_facts", [
                {"tenant_id": T, "complaint_id": f"c{k}", "estate_code": "E1", "channel": "web", "day": day,
                 "building": building, "facility": facility}
                for k, (day, building, facility) in enumerate([(d("2026-11-02"), "3栋", "电梯"),
                                                               (d("2026-11-02"), None, "会所"),
                                                               (d("2026-11-03"), None, None)])])
        command.upgrade(cfg, "r18l1o2c3a4t")
        with engine.connect() as conn:
            assert _rows(conn, "complaint_place_daily") == [
                (d("2026-09-30"), "E1", "building", "3栋", 3), (d("2026-09-30"), "E1", "facility", "电梯", 2),
                (d("2026-10-01"), "E1", "facility", "电梯", 1)]
            assert _rows(conn, "complaint_place_monthly") == [
                (d("2026-09-01"), "E1", "building", "3栋", 3), (d("2026-09-01"), "E1", "facility", "电梯", 2),
                (d("2026-10-01"), "E1", "facility", "电梯", 1)]
            assert _rows(conn, "complaint_place_quarterly") == [
                (d("2026-07-01"), "E1", "building", "3栋", 3), (d("2026-07-01"), "E1", "facility", "电梯", 2),
                (d("2026-10-01"), "E1", "facility", "电梯", 1)]
            assert _rows(conn, "complaint_quarterly_category") == [
                (d("2026-07-01"), "E1", "greening", 3), (d("2026-10-01"), "E1", "", 1),
                (d("2026-10-01"), "E1", "greening", 4)]
            tables = set(sa.inspect(conn).get_table_names())
            assert not tables & {"complaint_location_daily", "complaint_location_monthly"}
        command.downgrade(cfg, "r17q1u2e3r4y")
        with engine.connect() as conn:
            assert _rows(conn, "complaint_location_daily") == [(d("2026-11-02"), "E1", "", "会所", 1),
                                                               (d("2026-11-02"), "E1", "3栋", "电梯", 1)]
            assert _rows(conn, "complaint_location_monthly") == [(d("2026-11-01"), "E1", "", "会所", 1),
                                                                 (d("2026-11-01"), "E1", "3栋", "电梯", 1)]
            assert "complaint_place_daily" not in set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()
        drop_test_db(target)
