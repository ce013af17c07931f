"""complaint location: the building / facility a complaint names (reporting's location hot spots)

Revision ID: a9l1o2c3a4t5
Revises: a8e1s2t3a4t5
Create Date: 2026-12-07 12:00:00

Hand-written. Two nullable columns (plain ADD COLUMN: no table rebuild on SQLite); existing complaints name no
location.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'a9l1o2c3a4t5'
down_revision: Union[str, Sequence[str], None] = 'a8e1s2t3a4t5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('location_building', sa.String(length=40), nullable=True))
    op.add_column('complaints', sa.Column('location_facility', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaints') as batch:
        batch.drop_column('location_facility')
        batch.drop_column('location_building')
