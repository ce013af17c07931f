"""estates administration: registered units, address, active flag and who saved an estate last

Revision ID: a8e1s2t3a4t5
Revises: a7w3t4m5p6l7
Create Date: 2026-12-07 10:00:00

Hand-written; follows the WeChat templates revision (one head per package). Existing estates stay active, with
no address and their registered units still counted from the unit directory (``units`` null).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a8e1s2t3a4t5'
down_revision: Union[str, Sequence[str], None] = 'a7w3t4m5p6l7'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # plain ADD COLUMN, not batch mode: on SQLite a batch recreates the table (DROP TABLE estates), which the
    # foreign keys of existing complaints refuse - an existing installation could not upgrade
    op.add_column('estates', sa.Column('address', sa.String(length=200), nullable=False, server_default=''))
    op.add_column('estates', sa.Column('units', sa.Integer(), nullable=True))
    op.add_column('estates', sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('estates', sa.Column('updated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
    op.add_column('estates', sa.Column('updated_by', sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('estates') as batch:
        for column in ('updated_by', 'updated_at', 'active', 'units', 'address'):
            batch.drop_column(column)
