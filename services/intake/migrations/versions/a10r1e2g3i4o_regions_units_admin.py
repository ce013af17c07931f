"""regions and unit directory administration: regions deactivated rather than deleted (who saved them last),
units with an optional floor and area

Revision ID: a10r1e2g3i4o
Revises: a9l1o2c3a4t5
Create Date: 2026-12-07 14:00:00

Hand-written. Plain ADD COLUMN (no table rebuild on SQLite); existing regions are active, existing units have no
floor or area. The downgrade rebuilds ``regions`` and ``units`` on SQLite (batch mode): no other table references
either of them.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a10r1e2g3i4o'
down_revision: Union[str, Sequence[str], None] = 'a9l1o2c3a4t5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('regions', sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.add_column('regions', sa.Column('updated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('regions', sa.Column('updated_by', sa.String(length=36), nullable=True))
    op.add_column('units', sa.Column('floor', sa.Integer(), nullable=True))
    op.add_column('units', sa.Column('area', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('units') as batch:
        batch.drop_column('area')
        batch.drop_column('floor')
    with op.batch_alter_table('regions') as batch:
        batch.drop_column('updated_by')
        batch.drop_column('updated_at')
        batch.drop_column('active')
