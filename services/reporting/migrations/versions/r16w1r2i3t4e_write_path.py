"""rollup deltas: handlers append what an event adds to the rollups, one merger folds them in

Revision ID: r16w1r2i3t4e
Revises: r15s1p2e3e4d
Create Date: 2026-12-07 05:30:00
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db

revision: str = 'r16w1r2i3t4e'
down_revision: Union[str, Sequence[str], None] = 'r15s1p2e3e4d'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # empty at creation: rollups written before this revision already hold every earlier event
    op.create_table(
        'rollup_deltas',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('body', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade() -> None:
    # deltas not merged yet would be lost with the table: downgrade after the merger has emptied it
    op.drop_table('rollup_deltas')
