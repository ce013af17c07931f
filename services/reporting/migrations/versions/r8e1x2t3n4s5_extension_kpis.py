"""extension KPIs: cases with an extension (延期) request / approval

complaint_facts gains the first request and the first approval (workflow's extension_requested /
extension_decided, domain/lifecycle.py); the three rollups gain the counts ``extensions_requested`` and
``extensions_approved`` (domain.facts.COUNTS), 0 for existing rows: no extension existed before workflow
published these events, so no backfill is needed. Hand-written.

Revision ID: r8e1x2t3n4s5
Revises: ix10r1b2c3d4
Create Date: 2026-12-04 10:00:00

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'r8e1x2t3n4s5'
down_revision: Union[str, Sequence[str], None] = 'ix10r1b2c3d4'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NEW_COUNTS = ("extensions_requested", "extensions_approved")
ROLLUPS = ("complaint_daily", "complaint_monthly_category", "complaint_monthly_channel_severity")


def upgrade() -> None:
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('extension_requested_at', estatedesk_common.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column('extension_approved_at', estatedesk_common.db.UTCDateTime(timezone=True),
                                      nullable=True))
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in NEW_COUNTS:
                batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(NEW_COUNTS):
                batch_op.drop_column(name)
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_column('extension_approved_at')
        batch_op.drop_column('extension_requested_at')
