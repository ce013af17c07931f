"""case facts, first-contact rollup counts, estate units

complaint_facts becomes the per-case fact row filled by events in any order: every column but the key is
nullable (a case_opened or notification_sent may arrive before complaint_received). The rollup gains the
first-contact counts (existing rows: 0, which is right: no deadline was known before this revision).
Downgrade deletes fact rows that never received their complaint (they could not satisfy NOT NULL).

Revision ID: 07c1e2031a73
Revises: 7beecdf51799
Create Date: 2026-11-24 13:34:09.357116

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


# revision identifiers, used by Alembic.
revision: str = '07c1e2031a73'
down_revision: Union[str, Sequence[str], None] = '7beecdf51799'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('complaint_daily', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_contact_due', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_contact_on_time', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_contact_late', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('reclassified', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reference', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('category_source', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('classified_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reclassified', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('case_id', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('opened_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_contact_due_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('resolution_due_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledged_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('acknowledgement_failed_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('first_contact_met_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('breached_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalation_level', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('callback_at', estatedesk_common.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('satisfied', sa.Boolean(), nullable=True))
        batch_op.alter_column('estate_code',
               existing_type=sa.VARCHAR(length=40),
               nullable=True)
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=20),
               nullable=True)
        batch_op.alter_column('received_at',
               existing_type=estatedesk_common.db.UTCDateTime(timezone=True),
               nullable=True)
        batch_op.alter_column('day',
               existing_type=sa.DATE(),
               nullable=True)
        batch_op.create_index('ix_complaint_facts_open_first_contact', ['tenant_id', 'first_contact_due_at'], unique=False, postgresql_where=sa.text('acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL'), sqlite_where=sa.text('acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL'))

    with op.batch_alter_table('estate_names', schema=None) as batch_op:
        batch_op.add_column(sa.Column('units', sa.Integer(), nullable=True))



def downgrade() -> None:
    """Downgrade schema."""
    op.execute("DELETE FROM complaint_facts WHERE estate_code IS NULL OR channel IS NULL "
               "OR received_at IS NULL OR day IS NULL")
    with op.batch_alter_table('estate_names', schema=None) as batch_op:
        batch_op.drop_column('units')

    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_facts_open_first_contact', postgresql_where=sa.text('acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL'), sqlite_where=sa.text('acknowledged_at IS NULL AND first_contact_met_at IS NULL AND first_contact_due_at IS NOT NULL'))
        batch_op.alter_column('day',
               existing_type=sa.DATE(),
               nullable=False)
        batch_op.alter_column('received_at',
               existing_type=estatedesk_common.db.UTCDateTime(timezone=True),
               nullable=False)
        batch_op.alter_column('channel',
               existing_type=sa.VARCHAR(length=20),
               nullable=False)
        batch_op.alter_column('estate_code',
               existing_type=sa.VARCHAR(length=40),
               nullable=False)
        batch_op.drop_column('satisfied')
        batch_op.drop_column('callback_at')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('escalation_level')
        batch_op.drop_column('breached_at')
        batch_op.drop_column('first_contact_met_at')
        batch_op.drop_column('acknowledgement_failed_at')
        batch_op.drop_column('acknowledged_at')
        batch_op.drop_column('resolution_due_at')
        batch_op.drop_column('first_contact_due_at')
        batch_op.drop_column('opened_at')
        batch_op.drop_column('case_id')
        batch_op.drop_column('reclassified')
        batch_op.drop_column('classified_at')
        batch_op.drop_column('category_source')
        batch_op.drop_column('reference')

    with op.batch_alter_table('complaint_daily', schema=None) as batch_op:
        batch_op.drop_column('reclassified')
        batch_op.drop_column('first_contact_late')
        batch_op.drop_column('first_contact_on_time')
        batch_op.drop_column('first_contact_due')

