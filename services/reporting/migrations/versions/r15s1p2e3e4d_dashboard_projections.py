"""dashboard projections: complaint_daily by estate x day, by estate x month, by tenant x month

Revision ID: r15s1p2e3e4d
Revises: r14h1o2t3s4p
Create Date: 2026-12-07 14:00:00

Hand-written. New tables only (expand), filled here from the existing daily rows with one INSERT .. SELECT each,
so every rollup agrees from the start (``reporting.cli rebuild`` recomputes them all from the facts). Plus
covering indexes (PostgreSQL ``INCLUDE``; plain indexes on SQLite) so a tenant's range is read from contiguous
index pages (index-only scans) instead of one heap page per row: rollup rows of one tenant are scattered over the
heap, since every tenant's complaints arrive interleaved.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r15s1p2e3e4d'
down_revision: Union[str, Sequence[str], None] = 'r14h1o2t3s4p'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# the rollup counts as of this revision (reporting.domain.facts.COUNTS then)
COUNTS = ("received", "first_contact_due", "first_contact_on_time", "first_contact_late", "reclassified",
          "first_contact_proxy", "resolution_due", "resolved", "resolved_on_time", "resolved_late",
          "handling_count", "handling_minutes", "called_back", "callback_answered", "satisfied", "dissatisfied",
          "reopened", "breached", "escalated", "escalated_level_1", "escalated_level_2", "escalated_level_3",
          "repeat", "nonconformity_required", "extensions_requested", "extensions_approved")
TABLES = {  # name: (period column, dimensions)
    "complaint_monthly_estate": ("month", ("estate_code",)),
    "complaint_daily_estate": ("day", ("estate_code",)),
    "complaint_monthly_tenant": ("month", ("channel", "category", "severity")),
}


def upgrade() -> None:
    for name, (period, dims) in TABLES.items():
        op.create_table(
            name,
            sa.Column('tenant_id', sa.String(length=36), nullable=False),
            sa.Column(period, sa.Date(), nullable=False),
            *[sa.Column(d, sa.String(length=40), nullable=False) for d in dims],
            *[sa.Column(c, sa.Integer(), nullable=False, server_default='0') for c in COUNTS],
            sa.PrimaryKeyConstraint('tenant_id', period, *dims),
        )
    bind = op.get_bind()
    month = ("CAST(date_trunc('month', day) AS DATE)" if bind.dialect.name == "postgresql"
             else "date(day, 'start of month')")
    sums = ", ".join(f"sum({c})" for c in COUNTS)
    for name, (period, dims) in TABLES.items():
        keys = ", ".join(dims)
        period_expr = month if period == "month" else "day"
        op.execute(f"INSERT INTO {name} (tenant_id, {period}, {keys}, {', '.join(COUNTS)}) "
                   f"SELECT tenant_id, {period_expr}, {keys}, {sums} FROM complaint_daily "
                   f"GROUP BY tenant_id, {period_expr}, {keys}")
    _covering_indexes()


# table: (key columns, included columns); the key is the primary key's, the included ones what dashboards read
COVERING = {
    "complaint_monthly_estate": (("tenant_id", "month", "estate_code"), COUNTS),
    "complaint_daily_estate": (("tenant_id", "day", "estate_code"), COUNTS),
    "complaint_monthly_tenant": (("tenant_id", "month", "channel", "category", "severity"), COUNTS),
    "complaint_monthly_category": (("tenant_id", "month", "estate_code", "category"), ("received",)),
    "complaint_location_monthly": (("tenant_id", "month", "estate_code", "building", "facility"), ("received",)),
    "complaint_location_daily": (("tenant_id", "day", "estate_code", "building", "facility"), ("received",)),
}


def _covering_indexes() -> None:
    for name, (keys, included) in COVERING.items():
        op.create_index(f"ix_{name}_covering", name, list(keys), postgresql_include=list(included))


def downgrade() -> None:
    for name in COVERING:
        op.drop_index(f"ix_{name}_covering", table_name=name)
    for name in reversed(list(TABLES)):
        op.drop_table(name)
