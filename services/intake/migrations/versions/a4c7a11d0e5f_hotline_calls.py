"""hotline calls: calls, call_events, complaints.call_id

Revision ID: a4c7a11d0e5f
Revises: a4w1c0a2b3c4
Create Date: 2026-12-03 19:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


# revision identifiers, used by Alembic.
revision: str = 'a4c7a11d0e5f'
down_revision: Union[str, Sequence[str], None] = 'a4w1c0a2b3c4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Two new tables and one nullable column (complaints from other channels keep NULL)."""
    op.create_table('calls',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=100), nullable=False),
    sa.Column('caller', sa.String(length=32), nullable=False),
    sa.Column('called', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=True),
    sa.Column('agent_user_id', sa.String(length=36), nullable=True),
    sa.Column('agent_ref', sa.String(length=150), nullable=True),
    sa.Column('started_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('complaint_id', sa.String(length=36), nullable=True),
    sa.Column('updated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['tenant_id', 'complaint_id'], ['complaints.tenant_id', 'complaints.id'], ),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'call_id', name='uq_calls_call_id')
    )
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.create_index('ix_calls_state_started', ['tenant_id', 'state', 'started_at'], unique=False)

    op.create_table('call_events',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('call_id', sa.String(length=100), nullable=False),
    sa.Column('event', sa.String(length=10), nullable=False),
    sa.Column('at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'call_id', 'event')
    )
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(sa.Column('call_id', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.drop_column('call_id')
    op.drop_table('call_events')
    with op.batch_alter_table('calls', schema=None) as batch_op:
        batch_op.drop_index('ix_calls_state_started')
    op.drop_table('calls')
