"""case lifecycle KPIs: contact, resolution, handling time, callbacks, reopenings, breaches, escalations, repeats

complaint_facts gains the columns workflow's and notify's later events fill (domain/lifecycle.py) and two
partial indexes (open resolutions for "resolution overdue now"; handling minutes for the p90). The three
rollups gain the new counts (domain.facts.COUNTS), 0 for existing rows, which is right for every count but
``resolution_due`` (case_opened already brought resolution deadlines): that one is backfilled from the facts
here, so the rollups agree with ``reporting.cli rebuild`` from the start. Hand-written.

Revision ID: r7k0p1s2t3u4
Revises: d51e74b375de
Create Date: 2026-12-03 19:55:00

"""
import datetime as dt
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
import estatedesk_common.db


revision: str = 'r7k0p1s2t3u4'
down_revision: Union[str, Sequence[str], None] = 'd51e74b375de'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

NEW_COUNTS = ("first_contact_proxy", "resolution_due", "resolved", "resolved_on_time", "resolved_late",
              "handling_count", "handling_minutes", "called_back", "callback_answered", "satisfied", "dissatisfied",
              "reopened", "breached", "escalated", "escalated_level_1", "escalated_level_2", "escalated_level_3",
              "repeat", "nonconformity_required")
ROLLUPS = {"complaint_daily": ("day", "channel", "category", "severity"),
           "complaint_monthly_category": ("month", "category"),
           "complaint_monthly_channel_severity": ("month", "channel", "severity")}
OPEN_RESOLUTION = "resolved_at IS NULL AND cancelled_at IS NULL AND resolution_due_at IS NOT NULL"
HANDLING_KNOWN = "handling_minutes IS NOT NULL AND resolved_at IS NOT NULL"


def _time():
    return estatedesk_common.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_of', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('handling_minutes', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('nonconformity_required', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('cancelled_at', _time(), nullable=True))
        batch_op.add_column(sa.Column('reopened_at', _time(), nullable=True))
        batch_op.add_column(sa.Column('satisfaction', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('satisfaction_at', _time(), nullable=True))
        batch_op.add_column(sa.Column('escalated_levels', sa.String(length=40), nullable=True))
        batch_op.create_index('ix_complaint_facts_open_resolution', ['tenant_id', 'day', 'resolution_due_at'],
                              unique=False, postgresql_where=sa.text(OPEN_RESOLUTION),
                              sqlite_where=sa.text(OPEN_RESOLUTION))
        batch_op.create_index('ix_complaint_facts_handling', ['tenant_id', 'day', 'handling_minutes'],
                              unique=False, postgresql_where=sa.text(HANDLING_KNOWN),
                              sqlite_where=sa.text(HANDLING_KNOWN))
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in NEW_COUNTS:
                batch_op.add_column(sa.Column(name, sa.Integer(), server_default='0', nullable=False))
    _backfill_resolution_due()


def _backfill_resolution_due() -> None:
    """Facts that know their bucket and have a resolution deadline: +1 ``resolution_due`` in each rollup."""
    bind = op.get_bind()
    facts = sa.table("complaint_facts", *[sa.column(c) for c in (
        "tenant_id", "day", "estate_code", "channel", "category", "severity", "resolution_due_at")])
    q = sa.select(facts).where(facts.c.resolution_due_at.is_not(None), facts.c.day.is_not(None),
                               facts.c.estate_code.is_not(None), facts.c.channel.is_not(None))
    sums = {name: {} for name in ROLLUPS}
    for row in bind.execute(q).mappings():
        day = row["day"] if not isinstance(row["day"], str) else dt.date.fromisoformat(row["day"])
        values = {"day": day, "month": day.replace(day=1), "channel": row["channel"],
                  "category": row["category"] or "", "severity": row["severity"] or ""}
        for name, dims in ROLLUPS.items():
            key = (row["tenant_id"], row["estate_code"], *[values[d] for d in dims])
            sums[name][key] = sums[name].get(key, 0) + 1
    for name, dims in ROLLUPS.items():
        table = sa.table(name, *[sa.column(c) for c in ("tenant_id", "estate_code", *dims, "resolution_due")])
        for key, n in sums[name].items():
            cond = [table.c[c] == v for c, v in zip(("tenant_id", "estate_code", *dims), key)]
            bind.execute(sa.update(table).where(*cond).values(resolution_due=n))


def downgrade() -> None:
    for table in ROLLUPS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name in reversed(NEW_COUNTS):
                batch_op.drop_column(name)
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_facts_handling')
        batch_op.drop_index('ix_complaint_facts_open_resolution')
        for name in ('escalated_levels', 'satisfaction_at', 'satisfaction', 'reopened_at', 'cancelled_at',
                     'nonconformity_required', 'handling_minutes', 'repeat_of'):
            batch_op.drop_column(name)
