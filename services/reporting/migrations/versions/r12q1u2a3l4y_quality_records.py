"""quality records: workflow's nonconformity records and CAPA records, for their KPIs

Revision ID: r12q1u2a3l4y
Revises: r11a1r2c3h4v
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'r12q1u2a3l4y'
down_revision: Union[str, Sequence[str], None] = 'r11a1r2c3h4v'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'quality_nonconformities',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('record_id', sa.String(length=36), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=True),
        sa.Column('case_id', sa.String(length=36), nullable=True),
        sa.Column('cause', sa.String(length=40), nullable=True),
        sa.Column('loss_amount', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('opened_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('decided_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'record_id'),
    )
    op.create_table(
        'quality_capa',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('capa_id', sa.String(length=36), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=True),
        sa.Column('cause', sa.String(length=40), nullable=True),
        sa.Column('trigger', sa.String(length=20), nullable=True),
        sa.Column('owner', sa.String(length=100), nullable=True),
        sa.Column('case_ids', sa.JSON(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=True),
        sa.Column('opened_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('due_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('checked_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('closed_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'capa_id'),
    )


def downgrade() -> None:
    op.drop_table('quality_capa')
    op.drop_table('quality_nonconformities')
