"""reporting's own tables: read models fed by events (+ the inbox; the outbox stays empty, nothing is published).

Every table is keyed by ``tenant_id`` first, so each query reads one tenant's slice of the index.
"""
from sqlalchemy import Column, Date, Index, Integer, MetaData, String, Table

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

# One row per complaint; later issues add deadlines and outcomes.
complaint_facts = Table(
    "complaint_facts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("category", String(40), nullable=True),
    Column("severity", String(40), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("day", Date, nullable=False),  # estate-local date: the rollup can be rebuilt from this table
    Index("ix_complaint_facts_day", "tenant_id", "day"),
)

# Complaints received per estate-local day; '' stands for "no category / severity" (key columns are NOT NULL).
complaint_daily = Table(
    "complaint_daily", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("severity", String(40), primary_key=True),
    Column("received", Integer, nullable=False),
)

# The latest estate snapshot seen in events (as_of = that complaint's received_at; older events never win).
estate_names = Table(
    "estate_names", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("region", String(40), nullable=True),
    Column("as_of", UTCDateTime, nullable=False),
)
