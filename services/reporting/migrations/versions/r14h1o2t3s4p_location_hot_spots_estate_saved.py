"""location hot spots and estate_saved: facts' building/facility, the location rollups, estate_names.active

Revision ID: r14h1o2t3s4p
Revises: r13d1r2i3l4l
Create Date: 2026-12-07 12:00:00

Hand-written. Nullable columns and new tables only (expand): existing facts name no location, so the location
rollups start empty and ``rebuild`` fills them from the facts like the other rollups; existing estates are
active until an ``estate_saved`` says otherwise.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


revision: str = 'r14h1o2t3s4p'
down_revision: Union[str, Sequence[str], None] = 'r13d1r2i3l4l'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def _location_table(name: str, period: str) -> None:
    op.create_table(
        name,
        sa.Column('tenant_id', sa.String(length=36), nullable=False),
        sa.Column(period, sa.Date(), nullable=False),
        sa.Column('estate_code', sa.String(length=40), nullable=False),
        sa.Column('building', sa.String(length=40), nullable=False),
        sa.Column('facility', sa.String(length=40), nullable=False),
        sa.Column('received', sa.Integer(), nullable=False, server_default='0'),
        sa.PrimaryKeyConstraint('tenant_id', period, 'estate_code', 'building', 'facility'),
    )


def upgrade() -> None:
    op.add_column('complaint_facts', sa.Column('building', sa.String(length=40), nullable=True))
    op.add_column('complaint_facts', sa.Column('facility', sa.String(length=40), nullable=True))
    op.add_column('estate_names', sa.Column('active', sa.Boolean(), nullable=True))
    _location_table('complaint_location_daily', 'day')
    _location_table('complaint_location_monthly', 'month')


def downgrade() -> None:
    op.drop_table('complaint_location_monthly')
    op.drop_table('complaint_location_daily')
    with op.batch_alter_table('estate_names') as batch:
        batch.drop_column('active')
    with op.batch_alter_table('complaint_facts') as batch:
        batch.drop_column('facility')
        batch.drop_column('building')
