"""routing rules, the routed department, nonconformity records and CAPA

cases.department is what routing chose; routing_rules holds each scope's rules with the round-robin cursor;
nonconformity_records and capa_records are the quality records of seed 001 part 5 (workflow/quality.py).
Hand-written.

Revision ID: w9r0u1t2e3s4
Revises: w8e1x2t3n4s5
Create Date: 2026-12-05 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'w9r0u1t2e3s4'
down_revision: Union[str, Sequence[str], None] = 'w8e1x2t3n4s5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time():
    return estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('department', sa.String(length=100), nullable=True))
    op.create_table(
        'routing_rules',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('scope', sa.String(length=60), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=True),
        sa.Column('department', sa.String(length=100), nullable=False),
        sa.Column('team', sa.JSON(), nullable=False),
        sa.Column('strategy', sa.String(length=20), nullable=False),
        sa.Column('last_assignee', sa.String(length=100), nullable=True),
        sa.Column('updated_at', _time(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'scope', 'position'),
    )
    op.create_table(
        'nonconformity_records',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('reference', sa.String(length=32), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('cause', sa.String(length=40), nullable=False),
        sa.Column('remedy', sa.Text(), nullable=False),
        sa.Column('loss_amount', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('opened_at', _time(), nullable=False),
        sa.Column('opened_by', sa.String(length=100), nullable=True),
        sa.Column('decided_by', sa.String(length=100), nullable=True),
        sa.Column('decided_at', _time(), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id', 'case_id'], ['cases.tenant_id', 'cases.id']),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
    )
    op.create_index('ix_nonconformity_case', 'nonconformity_records', ['tenant_id', 'case_id'], unique=False)
    op.create_table(
        'capa_records',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('cause', sa.String(length=40), nullable=False),
        sa.Column('trigger', sa.String(length=20), nullable=False),
        sa.Column('case_ids', sa.JSON(), nullable=False),
        sa.Column('owner', sa.String(length=100), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('opened_at', _time(), nullable=False),
        sa.Column('due_at', _time(), nullable=False),
        sa.Column('checked_at', _time(), nullable=True),
        sa.Column('checked_by', sa.String(length=100), nullable=True),
        sa.Column('effective', sa.Boolean(), nullable=True),
        sa.Column('check_note', sa.Text(), nullable=True),
        sa.Column('closed_at', _time(), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'id'),
    )
    op.create_index('ix_capa_estate_cause', 'capa_records', ['tenant_id', 'estate_code', 'cause', 'status'],
                    unique=False)


def downgrade() -> None:
    op.drop_index('ix_capa_estate_cause', table_name='capa_records')
    op.drop_table('capa_records')
    op.drop_index('ix_nonconformity_case', table_name='nonconformity_records')
    op.drop_table('nonconformity_records')
    op.drop_table('routing_rules')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('department')
