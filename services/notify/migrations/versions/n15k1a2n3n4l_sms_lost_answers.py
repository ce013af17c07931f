"""messages: SMS sends whose answer was lost (status unknown): when, repeats after the DLR wait, the DLR's attempt

Revision ID: n15k1a2n3n4l
Revises: n14s1m2t3p4t
Create Date: 2026-12-08 10:00:00

Hand-written; follows the tenant mail server revision (one head per package). Nullable columns only: existing
rows need no value (no lost answer, no repeat, reports from before carried no attempt).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n15k1a2n3n4l'
down_revision: Union[str, Sequence[str], None] = 'n14s1m2t3p4t'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('dlr_attempt', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ambiguous_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ambiguous_retries', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('ambiguous_retries')
        batch_op.drop_column('ambiguous_at')
        batch_op.drop_column('dlr_attempt')
