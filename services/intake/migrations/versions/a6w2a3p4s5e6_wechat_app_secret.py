"""wechat_accounts.app_secret: the AppSecret for notify's customer-service replies

Revision ID: a6w2a3p4s5e6
Revises: a4c0de1e9a7e
Create Date: 2026-12-06 21:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'a6w2a3p4s5e6'
down_revision: Union[str, Sequence[str], None] = 'a4c0de1e9a7e'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('wechat_accounts') as batch:
        batch.add_column(sa.Column('app_secret', sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('wechat_accounts') as batch:
        batch.drop_column('app_secret')
