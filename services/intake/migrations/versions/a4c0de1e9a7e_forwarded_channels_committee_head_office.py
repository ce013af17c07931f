"""forwarded channels: committee_received_at, forwarded_by, instructions on complaints; committee_batches

Revision ID: a4c0de1e9a7e
Revises: a4d0b1e2c3f4
Create Date: 2026-12-03 19:40:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


# revision identifiers, used by Alembic.
revision: str = 'a4c0de1e9a7e'
down_revision: Union[str, Sequence[str], None] = 'a4d0b1e2c3f4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Three nullable columns: existing complaints keep NULL (they came by other channels)."""
    with op.batch_alter_table('complaints') as batch:
        batch.add_column(sa.Column('committee_received_at', estatedesk_common.db.UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('forwarded_by', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('instructions', sa.Text(), nullable=True))
    op.create_table('committee_batches',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('complaint_ids', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=36), nullable=True),
    sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id'),
    sa.UniqueConstraint('tenant_id', 'file_sha256', name='uq_committee_batches_file')
    )


def downgrade() -> None:
    op.drop_table('committee_batches')
    with op.batch_alter_table('complaints') as batch:
        batch.drop_column('instructions')
        batch.drop_column('forwarded_by')
        batch.drop_column('committee_received_at')
