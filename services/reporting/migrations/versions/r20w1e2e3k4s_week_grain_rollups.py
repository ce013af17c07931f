"""week-grain rollups: complaint_weekly_estate / _tenant / _category, complaint_place_weekly

Revision ID: r20w1e2e3k4s
Revises: r19o1v2e3r4d
Create Date: 2026-12-08 09:00:00

Hand-written. The edge day ranges of a range that is not whole months (``queries.month_parts``: a rolling 91 days
reads 16 edge days around its whole months) are read as the whole ISO weeks inside them plus the days left
(``queries.week_parts``), the weeks from these tables (``bench/README.md``, reporting.py):
- ``complaint_weekly_estate(tenant_id, week, estate_code, counts)``: as ``complaint_daily_estate`` (league table,
  KPI totals);
- ``complaint_weekly_tenant(tenant_id, week, channel, category, severity, counts)``: as
  ``complaint_monthly_tenant`` (head office's KPI breakdowns);
- ``complaint_weekly_category(tenant_id, week, estate_code, category, counts)``: as
  ``complaint_monthly_category`` (estate x category hot spots);
- ``complaint_place_weekly(tenant_id, week, estate_code, kind, name, received)``: as ``complaint_place_monthly``
  (location hot spots).
``week`` is the Monday of the estate-local day's ISO week. Covering indexes as on their month counterparts
(revisions r15s1p2e3e4d, r18l1o2c3a4t). Filled here from the daily rollups with one INSERT .. SELECT each (the
counts are those ``complaint_daily_estate`` has at this revision), so every rollup agrees from the start;
``downgrade`` drops them.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r20w1e2e3k4s'
down_revision: Union[str, Sequence[str], None] = 'r19o1v2e3r4d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = {  # name: (the daily table it is filled from, dimensions, widths, counts: all | received)
    "complaint_weekly_estate": ("complaint_daily_estate", ("estate_code",), (40,), "all"),
    "complaint_weekly_tenant": ("complaint_daily", ("channel", "category", "severity"), (40, 40, 40), "all"),
    "complaint_weekly_category": ("complaint_daily", ("estate_code", "category"), (40, 40), "all"),
    "complaint_place_weekly": ("complaint_place_daily", ("estate_code", "kind", "name"), (40, 10, 40), "received"),
}
# the columns each covering index INCLUDEs on PostgreSQL: every count where the month counterpart has them all
INCLUDE_ALL = ("complaint_weekly_estate", "complaint_weekly_tenant")


def _week(column: str) -> str:
    """SQL for the Monday of ``column``'s ISO week (SQLite: the next Sunday on or after the day, less 6 days)."""
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('week', {column}) AS DATE)"
    return f"date({column}, 'weekday 0', '-6 days')"


def _counts() -> list[str]:
    """The rollup counts as of this revision: ``complaint_daily_estate``'s columns other than its key."""
    columns = sa.inspect(op.get_bind()).get_columns("complaint_daily_estate")
    return [c["name"] for c in columns if c["name"] not in ("tenant_id", "day", "estate_code")]


def upgrade() -> None:
    counts = _counts()
    for name, (source, dims, widths, kind) in TABLES.items():
        held = counts if kind == "all" else ["received"]
        op.create_table(
            name,
            sa.Column('tenant_id', sa.String(length=36), nullable=False),
            sa.Column('week', sa.Date(), nullable=False),
            *[sa.Column(d, sa.String(length=w), nullable=False) for d, w in zip(dims, widths)],
            *[sa.Column(c, sa.Integer(), nullable=False, server_default='0') for c in held],
            sa.PrimaryKeyConstraint('tenant_id', 'week', *dims),
        )
        op.create_index(f"ix_{name}_covering", name, ["tenant_id", "week", *dims],
                        postgresql_include=list(counts if name in INCLUDE_ALL else ["received"]))
        week, keys = _week("day"), ", ".join(dims)
        op.execute(f"INSERT INTO {name} (tenant_id, week, {keys}, {', '.join(held)}) "
                   f"SELECT tenant_id, {week}, {keys}, {', '.join(f'sum({c})' for c in held)} FROM {source} "
                   f"GROUP BY tenant_id, {week}, {keys}")


def downgrade() -> None:
    for name in reversed(list(TABLES)):
        op.drop_index(f"ix_{name}_covering", table_name=name)
        op.drop_table(name)
