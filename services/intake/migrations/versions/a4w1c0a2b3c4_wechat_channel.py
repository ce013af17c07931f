"""wechat channel: wechat_accounts, wechat_messages, wechat_rejects

Revision ID: a4w1c0a2b3c4
Revises: ix10a1b2c3d4
Create Date: 2026-11-25 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'a4w1c0a2b3c4'
down_revision: Union[str, Sequence[str], None] = 'ix10a1b2c3d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'wechat_accounts',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('app_id', sa.String(length=32), nullable=False),
        sa.Column('token', sa.String(length=500), nullable=False),
        sa.Column('aes_key', sa.String(length=500), nullable=True),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('created_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['tenant_id', 'estate_code'], ['estates.tenant_id', 'estates.code']),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
        sa.UniqueConstraint('tenant_id', 'app_id', name='uq_wechat_accounts_app_id'),
    )
    op.create_table(
        'wechat_messages',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=False),
        sa.Column('msg_id', sa.String(length=128), nullable=False),
        sa.Column('openid', sa.String(length=64), nullable=False),
        sa.Column('msg_type', sa.String(length=20), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('complaint_id', sa.String(length=36), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('text', sa.Text(), nullable=True),
        sa.Column('reply', sa.Text(), nullable=False),
        sa.Column('encrypted', sa.Boolean(), nullable=False),
        sa.Column('received_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('raw', sa.LargeBinary(), nullable=False),
        sa.Column('envelope', sa.LargeBinary(), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
        sa.UniqueConstraint('tenant_id', 'msg_id', name='uq_wechat_messages_msg_id'),
    )
    with op.batch_alter_table('wechat_messages', schema=None) as batch_op:
        batch_op.create_index('ix_wechat_messages_openid', ['tenant_id', 'openid', 'received_at'], unique=False)
    op.create_table(
        'wechat_rejects',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('account_id', sa.String(length=36), nullable=True),
        sa.Column('reason', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('query', sa.JSON(), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('body', sa.LargeBinary(), nullable=True),
        sa.Column('rejected_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
    )
    with op.batch_alter_table('wechat_rejects', schema=None) as batch_op:
        batch_op.create_index('ix_wechat_rejects_at', ['tenant_id', 'rejected_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('wechat_rejects', schema=None) as batch_op:
        batch_op.drop_index('ix_wechat_rejects_at')
    op.drop_table('wechat_rejects')
    with op.batch_alter_table('wechat_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_wechat_messages_openid')
    op.drop_table('wechat_messages')
    op.drop_table('wechat_accounts')
