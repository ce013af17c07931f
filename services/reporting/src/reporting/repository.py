"""Writes on reporting's tables (reads for the dashboard are in ``queries``). Every statement filters by tenant.

Upserts use the dialect's ``INSERT .. ON CONFLICT`` (SQLite and PostgreSQL share the syntax), so concurrent
consumers create a fact row or increment a rollup row atomically instead of read-modify-write. A fact row is
locked (``FOR UPDATE`` on PostgreSQL; SQLite has one writer) while its event is applied, so two events for one
complaint handled at once move its rollup contribution one after the other.

Handlers do not write the shared rollup rows: they append a delta (``add_delta``) that one merger at a time folds
in (``rollup_merge``: ``claim_deltas``, ``add_rollup_rows``, ``upsert_estates``).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from .domain import quality
from .domain.facts import COUNTS, FIELDS, CaseFact
from .domain.rollup import EstateSnapshot
from .tables import (complaint_daily, complaint_facts, daily_by_estate, estate_names, event_archive, overdue_monthly,
                     overdue_watermark,
                     monthly_by_category, monthly_by_channel_severity, monthly_by_estate, monthly_by_tenant,
                     place_daily, place_monthly, place_quarterly, place_weekly, quality_capa, quality_nonconformities,
                     quarterly_by_category, rollup_deltas, weekly_by_category, weekly_by_estate, weekly_by_tenant)

# every projection of complaint_daily: moved by the same deltas, cleared and refilled by ``rebuild``
MONTHLY_TABLES = (monthly_by_category, monthly_by_channel_severity, monthly_by_estate, daily_by_estate,
                  monthly_by_tenant, quarterly_by_category, weekly_by_estate, weekly_by_tenant, weekly_by_category)
# the location rollups, per day, month and quarter (revision r18l1o2c3a4t) and week (r20w1e2e3k4s)
LOCATION_TABLES = (place_daily, place_monthly, place_quarterly, place_weekly)


def periods_of(day: dt.date) -> dict:
    """The period keys a day counts in: ``day``, ``week`` (the Monday of its ISO week), ``month`` (its first day),
    ``quarter`` (its quarter's first day)."""
    return {"day": day, "week": day - dt.timedelta(days=day.weekday()), "month": day.replace(day=1),
            "quarter": dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)}


def period_column(table) -> str:
    """The period a rollup is keyed by (``day``, ``week``, ``month`` or ``quarter``): its key's second column."""
    return table.primary_key.columns.values()[1].name


def table_counts(table) -> list[str]:
    """The counts ``table`` holds (every one of ``COUNTS``, or only ``received`` for the narrow ones)."""
    return [c.name for c in table.columns if c.name in COUNTS]

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
    severity)`` and to its projections (``MONTHLY_TABLES``: each keyed by some of those, day, week, month or
    quarter)."""
    day, estate_code, channel, category, severity = key
    row = {**periods_of(day), "estate_code": estate_code, "channel": channel, "category": category,
           "severity": severity}
    for table in (complaint_daily, *MONTHLY_TABLES):
        _add(conn, table, {"tenant_id": tenant_id, **{c.name: row[c.name] for c in table.primary_key.columns
                                                      if c.name != "tenant_id"}}, delta)


def _add(conn, table, key: dict, delta: dict) -> None:
    counts = table_counts(table)
    stmt = _insert(conn, table).values(**key, **{c: delta.get(c, 0) for c in counts})
    stmt = stmt.on_conflict_do_update(index_elements=list(table.primary_key.columns),
                                      set_={c: table.c[c] + stmt.excluded[c] for c in counts})
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


def add_rollup_rows(conn, table, rows: list[dict]) -> None:
    """Add each row's counts (possibly negative) to ``table``'s row with the same key (created at 0 if missing),
    in one statement. ``rows``: one per key (a key twice in one statement is an error), in key order."""
    if rows:
        conn.execute(_adding_upsert(conn.dialect.name, table), rows)


_UPSERTS: dict = {}


def _adding_upsert(dialect: str, table):
    """``INSERT .. ON CONFLICT DO UPDATE SET count = count + excluded.count`` for ``table``, built once per dialect
    (built anew for every event, they were about half the Python an event cost: bench/README.md)."""
    stmt = _UPSERTS.get((dialect, table.name))
    if stmt is None:
        if dialect not in _INSERTS:
            raise NotImplementedError(f"no upsert for dialect {dialect!r}")
        counts = [c.name for c in table.columns if c.name in COUNTS or c.name in ("received", "cases")]
        insert = _INSERTS[dialect](table)
        stmt = _UPSERTS[(dialect, table.name)] = insert.on_conflict_do_update(
            index_elements=list(table.primary_key.columns), set_={c: table.c[c] + insert.excluded[c] for c in counts})
    return stmt


def upsert_estates(conn, snapshots: list[tuple[str, EstateSnapshot, dt.datetime]]) -> None:
    """``upsert_estate`` for each ``(tenant, estate, as_of)`` in one statement (one per estate, keys sorted)."""
    if snapshots:
        stmt = _insert(conn, estate_names)
        stmt = stmt.on_conflict_do_update(
            index_elements=[estate_names.c.tenant_id, estate_names.c.estate_code],
            set_={"name": stmt.excluded.name, "kind": stmt.excluded.kind, "region": stmt.excluded.region,
                  "units": func.coalesce(stmt.excluded.units, estate_names.c.units), "as_of": stmt.excluded.as_of},
            where=estate_names.c.as_of <= stmt.excluded.as_of,
        )
        conn.execute(stmt, [{"tenant_id": tenant_id, "estate_code": e.code, "name": e.name, "kind": e.kind,
                             "region": e.region, "units": e.units, "as_of": as_of}
                            for tenant_id, e, as_of in snapshots])


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


# --- rollup deltas (rollup_merge.py) --------------------------------------------------------------------------

_MERGE_LOCK = "SELECT {}(hashtext(current_schema() || '.reporting.rollup_merge'))"


_OVERDUE_LOCK = "SELECT {}(hashtext(current_schema() || '.reporting.overdue_watermark'))"


def watermark_for_change(conn) -> dt.datetime:
    """The overdue ledger's watermark, for a handler about to add what its event changes in the ledger: the lock
    taken shared until the end of its transaction (PostgreSQL), so the watermark cannot move before it commits
    (``advance_overdue`` takes it exclusively). SQLite: the handler's transaction holds the single writer lock
    already (its inbox claim)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_OVERDUE_LOCK.format("pg_advisory_xact_lock_shared")))
    return read_watermark(conn)


def lock_watermark(conn) -> dt.datetime:
    """Become the only transaction that moves the ledger (``advance_overdue``, ``rebuild``): wait for the handlers
    that read the watermark to commit and keep new ones waiting (PostgreSQL); SQLite: take the writer lock first,
    before any read. The watermark."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_OVERDUE_LOCK.format("pg_advisory_xact_lock")))
    else:
        conn.execute(update(overdue_watermark).where(overdue_watermark.c.id == 1)
                     .values(at=overdue_watermark.c.at))
    return read_watermark(conn)


def read_watermark(conn) -> dt.datetime:
    return conn.execute(select(overdue_watermark.c.at).where(overdue_watermark.c.id == 1)).scalar_one()


def set_watermark(conn, at: dt.datetime) -> None:
    conn.execute(update(overdue_watermark).where(overdue_watermark.c.id == 1).values(at=at))


def overdue_between(conn, lo: dt.datetime, hi: dt.datetime, stages) -> list[tuple]:
    """``(tenant, stage, day, estate or '', cases)``: the cases of every tenant open at each of ``stages``
    (``{stage: (open condition, deadline column)}``) whose deadline is in ``[lo, hi)`` (the partial indexes by
    deadline), per day received and estate."""
    out = []
    for stage, (is_open, due) in stages.items():
        estate = func.coalesce(complaint_facts.c.estate_code, "")
        q = (select(complaint_facts.c.tenant_id, complaint_facts.c.day, estate.label("estate"), func.count())
             .where(is_open(), due >= lo, due < hi, complaint_facts.c.day.is_not(None))
             .group_by(complaint_facts.c.tenant_id, complaint_facts.c.day, estate))
        out += [(r[0], stage, r[1], r[2], int(r[3])) for r in conn.execute(q)]
    return out


def add_delta(conn, tenant_id: str, body: dict, now: dt.datetime) -> int:
    """Append an event's delta; its id."""
    return conn.execute(rollup_deltas.insert().values(tenant_id=tenant_id, created_at=now, body=body)
                        .returning(rollup_deltas.c.id)).scalar_one()


def try_merge_lock(conn) -> bool:
    """Become the merger for this transaction (PostgreSQL: an advisory lock per schema, released at its end);
    False if another transaction is. SQLite: True (its single writer lock serialises the merges)."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(conn.execute(text(_MERGE_LOCK.format("pg_try_advisory_xact_lock"))).scalar())


def wait_for_merger(conn) -> None:
    """Wait until the transaction merging now (if any) ends, without keeping other waiters out (the lock taken
    shared, until the caller's transaction ends: keep it short). SQLite: nothing to wait for."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_MERGE_LOCK.format("pg_advisory_xact_lock_shared")))


def merge_lock(conn) -> None:
    """Wait to become the merger for this transaction (PostgreSQL). SQLite: nothing to wait for."""
    if conn.dialect.name == "postgresql":
        conn.execute(text(_MERGE_LOCK.format("pg_advisory_xact_lock")))


def lock_deltas_for_rebuild(conn) -> None:
    """``rebuild``: wait for the merger and keep it out, and make handlers wait before they append a delta (their
    fact change is then not in the facts ``rebuild`` reads, and their delta is added after it). SQLite: the
    caller's first write takes the single writer lock for the whole transaction."""
    merge_lock(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE rollup_deltas IN EXCLUSIVE MODE"))


def claim_deltas(conn, limit: int) -> list[tuple[str, dict]]:
    """Delete and return the ``limit`` oldest deltas as ``(tenant_id, body)``, oldest first: merged by the caller's
    transaction (a rollback puts them back)."""
    oldest = select(rollup_deltas.c.id).order_by(rollup_deltas.c.id).limit(limit)
    stmt = (delete(rollup_deltas).where(rollup_deltas.c.id.in_(oldest))
            .returning(rollup_deltas.c.id, rollup_deltas.c.tenant_id, rollup_deltas.c.body))
    return [(r.tenant_id, r.body) for r in sorted(conn.execute(stmt), key=lambda r: r.id)]


def delta_pending(conn, delta_id: int) -> bool:
    return conn.execute(select(rollup_deltas.c.id).where(rollup_deltas.c.id == delta_id)).first() is not None


def pending_deltas(conn) -> tuple[int, dt.datetime | None]:
    """How many deltas wait, and when the oldest of them was written."""
    oldest = conn.execute(select(rollup_deltas.c.created_at).order_by(rollup_deltas.c.id).limit(1)).scalar()
    count = conn.execute(select(func.count()).select_from(rollup_deltas)).scalar_one() if oldest else 0
    return count, oldest


def clear_deltas(conn) -> None:
    conn.execute(delete(rollup_deltas))


# --- rebuild ------------------------------------------------------------------------------------------------

def clear_rollups(conn) -> None:
    for table in (complaint_daily, *MONTHLY_TABLES, *LOCATION_TABLES, overdue_monthly):
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
        table = {t.name: t for t in (complaint_daily, *MONTHLY_TABLES, *LOCATION_TABLES, overdue_monthly)}[table_name]
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
