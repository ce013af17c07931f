"""Revision r20w1e2e3k4s on a populated database (SQLite, or PostgreSQL via TEST_DATABASE_URL): the week rollups
are filled from the daily ones, each day counted in the week of its Monday (the SQL per dialect: a Sunday in the
week before, weeks that straddle a month and a year), every count carried; the downgrade drops them."""
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
WEEKLY = ("complaint_weekly_estate", "complaint_weekly_tenant", "complaint_weekly_category", "complaint_place_weekly")


def _insert(conn, table: str, rows: list[dict]) -> None:
    conn.execute(sa.Table(table, sa.MetaData(), autoload_with=conn).insert(), rows)


def _rows(conn, table: str, columns: tuple[str, ...]) -> list[tuple]:
    t = sa.Table(table, sa.MetaData(), autoload_with=conn)
    return sorted(tuple(r) for r in conn.execute(sa.select(*[t.c[c] for c in columns])))


def test_week_rollups_are_filled_from_the_daily_ones_per_iso_week():
    target = new_test_db("reporting")
    cfg = alembic_config("reporting", MIGRATIONS, target)
    engine = make_engine(target, poolclass=NullPool)
    # Sun Nov 29 (week of Nov 23), Mon Nov 30 and Wed Dec 2 (week of Nov 30: straddles two months), Fri Jan 1 2027
    # (week of Mon Dec 28 2026: straddles two years), Sun Jan 3 2027 (the same week)
    days = [d("2026-11-29"), d("2026-11-30"), d("2026-12-02"), d("2027-01-01"), d("2027-01-03")]
    try:
        command.upgrade(cfg, "r19o1v2e3r4d")
        with engine.begin() as conn:
            _insert(conn, "complaint_daily", [
                {"tenant_id": T, "day": day, "estate_code": "E1", "channel": "web", "category": "greening",
                 "severity": "minor", "received": k + 1, "resolved": 10 * (k + 1)} for k, day in enumerate(days)])
            _insert(conn, "complaint_daily_estate", [
                {"tenant_id": T, "day": day, "estate_code": "E1", "received": k + 1, "resolved": 10 * (k + 1)}
                for k, day in enumerate(days)])
            _insert(conn, "complaint_place_daily", [
                {"tenant_id": T, "day": day, "estate_code": "E1", "kind": "building", "name": "3栋", "received": k + 1}
                for k, day in enumerate(days)])
        command.upgrade(cfg, "r20w1e2e3k4s")
        weeks = [(d("2026-11-23"), 1, 10), (d("2026-11-30"), 2 + 3, 20 + 30), (d("2026-12-28"), 4 + 5, 40 + 50)]
        with engine.connect() as conn:
            assert _rows(conn, "complaint_weekly_estate", ("week", "estate_code", "received", "resolved")) == [
                (week, "E1", n, resolved) for week, n, resolved in weeks]
            assert _rows(conn, "complaint_weekly_tenant", ("week", "channel", "category", "severity", "received",
                                                           "resolved")) == [
                (week, "web", "greening", "minor", n, resolved) for week, n, resolved in weeks]
            assert _rows(conn, "complaint_weekly_category", ("week", "estate_code", "category", "received",
                                                             "resolved")) == [
                (week, "E1", "greening", n, resolved) for week, n, resolved in weeks]
            assert _rows(conn, "complaint_place_weekly", ("week", "estate_code", "kind", "name", "received")) == [
                (week, "E1", "building", "3栋", n) for week, n, _ in weeks]
        command.downgrade(cfg, "r19o1v2e3r4d")
        with engine.connect() as conn:
            assert not set(sa.inspect(conn).get_table_names()) & set(WEEKLY)
    finally:
        engine.dispose()
        drop_test_db(target)
