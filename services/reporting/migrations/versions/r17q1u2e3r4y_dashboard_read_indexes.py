"""dashboard read indexes: estate_code in the facts' open-case partial indexes, complaint_daily's received index

Revision ID: r17q1u2e3r4y
Revises: r16w1r2i3t4e
Create Date: 2026-12-07 16:00:00

Hand-written. Indexes only (no table or row changes); ``bench/README.md`` (reporting.py) has the plans behind them:
- ``ix_complaint_facts_open_first_contact`` / ``_open_resolution`` INCLUDE ``estate_code`` (PostgreSQL): the
  league table's "overdue now" per estate was one heap page per open case (a 3.6 GB table at 10 M facts); now an
  index-only scan. Dropped and created again (same name, columns and predicate); SQLite keeps the same index.
- ``ix_complaint_daily_received`` ``(tenant_id, day)`` INCLUDE the dimensions and ``received``: the edge days of
  rolling ranges that only ``complaint_daily`` has the dimensions for (head office's KPI breakdowns, estate x
  category hot spots) are read index-only instead of one heap page per row.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r17q1u2e3r4y'
down_revision: Union[str, Sequence[str], None] = 'r16w1r2i3t4e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = {  # index: (deadline column, partial predicate) as in revisions d51e74b375de / r7k0p1s2t3u4
    "ix_complaint_facts_open_first_contact": (
        "first_contact_due_at",
        "acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL"),
    "ix_complaint_facts_open_resolution": (
        "resolution_due_at", "resolved_at IS NULL AND cancelled_at IS NULL AND resolution_due_at IS NOT NULL"),
}
DAILY_INCLUDED = ["estate_code", "channel", "category", "severity", "received"]


def _open_indexes(include: list[str]) -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite has no INCLUDE: its indexes stay as they are
    for name, (due, where) in OPEN.items():
        op.drop_index(name, table_name="complaint_facts")
        op.create_index(name, "complaint_facts", ["tenant_id", "day", due], postgresql_where=sa.text(where),
                        postgresql_include=include)


def upgrade() -> None:
    _open_indexes(["estate_code"])
    op.create_index("ix_complaint_daily_received", "complaint_daily", ["tenant_id", "day"],
                    postgresql_include=DAILY_INCLUDED)


def downgrade() -> None:
    op.drop_index("ix_complaint_daily_received", table_name="complaint_daily")
    _open_indexes([])
