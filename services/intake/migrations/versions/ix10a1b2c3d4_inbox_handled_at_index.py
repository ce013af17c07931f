"""inbox handled_at index (pruning, estatedesk_common.retention)

Revision ID: ix10a1b2c3d4
Revises: 6978f6147aa5
Create Date: 2026-12-03 21:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = 'ix10a1b2c3d4'
down_revision: Union[str, Sequence[str], None] = '6978f6147aa5'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_inbox_handled_at', 'inbox', ['handled_at'])


def downgrade() -> None:
    op.drop_index('ix_inbox_handled_at', table_name='inbox')
