"""duplicates and repeats: external_id, repeat_of, closed_at on complaints; note data

Revision ID: a4d0b1e2c3f4
Revises: a4c7a11d0e5f
Create Date: 2026-12-03 19:50:00

Hand-written. Columns are added (no table rebuild on SQLite); the unique index on (tenant_id, channel,
external_id) lets any number of complaints without a channel message id (NULL) coexist.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a4d0b1e2c3f4'
down_revision: Union[str, Sequence[str], None] = 'a4c7a11d0e5f'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('external_id', sa.String(length=128), nullable=True))
    op.add_column('complaints', sa.Column('repeat_of', sa.String(length=36), nullable=True))
    op.add_column('complaints', sa.Column('repeat_count', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('complaints', sa.Column('closed_at', estatedesk_common.db.UTCDateTime(timezone=True),
                                          nullable=True))
    op.create_index('uq_complaints_external_id', 'complaints', ['tenant_id', 'channel', 'external_id'],
                    unique=True)
    op.create_index('ix_complaints_phone', 'complaints', ['tenant_id', 'complainant_phone', 'estate_code'])
    op.create_index('ix_complaints_email', 'complaints', ['tenant_id', 'complainant_email', 'estate_code'])
    op.add_column('complaint_notes', sa.Column('data', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaint_notes', schema=None) as batch_op:
        batch_op.drop_column('data')
    op.drop_index('ix_complaints_email', table_name='complaints')
    op.drop_index('ix_complaints_phone', table_name='complaints')
    op.drop_index('uq_complaints_external_id', table_name='complaints')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_column('closed_at')
        batch_op.drop_column('repeat_count')
        batch_op.drop_column('repeat_of')
        batch_op.drop_column('external_id')
