"""superior_reports: head-office forwards reported back to the superior when the case closes

Revision ID: b5c0de1e9a7e
Revises: ix10n1b2c3d4
Create Date: 2026-12-03 19:50:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


# revision identifiers, used by Alembic.
revision: str = 'b5c0de1e9a7e'
down_revision: Union[str, Sequence[str], None] = 'ix10n1b2c3d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('superior_reports',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('estate_name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('superior_name', sa.String(length=50), nullable=False),
    sa.Column('superior_title', sa.String(length=50), nullable=False),
    sa.Column('superior_phone', sa.String(length=20), nullable=False),
    sa.Column('superior_email', sa.String(length=254), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reported_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_reason', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'complaint_id')
    )


def downgrade() -> None:
    op.drop_table('superior_reports')
