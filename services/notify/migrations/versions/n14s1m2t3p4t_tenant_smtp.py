"""mail_settings: a tenant's own outgoing mail server (host, port, security, login, sender; password encrypted)

Revision ID: n14s1m2t3p4t
Revises: n13d1i2g3e4s
Create Date: 2026-12-07 10:00:00

Hand-written; follows the managers' digest revision (one head per package).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n14s1m2t3p4t'
down_revision: Union[str, Sequence[str], None] = 'n13d1i2g3e4s'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'mail_settings',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('mode', sa.String(length=10), nullable=False),
        sa.Column('host', sa.String(length=253), nullable=False),
        sa.Column('port', sa.Integer(), nullable=True),
        sa.Column('security', sa.String(length=10), nullable=True),
        sa.Column('username', sa.String(length=254), nullable=False),
        sa.Column('password', sa.Text(), nullable=True),
        sa.Column('from_address', sa.String(length=254), nullable=False),
        sa.Column('from_name', sa.String(length=100), nullable=False),
        sa.Column('updated_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id'),
    )


def downgrade() -> None:
    op.drop_table('mail_settings')
