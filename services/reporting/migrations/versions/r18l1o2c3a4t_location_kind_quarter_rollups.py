"""hot-spot rollups: location rollups keyed by (estate, kind, name) per day, month and quarter; estate x category
per quarter

Revision ID: r18l1o2c3a4t
Revises: r17q1u2e3r4y
Create Date: 2026-12-07 18:00:00

Hand-written. ``bench/README.md`` (reporting.py, 10,000,000 facts) has the plans behind it:
- ``complaint_place_daily`` / ``_monthly`` / ``_quarterly(tenant_id, day|month|quarter, estate_code, kind, name,
  received)`` (``kind`` ``building`` | ``facility``) replace ``complaint_location_daily`` / ``_monthly``, which were
  keyed by the building x facility pair: an estate-month held up to 12 x 9 keys of that pair (~50 at 10 M facts),
  now at most one row per building and per facility. Filled here from the pair rows (a complaint naming both
  counts in one row of each kind), months and quarters from the days; the pair tables are dropped (handlers'
  deltas keep their format, ``[day, estate, building, facility, n]``: the merge projects them).
- ``complaint_quarterly_category(tenant_id, quarter, estate_code, category, received)``: the whole quarters of
  estate x category hot spots, filled from ``complaint_monthly_category``.
``quarter`` is the first day of the estate-local calendar quarter. Covering indexes (PostgreSQL ``INCLUDE
(received)``) as on the other dashboard tables (revision r15s1p2e3e4d). ``downgrade`` recreates the pair tables
from the facts (what ``rebuild`` does) and drops the new ones.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r18l1o2c3a4t'
down_revision: Union[str, Sequence[str], None] = 'r17q1u2e3r4y'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

PLACES = {"complaint_place_daily": "day", "complaint_place_monthly": "month", "complaint_place_quarterly": "quarter"}
PAIRS = {"complaint_location_daily": "day", "complaint_location_monthly": "month"}


def _period(grain: str, column: str) -> str:
    """SQL for the first day of ``column``'s month or quarter (``grain``)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('{grain}', {column}) AS DATE)"
    if grain == "month":
        return f"date({column}, 'start of month')"
    return (f"date({column}, 'start of month', '-' || ((CAST(strftime('%m', {column}) AS INTEGER) - 1) % 3) "
            f"|| ' months')")


def _covering(name: str, period: str, dims: tuple[str, ...]) -> None:
    op.create_index(f"ix_{name}_covering", name, ["tenant_id", period, *dims], postgresql_include=["received"])


def _table(name: str, period: str, dims: tuple[str, ...], widths: tuple[int, ...]) -> None:
    op.create_table(
        name,
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        *[sa.Column(d, sa.String(length=w), nullable=False) for d, w in zip(dims, widths)],
        sa.Column('received', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('tenant_id', period, 'estate_code', *dims),
    )
    _covering(name, period, ("estate_code", *dims))


def upgrade() -> None:
    for name, period in PLACES.items():
        _table(name, period, ("kind", "name"), (10, 40))
    _table("complaint_quarterly_category", "quarter", ("category",), (40,))
    op.execute("INSERT INTO complaint_place_daily (tenant_id, day, estate_code, kind, name, received) "
               + " UNION ALL ".join(
                   f"SELECT tenant_id, day, estate_code, '{kind}', {kind}, sum(received) "
                   f"FROM complaint_location_daily WHERE {kind} <> '' GROUP BY tenant_id, day, estate_code, {kind} "
                   f"HAVING sum(received) <> 0" for kind in ("building", "facility")))
    for (source, grain_from), (target, grain) in zip(list(PLACES.items())[:-1], list(PLACES.items())[1:]):
        at = _period(grain, grain_from)
        op.execute(f"INSERT INTO {target} (tenant_id, {grain}, estate_code, kind, name, received) "
                   f"SELECT tenant_id, {at}, estate_code, kind, name, sum(received) FROM {source} "
                   f"GROUP BY tenant_id, {at}, estate_code, kind, name HAVING sum(received) <> 0")
    quarter = _period("quarter", "month")
    op.execute("INSERT INTO complaint_quarterly_category (tenant_id, quarter, estate_code, category, received) "
               f"SELECT tenant_id, {quarter}, estate_code, category, sum(received) FROM complaint_monthly_category "
               f"GROUP BY tenant_id, {quarter}, estate_code, category HAVING sum(received) <> 0")
    for name in PAIRS:
        op.drop_index(f"ix_{name}_covering", table_name=name)
        op.drop_table(name)


def downgrade() -> None:
    for name, period in PAIRS.items():
        _table(name, period, ("building", "facility"), (40, 40))
    op.execute("INSERT INTO complaint_location_daily (tenant_id, day, estate_code, building, facility, received) "
               "SELECT tenant_id, day, estate_code, coalesce(building, ''), coalesce(facility, ''), count(*) "
               "FROM complaint_facts WHERE day IS NOT NULL AND estate_code IS NOT NULL AND channel IS NOT NULL "
               "AND (coalesce(building, '') <> '' OR coalesce(facility, '') <> '') "
               "GROUP BY tenant_id, day, estate_code, coalesce(building, ''), coalesce(facility, '')")
    month = _period("month", "day")
    op.execute("INSERT INTO complaint_location_monthly (tenant_id, month, estate_code, building, facility, received) "
               f"SELECT tenant_id, {month}, estate_code, building, facility, sum(received) "
               f"FROM complaint_location_daily GROUP BY tenant_id, {month}, estate_code, building, facility")
    for name in ("complaint_quarterly_category", *reversed(list(PLACES))):
        op.drop_index(f"ix_{name}_covering", table_name=name)
        op.drop_table(name)
