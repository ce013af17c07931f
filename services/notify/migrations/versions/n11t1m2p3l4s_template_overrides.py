"""template_overrides: tenant and estate overrides of the message templates (issue 6)

Revision ID: n11t1m2p3l4s
Revises: n6a1b2c3d4e5
Create Date: 2026-12-06 21:00:00

Hand-written.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n11t1m2p3l4s'
down_revision: Union[str, Sequence[str], None] = 'n6a1b2c3d4e5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('template_overrides',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=True),
    sa.Column('message', sa.String(length=40), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('part', sa.String(length=20), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('ix_template_overrides_message', 'template_overrides', ['tenant_id', 'message', 'locale'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_template_overrides_message', table_name='template_overrides')
    op.drop_table('template_overrides')
