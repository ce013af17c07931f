"""inbox handled_at index (pruning, estatedesk_common.retention)

Revision ID: ix10n1b2c3d4
Revises: 789746ad32ab
Create Date: 2026-12-03 21:00:00

"""
from typing import Sequence, Union

from alembic import op


revision: str = 'ix10n1b2c3d4'
down_revision: Union[str, Sequence[str], None] = '789746ad32ab'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_index('ix_inbox_handled_at', 'inbox', ['handled_at'])


def downgrade() -> None:
    op.drop_index('ix_inbox_handled_at', table_name='inbox')
