"""``prepared.execute``: the same rows as ``conn.execute``; on PostgreSQL prepared once per connection, an
expanding IN list as one array parameter, a rollback or a reconnect survived; on SQLite the plain path."""
import datetime as dt
import functools

import pytest
from sqlalchemy import (Column, Date, Integer, MetaData, String, Table, bindparam, func, literal, select, text,
                        union_all)

from estatedesk_common import prepared
from estatedesk_common.db import make_engine
from estatedesk_common.testing import drop_test_db, new_test_db

pytestmark = pytest.mark.integration
metadata = MetaData()
rows_t = Table("prepared_rows", metadata, Column("tenant_id", String(36), primary_key=True),
               Column("day", Date, primary_key=True), Column("estate_code", String(20), primary_key=True),
               Column("n", Integer, nullable=False))


@pytest.fixture
def engine():
    target = new_test_db("prepared")
    eng = make_engine(target)
    if target.schema:
        with eng.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"'))
    metadata.create_all(eng)
    day = dt.date(2026, 11, 1)
    with eng.begin() as conn:
        conn.execute(rows_t.insert(), [{"tenant_id": t, "day": day + dt.timedelta(days=k), "estate_code": e, "n": k}
                                       for t in ("t1", "t2") for k in range(10) for e in ("A", "B", "C")])
    yield eng
    eng.dispose()
    drop_test_db(target)


@functools.lru_cache(maxsize=None)
def statement(everything: bool):
    """Counts per estate in a day range, with a constant column (``literal``: a parameter the caller does not
    pass) and a UNION ALL, and an estate list unless ``everything``."""
    q = select(literal(1).label("part"), rows_t.c.estate_code, func.sum(rows_t.c.n).label("n")).where(
        rows_t.c.tenant_id == bindparam("tenant_id"), rows_t.c.day.between(bindparam("lo"), bindparam("hi")))
    if not everything:
        q = q.where(rows_t.c.estate_code.in_(bindparam("estates", expanding=True)))
    q = q.group_by(rows_t.c.estate_code)
    return union_all(q, select(literal(2), literal("total"), func.count()).select_from(rows_t).where(
        rows_t.c.tenant_id == bindparam("tenant_id")))


def both(engine, everything, **params):
    with engine.connect() as conn:
        plain = sorted(tuple(r) for r in conn.execute(statement(everything), params))
        fast = sorted(tuple(r) for r in prepared.execute(conn, statement(everything), params))
    return plain, fast


def test_the_same_rows_as_a_plain_execute(engine):
    args = {"tenant_id": "t1", "lo": dt.date(2026, 11, 2), "hi": dt.date(2026, 11, 4)}
    plain, fast = both(engine, True, **args)
    assert plain == fast == [(1, "A", 6), (1, "B", 6), (1, "C", 6), (2, "total", 30)]
    for estates in (["A"], ["A", "C"], ["C", "B", "A"]):  # one statement whatever the list's length
        plain, fast = both(engine, False, estates=estates, **args)
        assert plain == fast and {r[1] for r in fast} == set(estates) | {"total"}


def test_a_value_whose_type_cannot_be_told_runs_the_plain_way(engine):
    plain, fast = both(engine, False, tenant_id="t1", lo=dt.date(2026, 11, 1), hi=dt.date(2026, 11, 30), estates=[])
    assert plain == fast == [(2, "total", 30)]


def test_postgresql_prepares_once_per_connection_and_survives_rollback_and_reconnect(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL path; SQLite runs conn.execute")
    args = {"tenant_id": "t2", "lo": dt.date(2026, 11, 1), "hi": dt.date(2026, 11, 3)}

    def prepared_count(conn):
        return conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()

    with engine.connect() as conn:
        for _ in range(3):
            assert sorted(prepared.execute(conn, statement(True), args)) == [
                (1, "A", 3), (1, "B", 3), (1, "C", 3), (2, "total", 30)]
        assert prepared_count(conn) == 1
        conn.rollback()  # PREPARE is not transactional: still there, and still known
        assert len(prepared.execute(conn, statement(True), args).all()) == 4
        assert prepared_count(conn) == 1
        conn.invalidate()  # a lost connection: the next one prepares again
    with engine.connect() as conn:
        assert len(prepared.execute(conn, statement(True), args).all()) == 4
        assert prepared_count(conn) == 1
