"""overdue ledger: "overdue now" per tenant x stage x month x estate, kept by events and a watermark

Revision ID: r19o1v2e3r4d
Revises: r18l1o2c3a4t
Create Date: 2026-12-08 08:30:00

Hand-written. ``bench/README.md`` (reporting.py, 10,000,000 facts): "overdue now" was the largest part of the
league table's time (every open case of the period and the one before read through the partial indexes, ~5,000
index entries per tenant-quarter). A case is overdue at a stage once its deadline has passed with the stage open,
until the stage closes; so the number overdue *before a fixed moment* changes only with events, and can be kept:
- ``complaint_overdue_monthly(tenant_id, stage, month, estate_code, cases)``: the cases of each estate-local
  month received (``stage`` ``first_contact`` | ``resolution``) open at that stage with a deadline before the
  watermark; filled here from the facts.
- ``overdue_watermark(id, at)``: that moment (one row, set to the time of this upgrade); the merger loop moves it
  forward and adds the cases whose deadline passed in between (``rollup_merge.advance_overdue``).
- ``ix_complaint_facts_open_first_contact_due`` / ``_open_resolution_due``: the open cases by deadline (every
  tenant): the advance reads the deadlines passed since the watermark, a read the ones between it and now.
``downgrade`` drops them (nothing else reads them).
"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

from estatedesk_common.db import UTCDateTime

revision: str = 'r19o1v2e3r4d'
down_revision: Union[str, Sequence[str], None] = 'r18l1o2c3a4t'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

OPEN = {"first_contact": ("acknowledged_at IS NULL AND first_contact_met_at IS NULL "
                          "AND first_contact_due_at IS NOT NULL", "first_contact_due_at"),
        "resolution": ("resolved_at IS NULL AND cancelled_at IS NULL AND resolution_due_at IS NOT NULL",
                       "resolution_due_at")}


def _month(column: str) -> str:
    if op.get_bind().dialect.name == "postgresql":
        return f"CAST(date_trunc('month', {column}) AS DATE)"
    return f"date({column}, 'start of month')"


def upgrade() -> None:
    op.create_table(
        'complaint_overdue_monthly',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('stage', sa.String(length=16), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('cases', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('tenant_id', 'stage', 'month', 'estate_code'),
    )
    op.create_index('ix_complaint_overdue_monthly_covering', 'complaint_overdue_monthly',
                    ['tenant_id', 'stage', 'month', 'estate_code'], postgresql_include=['cases'])
    op.create_table(
        'overdue_watermark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for stage, (where, due) in OPEN.items():
        op.create_index(f'ix_complaint_facts_open_{stage}_due', 'complaint_facts',
                        [due, 'tenant_id', 'day', 'estate_code'], postgresql_where=sa.text(where),
                        sqlite_where=sa.text(where))
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    at = sa.bindparam("at", value=now, type_=UTCDateTime())
    op.get_bind().execute(sa.text("INSERT INTO overdue_watermark (id, at) VALUES (1, :at)").bindparams(at))
    for stage, (where, due) in OPEN.items():
        op.get_bind().execute(sa.text(
            f"INSERT INTO complaint_overdue_monthly (tenant_id, stage, month, estate_code, cases) "
            f"SELECT tenant_id, '{stage}', {_month('day')}, coalesce(estate_code, ''), count(*) FROM complaint_facts "
            f"WHERE {where} AND day IS NOT NULL AND {due} < :at GROUP BY 1, 3, 4").bindparams(at))


def downgrade() -> None:
    for stage in OPEN:
        op.drop_index(f'ix_complaint_facts_open_{stage}_due', table_name='complaint_facts')
    op.drop_table('overdue_watermark')
    op.drop_index('ix_complaint_overdue_monthly_covering', table_name='complaint_overdue_monthly')
    op.drop_table('complaint_overdue_monthly')
