"""owner_contacts, staff_contacts, sms_opt_outs, callback_reminders; messages.urgent and by recipient (issue 6)

Revision ID: n6a1b2c3d4e5
Revises: n7w1e2b3h4k5
Create Date: 2026-12-03 21:00:00

Hand-written. Planned on b5c0de1e9a7e, but the webhooks revision already descends from it on main, and the
migrations-match-tables check requires one head per package: so it follows n7w1e2b3h4k5.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'n6a1b2c3d4e5'
down_revision: Union[str, Sequence[str], None] = 'n7w1e2b3h4k5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

UTC = estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('owner_contacts',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('complaint_id', sa.String(length=36), nullable=False),
    sa.Column('reference', sa.String(length=32), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=False),
    sa.Column('estate_name', sa.String(length=100), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=True),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('severity', sa.String(length=40), nullable=True),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'complaint_id')
    )
    op.create_table('staff_contacts',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('estate_code', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'id')
    )
    op.create_index('ix_staff_contacts_role', 'staff_contacts', ['tenant_id', 'role', 'estate_code'], unique=False)
    op.create_table('sms_opt_outs',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('keyword', sa.String(length=20), nullable=False),
    sa.Column('opted_out_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'phone')
    )
    op.create_table('callback_reminders',
    sa.Column('tenant_id', sa.String(length=36), nullable=False),
    sa.Column('callback_id', sa.String(length=36), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'callback_id', 'day')
    )
    op.add_column('messages', sa.Column('urgent', sa.Boolean(), nullable=True))
    op.create_index('ix_messages_recipient_sent', 'messages', ['channel', 'recipient', 'sent_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_messages_recipient_sent', table_name='messages')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('urgent')
    op.drop_table('callback_reminders')
    op.drop_table('sms_opt_outs')
    op.drop_index('ix_staff_contacts_role', table_name='staff_contacts')
    op.drop_table('staff_contacts')
    op.drop_table('owner_contacts')
