"""report runs keep their figures (KPIs, league table, trend) for the CSV/XLSX downloads

Revision ID: r13d1r2i3l4l
Revises: r12q1u2a3l4y
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r13d1r2i3l4l'
down_revision: Union[str, Sequence[str], None] = 'r12q1u2a3l4y'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # nullable, no backfill: a run made before this revision is exported from the read model as it is now
    with op.batch_alter_table('report_runs') as batch:
        batch.add_column(sa.Column('data', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('report_runs') as batch:
        batch.drop_column('data')
