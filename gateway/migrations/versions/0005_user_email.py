"""user_email: an optional e-mail address per user, for self-service password reset

Hand-written. ``users.email`` is nullable (existing users have none until a group admin sets it); it is not
unique: two accounts of one person may share a mailbox, and the login stays the username.

Revision ID: 0005_user_email
Revises: 0004
Create Date: 2026-12-10
"""
from alembic import op
import sqlalchemy as sa

revision = "0005_user_email"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email")
