"""event archive: every event of every service, for rebuild --from-events

Revision ID: r11a1r2c3h4v
Revises: r10p1e2r3i4o
Create Date: 2026-12-05 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'r11a1r2c3h4v'
down_revision: Union[str, Sequence[str], None] = 'r10p1e2r3i4o'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'event_archive',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('event_id', sa.String(length=36), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('event_type', sa.String(length=80), nullable=False),
        sa.Column('schema_version', sa.Integer(), nullable=False),
        sa.Column('occurred_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('received_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'event_id'),
        sa.UniqueConstraint('event_id', name='uq_event_archive_event_id'),
    )
    op.create_index('ix_event_archive_occurred_at', 'event_archive', ['occurred_at', 'event_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_event_archive_occurred_at', table_name='event_archive')
    op.drop_table('event_archive')
