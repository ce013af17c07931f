"""Managers' daily digest: digest_settings, manager_digests, digest_runs, staff_opt_outs

Revision ID: n13d1i2g3e4s
Revises: n12w1e2c3h4t
Create Date: 2026-12-06 23:40:00

Hand-written; follows the WeChat messages revision (one head per package).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n13d1i2g3e4s'
down_revision: Union[str, Sequence[str], None] = 'n12w1e2c3h4t'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('digest_settings',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('hour', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', UTC, nullable=False),
    sa.Column('updated_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id')
    )
    op.create_table('manager_digests',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('recipient', sa.String(length=254), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('message_id', sa.String(length=36), nullable=True),
    sa.Column('quiet', sa.Boolean(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'day', 'recipient')
    )
    op.create_table('digest_runs',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'day')
    )
    op.create_table('staff_opt_outs',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('tenant_id', 'email', 'kind')
    )


def downgrade() -> None:
    op.drop_table('staff_opt_outs')
    op.drop_table('digest_runs')
    op.drop_table('manager_digests')
    op.drop_table('digest_settings')
