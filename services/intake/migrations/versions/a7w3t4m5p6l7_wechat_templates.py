"""wechat_templates: template message ids of a WeChat account, per owner message (notify's template messages)

Revision ID: a7w3t4m5p6l7
Revises: a6w2a3p4s5e6
Create Date: 2026-12-06 23:45:00

Hand-written; follows the AppSecret revision (one head per package).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a7w3t4m5p6l7'
down_revision: Union[str, Sequence[str], None] = 'a6w2a3p4s5e6'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'wechat_templates',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('message', sa.String(length=40), nullable=False),
        sa.Column('template_id', sa.String(length=64), nullable=False),
        sa.Column('updated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id', 'account_id'], ['wechat_accounts.tenant_id', 'wechat_accounts.id']),
        sa.PrimaryKeyConstraint('tenant_id', 'account_id', 'message'),
    )


def downgrade() -> None:
    op.drop_table('wechat_templates')
