"""intake's own tables: the estate directory, the canonical complaints, classification (+ outbox/inbox)."""
from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKeyConstraint, Index, Integer, MetaData, String, Table,
                        Text, UniqueConstraint)

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

regions = Table(
    "regions", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
)

estates = Table(
    "estates", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # residential | office | commercial | handover
    Column("timezone", String(64), nullable=False, default="Asia/Shanghai"),
    Column("region_code", String(40), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

buildings = Table(
    "buildings", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    ForeignKeyConstraint(["tenant_id", "estate_code"], ["estates.tenant_id", "estates.code"]),
)

units = Table(
    "units", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("building_code", String(40), primary_key=True),
    Column("code", String(40), primary_key=True),
    ForeignKeyConstraint(["tenant_id", "estate_code", "building_code"],
                         ["buildings.tenant_id", "buildings.estate_code", "buildings.code"]),
)

complaints = Table(
    "complaints", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False),
    Column("estate_code", String(40), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("description", Text, nullable=False),
    Column("complainant_name", String(50), nullable=False, default=""),
    Column("complainant_phone", String(20), nullable=False, default=""),
    Column("complainant_email", String(254), nullable=False, default=""),
    Column("complainant_unit", String(50), nullable=False, default=""),
    Column("category", String(40), nullable=True),
    Column("severity", String(40), nullable=True),
    Column("category_source", String(10), nullable=True),  # auto | agent (null: not classified)
    Column("severity_source", String(10), nullable=True),  # auto | agent
    Column("classification", JSON, nullable=True),  # the automatic suggestion: top 3 categories with scores, ...
    Column("urgent", Boolean, nullable=False, default=False),
    Column("status", String(20), nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("received_by", String(36), nullable=True),
    Column("schema_version", Integer, nullable=False),
    Column("raw", JSON, nullable=True),  # the channel's original input, kept for audit
    UniqueConstraint("tenant_id", "reference", name="uq_complaints_reference"),
    ForeignKeyConstraint(["tenant_id", "estate_code"], ["estates.tenant_id", "estates.code"]),
    Index("ix_complaints_estate_received", "tenant_id", "estate_code", "received_at"),
)

# Classification (seed 003): a tenant's categories and keyword rules (none: the defaults in
# domain/classify_defaults.py apply), agents' corrections the model learns from, and a version bumped in the
# same transaction as any of them changes, so every service instance knows when to retrain.
classification_categories = Table(
    "classification_categories", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("key", String(40), primary_key=True),
    Column("name_zh", String(50), nullable=False),
    Column("name_en", String(50), nullable=False, default=""),
    Column("position", Integer, nullable=False, default=0),
    Column("active", Boolean, nullable=False, default=True),
)

classification_rules = Table(
    "classification_rules", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("keyword", String(50), primary_key=True),
    Column("weight", Float, nullable=False),
)

classification_feedback = Table(
    "classification_feedback", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("text", Text, nullable=False),
    Column("category", String(40), nullable=False),
    Column("severity", String(40), nullable=True),
    Column("corrected_by", String(36), nullable=True),
    Column("corrected_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["tenant_id", "complaint_id"], ["complaints.tenant_id", "complaints.id"]),
    Index("ix_classification_feedback_complaint", "tenant_id", "complaint_id", "corrected_at"),
)

classification_versions = Table(
    "classification_versions", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("version", Integer, nullable=False),
)
