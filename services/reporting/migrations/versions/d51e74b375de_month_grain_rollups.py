"""month-grain rollups

Two projections of complaint_daily by estate-local month (by category; by channel x severity), filled here from
the existing daily rows so the three rollups agree from the start (``reporting.cli rebuild`` recomputes all).

Revision ID: d51e74b375de
Revises: 07c1e2031a73
Create Date: 2026-11-24 13:49:38.561474

"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


# revision identifiers, used by Alembic.
revision: str = 'd51e74b375de'
down_revision: Union[str, Sequence[str], None] = '07c1e2031a73'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('complaint_monthly_category',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=40), nullable=False),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_due', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_late', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reclassified', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'month', 'estate_code', 'category')
    )
    op.create_table('complaint_monthly_channel_severity',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('severity', sa.String(length=40), nullable=False),
    sa.Column('received', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_due', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_on_time', sa.Integer(), server_default='0', nullable=False),
    sa.Column('first_contact_late', sa.Integer(), server_default='0', nullable=False),
    sa.Column('reclassified', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'month', 'estate_code', 'channel', 'severity')
    )
    _backfill()
    # "overdue now" is asked per period: the partial index leads with the day too
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_facts_open_first_contact')
        batch_op.create_index('ix_complaint_facts_open_first_contact', ['tenant_id', 'day', 'first_contact_due_at'],
                              unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))


OPEN = "acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL"
COUNTS = ("received", "first_contact_due", "first_contact_on_time", "first_contact_late", "reclassified")


def _backfill() -> None:
    """Sum the existing daily rows into the month tables (plain SQL + Python: the same on SQLite and PostgreSQL)."""
    bind = op.get_bind()
    daily = sa.table("complaint_daily", *[sa.column(c) for c in (
        "tenant_id", "day", "estate_code", "channel", "category", "severity", *COUNTS)])
    targets = {"complaint_monthly_category": ("category",),
               "complaint_monthly_channel_severity": ("channel", "severity")}
    sums = {name: {} for name in targets}
    for row in bind.execute(sa.select(daily)).mappings():
        day = row["day"] if not isinstance(row["day"], str) else dt.date.fromisoformat(row["day"])
        for name, dims in targets.items():
            key = (row["tenant_id"], day.replace(day=1), row["estate_code"], *[row[d] for d in dims])
            bucket = sums[name].setdefault(key, dict.fromkeys(COUNTS, 0))
            for c in COUNTS:
                bucket[c] += row[c]
    for name, dims in targets.items():
        cols = ("tenant_id", "month", "estate_code", *dims)
        table = sa.table(name, *[sa.column(c) for c in (*cols, *COUNTS)])
        rows = [dict(zip(cols, key), **counts) for key, counts in sums[name].items()]
        if rows:
            bind.execute(table.insert(), rows)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_facts_open_first_contact')
        batch_op.create_index('ix_complaint_facts_open_first_contact', ['tenant_id', 'first_contact_due_at'],
                              unique=False, postgresql_where=sa.text(OPEN), sqlite_where=sa.text(OPEN))
    op.drop_table('complaint_monthly_channel_severity')
    op.drop_table('complaint_monthly_category')
