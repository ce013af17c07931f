"""case extensions (延期) and the original due time of a deadline

case_deadlines.original_due_at keeps the first due time when an approved extension moves due_at;
case_extensions holds the requests and decisions (workflow/extensions.py). Hand-written.

Revision ID: w8e1x2t3n4s5
Revises: ix10w1b2c3d4
Create Date: 2026-12-04 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'w8e1x2t3n4s5'
down_revision: Union[str, Sequence[str], None] = 'ix10w1b2c3d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time():
    return estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('case_deadlines', schema=None) as batch_op:
        batch_op.add_column(sa.Column('original_due_at', _time(), nullable=True))
    op.create_table(
        'case_extensions',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('stage', sa.String(length=40), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('due_at', _time(), nullable=False),
        sa.Column('new_due_at', _time(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('requested_by', sa.String(length=100), nullable=True),
        sa.Column('requested_rank', sa.Integer(), nullable=False),
        sa.Column('requested_at', _time(), nullable=False),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', _time(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id', 'case_id'], ['cases.tenant_id', 'cases.id']),
        sa.PrimaryKeyConstraint('tenant_id', 'case_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('case_extensions')
    with op.batch_alter_table('case_deadlines', schema=None) as batch_op:
        batch_op.drop_column('original_due_at')
