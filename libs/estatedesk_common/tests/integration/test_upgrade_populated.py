"""Every package's migrations upgrade a *populated* database without losing a row.

The other migration tests start from an empty database, so a revision that rebuilds a table on SQLite (alembic
batch mode: CREATE new, copy, DROP old) passes them even when existing rows' foreign keys refuse the DROP, as
intake's a8e1s2t3a4t5 did before 7983671 (``make run`` on an existing installation stopped at ``migrate``).

Here each package's chain is walked one revision at a time from base to head, on the same engine setup as
``python -m <pkg>.cli migrate`` (``make_engine``: SQLite with ``PRAGMA foreign_keys=ON``, or a private
PostgreSQL schema when TEST_DATABASE_URL is set). After each step every table that exists and is still empty
gets one row synthesised from the reflected schema (every column filled, foreign keys pointing at rows of the
parent tables, CHECK ``IN (...)`` lists honoured), so the next revision meets data in every table it touches.
At head every table holds at least the rows it was given.

Downgrades are not exercised: they are not used (docs/operations.md, "Rollback").
"""
from __future__ import annotations

import datetime as dt
import os
import re

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

from estatedesk_common.db import make_engine
from estatedesk_common.migrate import alembic_config
from estatedesk_common.testing import drop_test_db, new_test_db

pytestmark = pytest.mark.integration
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PACKAGES = {"intake": "services/intake", "workflow": "services/workflow", "notify": "services/notify",
            "reporting": "services/reporting", "gateway": "gateway"}

# Tables a revision drops on purpose, with their data carried elsewhere (checked by that revision's own tests).
DROPPED = {
    ("workflow", "sla_limits"),  # 919f3f796c25: site limits become sla_policies overrides, the table goes
    # r18l1o2c3a4t: location rows keyed by (estate, kind, name) in complaint_place_* replace the pair tables
    ("reporting", "complaint_location_daily"),
    ("reporting", "complaint_location_monthly"),
}

NOW = dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.timezone.utc)


def _chain(cfg) -> list[str]:
    """Revisions from base to head, in an order alembic can apply one by one."""
    script = ScriptDirectory.from_config(cfg)
    return [rev.revision for rev in reversed(list(script.walk_revisions("base", "heads")))]


def _check_choices(inspector, table: str) -> dict[str, str]:
    """Column -> first allowed literal of each CHECK that lists literals for one column (``role IN ('a', ...)``;
    PostgreSQL reflects it as ``role = ANY (ARRAY['a'::text, ...])``)."""
    choices = {}
    columns = {c["name"] for c in inspector.get_columns(table)}
    for check in inspector.get_check_constraints(table):
        text = check.get("sqltext") or ""
        named = [c for c in columns if re.search(rf"\b{re.escape(c)}\b", text)]
        literals = re.findall(r"'([^']*)'", text)
        if len(named) == 1 and literals:
            choices[named[0]] = literals[0]
    return choices


def _scalar(column: sa.Column, n: int, dialect: str):
    """A value of ``column``'s reflected type; ``n`` keeps strings distinct across tables."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return n
    if isinstance(kind, (sa.Float, sa.Numeric)):
        return n + 0.5
    if isinstance(kind, sa.DateTime):
        return NOW if dialect == "postgresql" else NOW.replace(tzinfo=None)
    if isinstance(kind, sa.Date):
        return NOW.date()
    if isinstance(kind, sa.JSON):
        return {"synthesised": n}
    if isinstance(kind, sa.LargeBinary):
        return b"synthesised"
    length = getattr(kind, "length", None)
    value = f"{column.name}-{n}"
    return value[-length:] if length else value


def _parent_row(conn, fk: sa.ForeignKeyConstraint, fixed: dict):
    """A row of the referenced table that agrees with the columns already chosen (composite keys share
    tenant_id and estate_code), or None."""
    parent = fk.referred_table
    pairs = list(zip(fk.column_keys, [e.column.name for e in fk.elements]))
    query = sa.select(*[parent.c[ref] for _, ref in pairs])
    for local, ref in pairs:
        if local in fixed:
            query = query.where(parent.c[ref] == fixed[local])
    row = conn.execute(query.limit(1)).first()
    return None if row is None else dict(zip([local for local, _ in pairs], row))


def _synthesise(conn, inspector, table: sa.Table, n: int) -> dict:
    dialect = conn.dialect.name
    row: dict = {}
    fks = sorted(table.foreign_key_constraints, key=lambda fk: -len(fk.column_keys))
    for fk in fks:
        parent = _parent_row(conn, fk, row)
        if parent is not None:
            row.update(parent)
        elif all(table.c[c].nullable for c in fk.column_keys if c not in row):
            row.update({c: None for c in fk.column_keys if c not in row})
        else:
            raise AssertionError(f"{table.name}: no row in {fk.referred_table.name} to point {fk.column_keys} at")
    choices = _check_choices(inspector, table.name)
    for i, column in enumerate(table.columns):
        if column.name not in row:
            row[column.name] = choices.get(column.name, _scalar(column, n * 100 + i, dialect))
    return row


def _populate(engine, package: str, revision: str, counts: dict, lost: list) -> None:
    """Note rows ``revision`` lost, then one row into every empty table (parents first); ``counts`` keeps what
    each table held."""
    with engine.begin() as conn:
        metadata = sa.MetaData()
        metadata.reflect(bind=conn)
        inspector = sa.inspect(conn)
        for gone in sorted(set(counts) - set(metadata.tables)):
            held = counts.pop(gone)
            if (package, gone) not in DROPPED:
                lost.append((revision, gone, held, None))
        for n, table in enumerate(metadata.sorted_tables, start=1):
            if table.name == "alembic_version":
                continue
            held = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
            if held < counts.get(table.name, 0):
                lost.append((revision, table.name, counts[table.name], held))
            if held == 0:
                conn.execute(table.insert().values(_synthesise(conn, inspector, table, n)))
                held = 1
            counts[table.name] = held


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_upgrade_revision_by_revision_keeps_every_row(package):
    target = new_test_db(package)
    cfg = alembic_config(package, os.path.join(ROOT, PACKAGES[package], "migrations"), target)
    engine = make_engine(target, poolclass=NullPool)  # the same pragmas / search_path as the migrate command
    counts: dict[str, int] = {}
    lost: list[tuple] = []  # (revision, table, rows before, rows after or None if the table went)
    try:
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        for revision in _chain(cfg):
            try:
                command.upgrade(cfg, revision)
            except Exception as exc:
                raise AssertionError(f"{package}: upgrade to {revision} failed on a populated database "
                                     f"({len(counts)} tables with rows): {exc}") from exc
            _populate(engine, package, revision, counts, lost)
    finally:
        engine.dispose()
        drop_test_db(target)
    assert lost == [], f"{package}: rows lost on the way to head (revision, table, before, after): {lost}"
    assert len(counts) >= 3, counts  # the walk did populate the package's tables
