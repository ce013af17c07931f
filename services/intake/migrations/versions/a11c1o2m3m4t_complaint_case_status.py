"""complaint case status: the status of each complaint's case as workflow announced it (the complaint list's status
filter and sort)

Revision ID: a11c1o2m3m4t
Revises: a10r1e2g3i4o
Create Date: 2026-12-08 10:00:00

Hand-written. Three nullable columns (plain ADD COLUMN: no table rebuild on SQLite) and an index for the list's
filter. Existing complaints have no case status until ``python -m intake.cli sync-case-status`` reads it from
workflow (services/intake/README.md, "Case status"); a migration cannot call another service.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a11c1o2m3m4t'
down_revision: Union[str, Sequence[str], None] = 'a10r1e2g3i4o'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.add_column('complaints', sa.Column('case_status', sa.String(length=20), nullable=True))
    op.add_column('complaints', sa.Column('case_version', sa.Integer(), nullable=True))
    op.add_column('complaints', sa.Column('case_status_at', estatedesk_common.db.UTCDateTime(timezone=True),
                                          nullable=True))
    op.create_index('ix_complaints_case_status', 'complaints', ['tenant_id', 'case_status', 'received_at'])


def downgrade() -> None:
    op.drop_index('ix_complaints_case_status', table_name='complaints')
    with op.batch_alter_table('complaints') as batch:
        batch.drop_column('case_status_at')
        batch.drop_column('case_version')
        batch.drop_column('case_status')
