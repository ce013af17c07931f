"""batched recompute of open cases under a new SLA policy version

sla_recomputes holds one row per (tenant, scope, policy version) whose open cases are being (or were) counted
again: the cursor of the last case done and the running report, committed with each batch so an interrupted
run resumes (workflow/recompute.py). Hand-written.

Revision ID: w11r1e2c3o4m
Revises: w10n1i2g3h4t
Create Date: 2026-12-10 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'w11r1e2c3o4m'
down_revision: Union[str, Sequence[str], None] = 'w10n1i2g3h4t'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time():
    return estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'sla_recomputes',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('scope', sa.String(length=60), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('estates', sa.JSON(), nullable=True),
        sa.Column('after_received_at', _time(), nullable=True),
        sa.Column('after_case_id', sa.String(length=36), nullable=True),
        sa.Column('report', sa.JSON(), nullable=False),
        sa.Column('started_at', _time(), nullable=False),
        sa.Column('started_by', sa.String(length=100), nullable=True),
        sa.Column('finished_at', _time(), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'scope', 'version'),
    )


def downgrade() -> None:
    op.drop_table('sla_recomputes')
