"""reporting's own tables: read models fed by events, the event archive (+ the inbox and outbox: report_ready).

Every table is keyed by ``tenant_id`` first, so each query reads one tenant's slice of the index.

``complaint_facts`` is the source of truth inside reporting: one row per complaint, filled column by column as
events arrive in any order (every column but the key is nullable for that reason). The rollup
``complaint_daily`` is derived from it (``reporting.cli rebuild`` recomputes it): each fact contributes its
counts to exactly one bucket, the one its current day/estate/channel/category/severity name.

``event_archive`` keeps every event of every service as it arrived (``archive.py``); ``reporting.cli rebuild
--from-events`` rebuilds the read models from it.
"""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, Index, Integer, MetaData, String, Table, Text,
                        UniqueConstraint, text)

from .domain.facts import COUNTS as ROLLUP_COUNTS

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

_OPEN_FIRST_CONTACT = text("acknowledged_at IS NULL AND first_contact_met_at IS NULL "
                           "AND first_contact_due_at IS NOT NULL")
OPEN_RESOLUTION = ("resolved_at IS NULL AND cancelled_at IS NULL AND resolution_due_at IS NOT NULL")
HANDLING_KNOWN = "handling_minutes IS NOT NULL AND resolved_at IS NOT NULL"

complaint_facts = Table(
    "complaint_facts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    # from complaint_received (or case_opened, whichever comes first)
    Column("reference", String(40), nullable=True),
    Column("estate_code", String(40), nullable=True),
    Column("channel", String(20), nullable=True),
    Column("category", String(40), nullable=True),
    Column("severity", String(40), nullable=True),
    Column("category_source", String(20), nullable=True),  # intake's "keywords" | "agent" | ... when sent
    Column("classified_at", UTCDateTime, nullable=True),  # when category/severity were decided: newer wins
    Column("reclassified", Boolean, nullable=True),
    Column("received_at", UTCDateTime, nullable=True),
    Column("day", Date, nullable=True),  # estate-local date of received_at: the rollup bucket's day
    # from workflow case_opened
    Column("case_id", String(36), nullable=True),
    Column("opened_at", UTCDateTime, nullable=True),
    Column("first_contact_due_at", UTCDateTime, nullable=True),
    Column("resolution_due_at", UTCDateTime, nullable=True),
    # from notify: the acknowledgement is the proxy for first contact until workflow records contact
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("acknowledgement_failed_at", UTCDateTime, nullable=True),
    # the case's later life (workflow: case_contacted, case_resolved, case_cancelled, case_reopened,
    # sla_breached, case_escalated; notify: callback_completed / callback_dissatisfied): domain/lifecycle.py
    Column("first_contact_met_at", UTCDateTime, nullable=True),
    Column("breached_at", UTCDateTime, nullable=True),
    Column("escalation_level", Integer, nullable=True),  # the highest level reached
    Column("resolved_at", UTCDateTime, nullable=True),  # the first resolution
    Column("callback_at", UTCDateTime, nullable=True),  # the first callback answer
    Column("satisfied", Boolean, nullable=True),  # the newest answer is satisfied / very satisfied
    Column("repeat_of", String(36), nullable=True),
    Column("handling_minutes", Integer, nullable=True),  # working minutes, receipt -> first resolution
    Column("nonconformity_required", Boolean, nullable=True),
    Column("cancelled_at", UTCDateTime, nullable=True),
    Column("reopened_at", UTCDateTime, nullable=True),
    Column("satisfaction", String(20), nullable=True),
    Column("satisfaction_at", UTCDateTime, nullable=True),
    Column("escalated_levels", String(40), nullable=True),
    # workflow extension_requested / extension_decided (revision r8e1x2t3n4s5)
    Column("extension_requested_at", UTCDateTime, nullable=True),
    Column("extension_approved_at", UTCDateTime, nullable=True),
    # intake complaint_received's optional location (revision r14h1o2t3s4p): location hot spots, drill-down
    Column("building", String(40), nullable=True),
    Column("facility", String(40), nullable=True),
    Index("ix_complaint_facts_day", "tenant_id", "day"),
    # "overdue now" for a period reads only the period's cases still waiting for first contact (per estate for
    # the league table: estate_code INCLUDEd on PostgreSQL, an index-only scan; revision r17q1u2e3r4y)
    Index("ix_complaint_facts_open_first_contact", "tenant_id", "day", "first_contact_due_at",
          postgresql_where=_OPEN_FIRST_CONTACT, sqlite_where=_OPEN_FIRST_CONTACT, postgresql_include=["estate_code"]),
    # ... and for resolution: the period's cases unresolved, not cancelled, with a resolution deadline
    Index("ix_complaint_facts_open_resolution", "tenant_id", "day", "resolution_due_at",
          postgresql_where=text(OPEN_RESOLUTION), sqlite_where=text(OPEN_RESOLUTION),
          postgresql_include=["estate_code"]),
    # p90 handling time: the period's handling minutes straight from the index
    Index("ix_complaint_facts_handling", "tenant_id", "day", "handling_minutes",
          postgresql_where=text(HANDLING_KNOWN), sqlite_where=text(HANDLING_KNOWN)),
    # the overdue ledger (revision r19o1v2e3r4d): open cases by deadline, every tenant, for the ledger's advance
    # (the deadlines passed since the last one) and for what falls between the ledger's watermark and now
    Index("ix_complaint_facts_open_first_contact_due", "first_contact_due_at", "tenant_id", "day", "estate_code",
          postgresql_where=_OPEN_FIRST_CONTACT, sqlite_where=_OPEN_FIRST_CONTACT),
    Index("ix_complaint_facts_open_resolution_due", "resolution_due_at", "tenant_id", "day", "estate_code",
          postgresql_where=text(OPEN_RESOLUTION), sqlite_where=text(OPEN_RESOLUTION)),
)

# The overdue ledger (revision r19o1v2e3r4d): "overdue now" without reading every open case. A case is overdue
# at a stage (``first_contact`` | ``resolution``) once its deadline has passed and the stage is still open, and
# stays so until it closes: so the count of cases overdue before a moment (the watermark) only changes by events,
# and the ledger keeps it per tenant x stage x estate-local month received x estate. ``overdue_watermark`` holds
# that moment (one row); the merger loop moves it to the present every ``ROLLUP_MERGE_SECONDS`` and adds the
# cases whose deadline passed in between; handlers add what their event changes (a delta, like the rollups').
# "Overdue now" = the ledger's months + edge days and what fell due between the watermark and now, from the
# facts (``queries._overdue_statement``).
overdue_monthly = Table(
    "complaint_overdue_monthly", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("stage", String(16), primary_key=True),
    Column("month", Date, primary_key=True),
    Column("estate_code", String(40), primary_key=True),  # '' for a case without one
    Column("cases", Integer, nullable=False, server_default="0"),
    Index("ix_complaint_overdue_monthly_covering", "tenant_id", "stage", "month", "estate_code",
          postgresql_include=["cases"]),
)
overdue_watermark = Table(
    "overdue_watermark", metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("at", UTCDateTime, nullable=False),
)

# Per estate-local day x estate x channel x category x severity; '' stands for "none" (key columns are NOT NULL).
# first_contact_* count the bucket's cases with a first-contact deadline, and those met on time / late
# (met = contact recorded, else the acknowledgement as a proxy); the other counts are ``domain.facts.COUNTS``
# (resolution, handling minutes, callbacks, reopenings, breaches, escalations, repeats); what is still open is
# counted from the facts (it changes with the clock, not with events).
complaint_daily = Table(
    "complaint_daily", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("channel", String(20), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("severity", String(40), primary_key=True),
    Column("received", Integer, nullable=False),
    *[Column(c, Integer, nullable=False, server_default="0") for c in ROLLUP_COUNTS if c != "received"],
    # the edge days of rolling ranges where no narrower daily table has the dimensions (head office's KPI
    # breakdowns by channel / category / severity, estate x category hot spots) read only ``received``: index-only
    # on PostgreSQL (revision r17q1u2e3r4y). Only ``received`` is included: the events after a complaint's
    # arrival change other counts, so their updates of the row stay HOT.
    Index("ix_complaint_daily_received", "tenant_id", "day",
          postgresql_include=["estate_code", "channel", "category", "severity", "received"]),
)


def _covering(table: str, period: str, dimensions, included) -> Index:
    """The primary key's columns with what dashboards read from the row (``INCLUDE`` on PostgreSQL): a tenant's
    period is read from contiguous index pages (index-only scan) instead of one scattered heap page per row
    (revision r15s1p2e3e4d)."""
    keys = ["tenant_id", period, *[d for d in dimensions]]
    return Index(f"ix_{table}_covering", *keys, postgresql_include=list(included))


def _monthly(name: str, *dimensions: str, period: str = "month") -> Table:
    """A month-grain projection of ``complaint_daily`` (month = first day of the estate-local month; ``period``
    ``week``: the Monday of the ISO week): the same counts over fewer dimensions, so a quarter is a few hundred rows
    per tenant instead of one per complaint."""
    return Table(
        name, metadata,
        Column("tenant_id", String(36), primary_key=True),
        Column(period, Date, primary_key=True),
        Column("estate_code", String(40), primary_key=True),
        *[Column(d, String(40), primary_key=True) for d in dimensions],
        *[Column(c, Integer, nullable=False, server_default="0") for c in ROLLUP_COUNTS],
        *([_covering(name, period, ("estate_code", *dimensions), ("received",))] if dimensions == ("category",)
          else []),
    )


# league table, KPI totals and by category, hot spots
monthly_by_category = _monthly("complaint_monthly_category", "category")
# KPI breakdowns by channel and severity
monthly_by_channel_severity = _monthly("complaint_monthly_channel_severity", "channel", "severity")
MONTHLY = {monthly_by_category.name: ("category",), monthly_by_channel_severity.name: ("channel", "severity")}


def _projection(name: str, period: str, *dimensions: str) -> Table:
    """A narrower projection of ``complaint_daily`` (revision r15s1p2e3e4d), shaped for one dashboard read: the same
    counts keyed by ``(tenant_id, period, *dimensions)``, so the read is a range scan of the primary key."""
    return Table(
        name, metadata,
        Column("tenant_id", String(36), primary_key=True),
        Column(period, Date, primary_key=True),
        *[Column(d, String(40), primary_key=True) for d in dimensions],
        *[Column(c, Integer, nullable=False, server_default="0") for c in ROLLUP_COUNTS],
        _covering(name, period, dimensions, ROLLUP_COUNTS),
    )


# league table and KPI totals: one row per estate and month (a quarter: 3 x estates rows per tenant) ...
monthly_by_estate = _projection("complaint_monthly_estate", "month", "estate_code")
# ... and per estate and day for the edge days of a range that is not whole months
daily_by_estate = _projection("complaint_daily_estate", "day", "estate_code")
# head office (every estate): KPI totals and breakdowns, category hot spots without the estate dimension
monthly_by_tenant = _projection("complaint_monthly_tenant", "month", "channel", "category", "severity")
# week grain (revision r20w1e2e3k4s; week = the Monday of the estate-local day's ISO week): the whole weeks inside
# the edge day ranges of a range that is not whole months (a rolling 91 days is 13 whole weeks), read instead of
# their days
weekly_by_estate = _projection("complaint_weekly_estate", "week", "estate_code")
weekly_by_tenant = _projection("complaint_weekly_tenant", "week", "channel", "category", "severity")
weekly_by_category = _monthly("complaint_weekly_category", "category", period="week")


def _place(name: str, period: str) -> Table:
    """Complaints received per estate-local day (week, month, quarter) x estate x named location, for location hot spots
    (revision r18l1o2c3a4t): ``kind`` ``building`` or ``facility``, ``name`` the building or facility named; a
    complaint that names both counts in one row of each kind, one that names none in no row. Keyed by the name
    alone (not by the building x facility pair, revision r14h1o2t3s4p), an estate-month holds at most one row per
    building and facility of the estate (12 + 8 in the bench) however many complaints it has. Only ``received``:
    hot spots compare counts, and their cases are drilled down from the facts."""
    return Table(
        name, metadata,
        Column("tenant_id", String(36), primary_key=True),
        Column(period, Date, primary_key=True),
        Column("estate_code", String(40), primary_key=True),
        Column("kind", String(10), primary_key=True),
        Column("name", String(40), primary_key=True),
        Column("received", Integer, nullable=False, server_default="0"),
        _covering(name, period, ("estate_code", "kind", "name"), ("received",)),
    )


PLACE_KINDS = ("building", "facility")
place_daily = _place("complaint_place_daily", "day")
place_monthly = _place("complaint_place_monthly", "month")
# quarter = the first day of the estate-local calendar quarter: hot spots read whole quarters from these
place_quarterly = _place("complaint_place_quarterly", "quarter")
# week = the Monday of the ISO week: the whole weeks inside hot spots' edge day ranges (revision r20w1e2e3k4s)
place_weekly = _place("complaint_place_weekly", "week")
# estate x category per quarter (received only): the whole quarters of estate x category hot spots
quarterly_by_category = Table(
    "complaint_quarterly_category", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("quarter", Date, primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("category", String(40), primary_key=True),
    Column("received", Integer, nullable=False, server_default="0"),
    _covering("complaint_quarterly_category", "quarter", ("estate_code", "category"), ("received",)),
)


# The estate dimension: the latest snapshot seen in events (as_of = that complaint's received_at; older events
# never win). units: number of units, for complaints per 1,000 units (complaint_received's estate.units; null
# until a snapshot carries it).
estate_names = Table(
    "estate_names", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("region", String(40), nullable=True),
    Column("units", Integer, nullable=True),
    Column("as_of", UTCDateTime, nullable=False),
    # intake's estate_saved (revision r14h1o2t3s4p): false once deactivated; null = never said (active)
    Column("active", Boolean, nullable=True),
)

# Quality records (workflow's nonconformity_* and capa_* events; domain/quality.py merges them in any order):
# one row per record, created empty by the first event about it. Small tables (a record per loss of 500 yuan or
# more, a CAPA per approved record or cluster): the KPIs read a tenant's rows by the primary key's prefix.
quality_nonconformities = Table(
    "quality_nonconformities", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("record_id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=True),
    Column("case_id", String(36), nullable=True),
    Column("cause", String(40), nullable=True),
    Column("loss_amount", Integer, nullable=True),
    Column("status", String(20), nullable=True),  # open | approved | rejected
    Column("opened_at", UTCDateTime, nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
)

quality_capa = Table(
    "quality_capa", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("capa_id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=True),
    Column("cause", String(40), nullable=True),
    Column("trigger", String(20), nullable=True),  # nonconformity | cluster
    Column("owner", String(100), nullable=True),
    Column("case_ids", JSON, nullable=True),  # sorted union of capa_opened's and capa_case_added's cases
    Column("status", String(20), nullable=True),  # open | closed
    Column("opened_at", UTCDateTime, nullable=True),
    Column("due_at", UTCDateTime, nullable=True),
    Column("checked_at", UTCDateTime, nullable=True),  # the newest effectiveness check
    Column("closed_at", UTCDateTime, nullable=True),
)

# What each handled event adds to the rollups and the estate dimension, written by the handler's transaction
# instead of the shared rollup rows, folded in by one merger at a time (``rollup_merge.py``, revision
# r16w1r2i3t4e). ``body``: {"daily": [[day, estate, channel, category, severity, {count: delta}]], "location":
# [[day, estate, building, facility, delta]], "estate": {code, name, kind, region, units, as_of} | null}.
rollup_deltas = Table(
    "rollup_deltas", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("tenant_id", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("body", JSON, nullable=False),
)

# Periodic reports (periodic_reports.py): who gets which report, and each report made (kept: the page can be
# opened again, and the unique period makes a second run for it a no-op).
report_subscriptions = Table(
    "report_subscriptions", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("kind", String(10), nullable=False),  # weekly | monthly | quarterly
    Column("estate_code", String(40), nullable=True),  # None = the whole group
    Column("recipients", JSON, nullable=False),
    Column("locale", String(10), nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(36), nullable=True),
)

report_runs = Table(
    "report_runs", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("subscription_id", String(36), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("subject", String(200), nullable=False),
    Column("html", Text, nullable=False),
    Column("generated_at", UTCDateTime, nullable=False),
    # the figures the page was made from ({kpis, league, trend}) for the CSV/XLSX downloads (revision r13d1r2i3l4l)
    Column("data", JSON, nullable=True),
    UniqueConstraint("tenant_id", "subscription_id", "period_start", name="uq_report_runs_period"),
)

# Every event of intake, workflow, notify and reporting, once (``event_id`` is unique: a redelivery is a no-op),
# with the envelope as it came (``body``: Envelope.to_dict()). Replayed in (occurred_at, event_id) order by
# ``rebuild --from-events``; pruned by occurred_at after EVENT_ARCHIVE_RETENTION_DAYS (0 = kept).
event_archive = Table(
    "event_archive", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("event_id", String(36), primary_key=True),
    Column("source", String(40), nullable=False),
    Column("event_type", String(80), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("occurred_at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("body", JSON, nullable=False),
    UniqueConstraint("event_id", name="uq_event_archive_event_id"),
    Index("ix_event_archive_occurred_at", "occurred_at", "event_id"),
)
