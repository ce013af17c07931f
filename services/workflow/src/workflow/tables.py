"""workflow's own tables: cases, their deadlines and timeline, and the sites' time limits (+ outbox/inbox)."""
from sqlalchemy import Column, ForeignKeyConstraint, Index, Integer, MetaData, String, Table, Text

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

sla_limits = Table(
    "sla_limits", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),  # "*" = the group's default
    Column("channel", String(20), primary_key=True),  # "*" = any channel
    Column("stage", String(40), primary_key=True),
    Column("minutes", Integer, nullable=False),
)

cases = Table(
    "cases", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),  # = the complaint id: one case per complaint
    Column("reference", String(32), nullable=False),
    Column("estate_code", String(40), nullable=False),
    Column("estate_name", String(100), nullable=False),
    Column("timezone", String(64), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("category", String(40), nullable=True),
    Column("severity", String(40), nullable=True),
    Column("status", String(20), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("owner_user_id", String(36), nullable=True),  # first-question responsibility: who received it
    Index("ix_cases_estate_status", "tenant_id", "estate_code", "status"),
)

case_deadlines = Table(
    "case_deadlines", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("stage", String(40), primary_key=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("met_at", UTCDateTime, nullable=True),
    Column("limit_minutes", Integer, nullable=False),
    Column("explanation", Text, nullable=False),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
    Index("ix_case_deadlines_due", "met_at", "due_at"),
)

case_timeline = Table(
    "case_timeline", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("text", Text, nullable=False),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
)
