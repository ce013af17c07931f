"""Writes on reporting's tables (reads for the dashboard are in ``queries``). Every statement filters by tenant.

Upserts use the dialect's ``INSERT .. ON CONFLICT`` (SQLite and PostgreSQL share the syntax), so concurrent
consumers create a fact row or increment a rollup row atomically instead of read-modify-write. A fact row is
locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer) while its event is applied, so two events for one
complaint handled at once move its rollup contribution one after the other.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from .domain import quality
from .domain.facts import COUNTS, FIELDS, CaseFact
from .domain.rollup import EstateSnapshot
from .tables import (complaint_daily, complaint_facts, daily_by_estate, estate_names, event_archive, location_daily,
                     location_monthly, monthly_by_category, monthly_by_channel_severity, monthly_by_estate,
                     monthly_by_tenant, quality_capa, quality_nonconformities)

# every projection of complaint_daily: moved by the same deltas, cleared and refilled by ``rebuild``
MONTHLY_TABLES = (monthly_by_category, monthly_by_channel_severity, monthly_by_estate, daily_by_estate,
                  monthly_by_tenant)
LOCATION_TABLES = (location_daily, location_monthly)

_INSERTS = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
_FACT_KEY = [complaint_facts.c.tenant_id, complaint_facts.c.complaint_id]


def _insert(conn, table):
    try:
        return _INSERTS[conn.dialect.name](table)
    except KeyError:
        raise NotImplementedError(f"no upsert for dialect {conn.dialect.name!r}") from None


def lock_fact(conn, tenant_id: str, complaint_id: str) -> CaseFact:
    """The complaint's fact row, created empty if no event for it was seen yet, and locked."""
    conn.execute(_insert(conn, complaint_facts).values(tenant_id=tenant_id, complaint_id=complaint_id)
                 .on_conflict_do_nothing(index_elements=_FACT_KEY))
    row = conn.execute(select(complaint_facts).where(complaint_facts.c.tenant_id == tenant_id,
                                                     complaint_facts.c.complaint_id == complaint_id)
                       .with_for_update()).mappings().one()
    return CaseFact(**{name: row[name] for name in FIELDS})


def save_fact(conn, fact: CaseFact) -> None:
    values = {k: v for k, v in fact.as_row().items() if k not in ("tenant_id", "complaint_id")}
    conn.execute(update(complaint_facts).where(complaint_facts.c.tenant_id == fact.tenant_id,
                                               complaint_facts.c.complaint_id == fact.complaint_id).values(**values))


def add_to_rollups(conn, tenant_id: str, key: tuple, delta: dict) -> None:
    """Add ``delta`` (counts, possibly negative) to the daily bucket ``(day, estate, channel, category,
    severity)`` and to its projections (``MONTHLY_TABLES``: each keyed by some of those, day or month)."""
    day, estate_code, channel, category, severity = key
    row = {"day": day, "month": day.replace(day=1), "estate_code": estate_code, "channel": channel,
           "category": category, "severity": severity}
    for table in (complaint_daily, *MONTHLY_TABLES):
        _add(conn, table, {"tenant_id": tenant_id, **{c.name: row[c.name] for c in table.primary_key.columns
                                                      if c.name != "tenant_id"}}, delta)


def add_to_location_rollups(conn, tenant_id: str, key: tuple, delta: int) -> None:
    """Add ``delta`` complaints to the location bucket ``(day, estate, building, facility)`` and its month."""
    day, estate_code, building, facility = key
    for table, period in ((location_daily, {"day": day}), (location_monthly, {"month": day.replace(day=1)})):
        stmt = _insert(conn, table).values(tenant_id=tenant_id, **period, estate_code=estate_code,
                                           building=building, facility=facility, received=delta)
        conn.execute(stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                                set_={"received": table.c.received + stmt.excluded.received}))


def _add(conn, table, key: dict, delta: dict) -> None:
    stmt = _insert(conn, table).values(**key, **{c: delta.get(c, 0) for c in COUNTS})
    stmt = stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in COUNTS})
    conn.execute(stmt)


def upsert_estate(conn, tenant_id: str, estate: EstateSnapshot, as_of: dt.datetime) -> None:
    """Keep the newest snapshot of the estate (by the complaint's received_at). ``units`` only changes when a
    snapshot carries it."""
    stmt = _insert(conn, estate_names).values(tenant_id=tenant_id, estate_code=estate.code, name=estate.name,
                                              kind=estate.kind, region=estate.region, units=estate.units,
                                              as_of=as_of)
    stmt = stmt.on_conflict_do_update(
        index_elements=[estate_names.c.tenant_id, estate_names.c.estate_code],
        set_={"name": stmt.excluded.name, "kind": stmt.excluded.kind, "region": stmt.excluded.region,
              "units": func.coalesce(stmt.excluded.units, estate_names.c.units), "as_of": stmt.excluded.as_of},
        where=estate_names.c.as_of <= stmt.excluded.as_of,
    )
    conn.execute(stmt)


def save_estate(conn, tenant_id: str, estate: EstateSnapshot, active: bool, as_of: dt.datetime) -> bool:
    """intake's ``estate_saved``: the estate as intake now holds it (name, kind, region, units: null = none
    registered, active), unless a newer snapshot is already held. True if the row changed."""
    values = dict(name=estate.name, kind=estate.kind, region=estate.region, units=estate.units, active=active,
                  as_of=as_of)
    stmt = _insert(conn, estate_names).values(tenant_id=tenant_id, estate_code=estate.code, **values)
    stmt = stmt.on_conflict_do_update(index_elements=[estate_names.c.tenant_id, estate_names.c.estate_code],
                                      set_={k: stmt.excluded[k] for k in values},
                                      where=estate_names.c.as_of <= stmt.excluded.as_of)
    return conn.execute(stmt).rowcount == 1


def daily_rows(conn, tenant_id: str) -> list[dict]:
    """The tenant's non-empty rollup rows as stored (tests and operators)."""
    q = (select(complaint_daily).where(complaint_daily.c.tenant_id == tenant_id, complaint_daily.c.received != 0)
         .order_by(*complaint_daily.primary_key))
    return [dict(r) for r in conn.execute(q).mappings()]


def get_fact(conn, tenant_id: str, complaint_id: str) -> CaseFact | None:
    row = conn.execute(select(complaint_facts).where(complaint_facts.c.tenant_id == tenant_id,
                                                     complaint_facts.c.complaint_id == complaint_id)).mappings().first()
    return CaseFact(**{name: row[name] for name in FIELDS}) if row else None


# --- quality records (domain/quality.py) ------------------------------------------------------------------------

QUALITY_TABLES = {"nonconformity": (quality_nonconformities, quality.NONCONFORMITY_FIELDS),
                  "capa": (quality_capa, quality.CAPA_FIELDS)}


def lock_quality_record(conn, kind: str, tenant_id: str, record_id: str):
    """The record's row (``kind`` nonconformity | capa), created empty if no event for it was seen yet, and
    locked, like ``lock_fact``."""
    table, names = QUALITY_TABLES[kind]
    key = table.c[names[1]]
    conn.execute(_insert(conn, table).values(tenant_id=tenant_id, **{names[1]: record_id})
                 .on_conflict_do_nothing(index_elements=[table.c.tenant_id, key]))
    row = conn.execute(select(table).where(table.c.tenant_id == tenant_id, key == record_id)
                       .with_for_update()).mappings().one()
    values = {name: row[name] for name in names}
    if kind == "capa":
        values["case_ids"] = tuple(values["case_ids"] or ())
    return quality.RECORDS[kind](**values)


def save_quality_record(conn, kind: str, record) -> None:
    table, names = QUALITY_TABLES[kind]
    values = {name: getattr(record, name) for name in names[2:]}
    if kind == "capa":
        values["case_ids"] = list(values["case_ids"])
    conn.execute(update(table).where(table.c.tenant_id == record.tenant_id,
                                     table.c[names[1]] == getattr(record, names[1])).values(**values))


# --- rebuild ------------------------------------------------------------------------------------------------

def clear_rollups(conn) -> None:
    for table in (complaint_daily, *MONTHLY_TABLES, *LOCATION_TABLES):
        conn.execute(delete(table))


def count_facts(conn) -> int:
    return conn.execute(select(func.count()).select_from(complaint_facts)).scalar_one()


def iter_facts(conn, batch: int = 5000):
    """Every fact, in key order, ``batch`` rows at a time (keyset pagination: no long-held cursor)."""
    last = None
    while True:
        q = select(complaint_facts).order_by(*_FACT_KEY).limit(batch)
        if last is not None:
            t, c = last
            q = q.where((complaint_facts.c.tenant_id > t)
                        | ((complaint_facts.c.tenant_id == t) & (complaint_facts.c.complaint_id > c)))
        rows = conn.execute(q).mappings().all()
        if not rows:
            return
        yield [CaseFact(**{name: r[name] for name in FIELDS}) for r in rows]
        last = (rows[-1]["tenant_id"], rows[-1]["complaint_id"])


def insert_rollup_rows(conn, table_name: str, rows: list[dict]) -> None:
    if rows:
        table = {t.name: t for t in (complaint_daily, *MONTHLY_TABLES, *LOCATION_TABLES)}[table_name]
        conn.execute(table.insert(), rows)


# --- event archive (archive.py) -------------------------------------------------------------------------------

def archive_event(conn, row: dict) -> bool:
    """Insert the archived event; False if its ``event_id`` is there already (a redelivery)."""
    return conn.execute(_insert(conn, event_archive).values(**row).on_conflict_do_nothing()).rowcount == 1


def count_archived(conn) -> int:
    return conn.execute(select(func.count()).select_from(event_archive)).scalar_one()


def iter_archive(engine, batch: int = 1000):
    """Every archived event, oldest ``occurred_at`` first (ties by ``event_id``), ``batch`` rows at a time, each
    batch read in its own short transaction (the caller writes between batches)."""
    a = event_archive.c
    last = None
    while True:
        q = select(a.source, a.event_type, a.event_id, a.occurred_at, a.body).order_by(a.occurred_at, a.event_id)
        if last is not None:
            at, event_id = last
            q = q.where((a.occurred_at > at) | ((a.occurred_at == at) & (a.event_id > event_id)))
        with engine.connect() as conn:
            rows = conn.execute(q.limit(batch)).mappings().all()
        if not rows:
            return
        yield rows
        last = (rows[-1]["occurred_at"], rows[-1]["event_id"])


def clear_read_models(conn, tables, inbox, consumers: list[str]) -> None:
    """Delete every row of ``tables`` (every tenant) and the inbox claims of ``consumers``."""
    for table in tables:
        conn.execute(delete(table))
    conn.execute(delete(inbox).where(inbox.c.consumer.in_(consumers)))
