"""duty roster per estate and case deferrals with the owner's consent

duty_roster holds who is on duty outside an estate's business hours (workflow/duty.py); case_deferrals records
each deferral (who consented, who recorded it, until when, when and by whom it was resumed, the due times moved)
(workflow/deferrals.py). Hand-written.

Revision ID: w10n1i2g3h4t
Revises: w9r0u1t2e3s4
Create Date: 2026-12-08 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'w10n1i2g3h4t'
down_revision: Union[str, Sequence[str], None] = 'w9r0u1t2e3s4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _time():
    return estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        'duty_roster',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('person', sa.String(length=100), nullable=False),
        sa.Column('post', sa.String(length=60), nullable=False),
        sa.Column('weekdays', sa.JSON(), nullable=False),
        sa.Column('date_from', sa.Date(), nullable=True),
        sa.Column('date_to', sa.Date(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.Column('updated_at', _time(), nullable=False),
        sa.Column('updated_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('tenant_id', 'estate_code', 'position'),
    )
    op.create_table(
        'case_deferrals',
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column('case_id', sa.String(length=36), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('status_before', sa.String(length=20), nullable=False),
        sa.Column('deferred_at', _time(), nullable=False),
        sa.Column('until', _time(), nullable=False),
        sa.Column('consented_by', sa.String(length=100), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('resumed_at', _time(), nullable=True),
        sa.Column('resumed_by', sa.String(length=100), nullable=True),
        sa.Column('moved', sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(['tenant_id', 'case_id'], ['cases.tenant_id', 'cases.id']),
        sa.PrimaryKeyConstraint('tenant_id', 'case_id', 'seq'),
    )


def downgrade() -> None:
    op.drop_table('case_deferrals')
    op.drop_table('duty_roster')
