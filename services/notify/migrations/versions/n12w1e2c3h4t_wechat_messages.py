"""WeChat customer-service replies: messages.wechat_app_id / fallback, owner_contacts.wechat_app_id / openid

Revision ID: n12w1e2c3h4t
Revises: n11t1m2p3l4s
Create Date: 2026-12-06 21:00:00

Hand-written; follows the template overrides revision (one head per package).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'n12w1e2c3h4t'
down_revision: Union[str, Sequence[str], None] = 'n11t1m2p3l4s'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('wechat_app_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('fallback', sa.JSON(), nullable=True))
    with op.batch_alter_table('owner_contacts') as batch:
        batch.add_column(sa.Column('wechat_app_id', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('wechat_openid', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('owner_contacts') as batch:
        batch.drop_column('wechat_openid')
        batch.drop_column('wechat_app_id')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('fallback')
        batch.drop_column('wechat_app_id')
