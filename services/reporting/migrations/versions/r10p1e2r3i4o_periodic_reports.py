"""periodic reports: subscriptions and runs

Revision ID: r10p1e2r3i4o
Revises: r8e1x2t3n4s5
Create Date: 2026-12-03 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'r10p1e2r3i4o'
down_revision: Union[str, Sequence[str], None] = 'r8e1x2t3n4s5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'report_subscriptions',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=True),
        sa.Column('recipients', sa.JSON(), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
    )
    op.create_table(
        'report_runs',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('subscription_id', sa.String(length=36), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=False),
        sa.Column('html', sa.Text(), nullable=False),
        sa.Column('generated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
        sa.UniqueConstraint('tenant_id', 'subscription_id', 'period_start', name='uq_report_runs_period'),
    )


def downgrade() -> None:
    op.drop_table('report_runs')
    op.drop_table('report_subscriptions')
