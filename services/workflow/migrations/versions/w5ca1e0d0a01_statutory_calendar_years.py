"""statutory calendar years loaded by an operator

Revision ID: w5ca1e0d0a01
Revises: 22fd1265cb66
Create Date: 2026-12-03 20:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'w5ca1e0d0a01'
down_revision: Union[str, Sequence[str], None] = '22fd1265cb66'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'statutory_calendar_years',
        sa.Column('calendar', sa.String(length=10), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('document', sa.JSON(), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('loaded_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('loaded_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('calendar', 'year'),
    )


def downgrade() -> None:
    op.drop_table('statutory_calendar_years')
