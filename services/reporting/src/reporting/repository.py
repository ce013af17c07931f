"""Queries on reporting's tables. Every query filters by tenant.

Upserts use the dialect's ``INSERT .. ON CONFLICT`` (SQLite and PostgreSQL share the syntax), so concurrent
consumers increment a rollup row atomically instead of read-modify-write.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite

from .domain.rollup import ComplaintFact
from .tables import complaint_daily, complaint_facts, estate_names

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _insert(conn, table):
    try:
        return _INSERTS[conn.dialect.name](table)
    except KeyError:
        raise NotImplementedError(f"no upsert for dialect {conn.dialect.name!r}") from None


def add_fact(conn, fact: ComplaintFact) -> bool:
    """Store the complaint's fact row; False if this complaint was already recorded."""
    stmt = _insert(conn, complaint_facts).values(
        tenant_id=fact.tenant_id, complaint_id=fact.complaint_id, estate_code=fact.estate.code,
        channel=fact.channel, category=fact.category, severity=fact.severity, received_at=fact.received_at,
        day=fact.day,
    ).on_conflict_do_nothing(index_elements=[complaint_facts.c.tenant_id, complaint_facts.c.complaint_id])
    return conn.execute(stmt).rowcount == 1


def bump_daily(conn, fact: ComplaintFact, by: int = 1) -> None:
    stmt = _insert(conn, complaint_daily).values(**fact.rollup_key, received=by)
    stmt = stmt.on_conflict_do_update(
        index_elements=[c for c in complaint_daily.primary_key.columns],
        set_={"received": complaint_daily.c.received + stmt.excluded.received},
    )
    conn.execute(stmt)


def upsert_estate(conn, fact: ComplaintFact) -> None:
    e = fact.estate
    stmt = _insert(conn, estate_names).values(tenant_id=fact.tenant_id, estate_code=e.code, name=e.name,
                                              kind=e.kind, region=e.region, as_of=fact.received_at)
    stmt = stmt.on_conflict_do_update(
        index_elements=[estate_names.c.tenant_id, estate_names.c.estate_code],
        set_={"name": stmt.excluded.name, "kind": stmt.excluded.kind, "region": stmt.excluded.region,
              "as_of": stmt.excluded.as_of},
        where=estate_names.c.as_of <= stmt.excluded.as_of,
    )
    conn.execute(stmt)


def counts_by_estate_channel(conn, tenant_id: str, start: dt.date | None, end: dt.date | None) -> list[dict]:
    """``[{"estate","estate_name","channel","count"}]`` over ``start..end`` (inclusive; None = open)."""
    d = complaint_daily
    q = (
        select(d.c.estate_code, estate_names.c.name, d.c.channel, func.sum(d.c.received).label("count"))
        .select_from(d.outerjoin(estate_names, (estate_names.c.tenant_id == d.c.tenant_id)
                                 & (estate_names.c.estate_code == d.c.estate_code)))
        .where(d.c.tenant_id == tenant_id)
        .group_by(d.c.estate_code, estate_names.c.name, d.c.channel)
        .order_by(d.c.estate_code, d.c.channel)
    )
    if start is not None:
        q = q.where(d.c.day >= start)
    if end is not None:
        q = q.where(d.c.day <= end)
    return [{"estate": r.estate_code, "estate_name": r.name or r.estate_code, "channel": r.channel,
             "count": int(r.count)} for r in conn.execute(q)]


def daily_rows(conn, tenant_id: str) -> list[dict]:
    """The tenant's rollup rows as stored (tests and operators)."""
    q = select(complaint_daily).where(complaint_daily.c.tenant_id == tenant_id).order_by(*complaint_daily.primary_key)
    return [dict(r) for r in conn.execute(q).mappings()]
