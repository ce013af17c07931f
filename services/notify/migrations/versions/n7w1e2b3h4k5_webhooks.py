"""outgoing webhooks: endpoints and deliveries

Revision ID: n7w1e2b3h4k5
Revises: b5c0de1e9a7e
Create Date: 2026-12-03 20:45:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n7w1e2b3h4k5'
down_revision: Union[str, Sequence[str], None] = 'b5c0de1e9a7e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'webhook_endpoints',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('url', sa.String(length=500), nullable=False),
        sa.Column('secret', sa.String(length=200), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('description', sa.String(length=200), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=36), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
    )
    op.create_table(
        'webhook_deliveries',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('endpoint_id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('event_type', sa.String(length=64), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('last_status_code', sa.Integer(), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('delivered_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
        sa.UniqueConstraint('tenant_id', 'endpoint_id', 'event_id', name='uq_webhook_deliveries_event'),
    )
    op.create_index('ix_webhook_deliveries_due', 'webhook_deliveries', ['status', 'next_attempt_at'])
    op.create_index('ix_webhook_deliveries_endpoint', 'webhook_deliveries', ['tenant_id', 'endpoint_id', 'created_at'])


def downgrade() -> None:
    op.drop_index('ix_webhook_deliveries_endpoint', table_name='webhook_deliveries')
    op.drop_index('ix_webhook_deliveries_due', table_name='webhook_deliveries')
    op.drop_table('webhook_deliveries')
    op.drop_table('webhook_endpoints')
