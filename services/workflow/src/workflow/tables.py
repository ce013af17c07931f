"""workflow's own tables: cases, their deadlines and timeline, and the tenants' SLA policies (+ outbox/inbox)."""
from sqlalchemy import JSON, Boolean, Column, Date, ForeignKeyConstraint, Index, Integer, MetaData, String, Table, Text

from estatedesk_common.db import UTCDateTime
from estatedesk_common.timers import timers_table
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

# A policy document per scope and version: "group", "region:<code>" or "estate:<code>". The group's document is
# complete; region/estate documents override parts of it (domain/sla/policy.py). Rows are never updated: a
# change is a new version with its own effective_from, so a case can always be re-explained.
sla_policies = Table(
    "sla_policies", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("scope", String(60), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("effective_from", UTCDateTime, nullable=False),
    Column("document", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(100), nullable=True),
    Index("ix_sla_policies_effective", "tenant_id", "scope", "effective_from"),
)

# Recomputing the open cases of a scope under a new policy version (workflow/recompute.py), in batches of cases:
# the cursor (received_at, id) of the last case done and the running report commit with each batch, so a run
# that stopped midway resumes where it was (revision w11r1e2c3o4m). status: running | done.
sla_recomputes = Table(
    "sla_recomputes", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("scope", String(60), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("status", String(10), nullable=False),
    Column("estates", JSON, nullable=True),  # the estate codes a region/estate scope covers; null: the group
    Column("after_received_at", UTCDateTime, nullable=True),
    Column("after_case_id", String(36), nullable=True),
    Column("report", JSON, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("started_by", String(100), nullable=True),
    Column("finished_at", UTCDateTime, nullable=True),
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
    Column("escalation_level", Integer, nullable=False, default=0, server_default="0"),  # 0 = not escalated
    Column("version", Integer, nullable=False, default=1, server_default="1"),  # optimistic concurrency (ETag)
    Column("assignee", String(100), nullable=True),
    Column("cause", String(40), nullable=True),
    Column("remedy", Text, nullable=True),
    Column("loss_amount", Integer, nullable=True),  # yuan
    Column("resolved_at", UTCDateTime, nullable=True),
    Column("cancel_reason", Text, nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("owner_user_id", String(36), nullable=True),  # first-question responsibility: who received it
    Column("policy_version", String(200), nullable=True),  # e.g. "group@v2 + estate:DEMO-OFFICE@v1"
    Column("policy_levels", JSON, nullable=True),  # [{"scope", "version"}]: the policy the case was opened under
    Column("department", String(100), nullable=True),  # the responsible department routing chose (w9r0u1t2e3s4)
    Index("ix_cases_estate_status", "tenant_id", "estate_code", "status"),
)

case_deadlines = Table(
    "case_deadlines", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("stage", String(40), primary_key=True),
    Column("due_at", UTCDateTime, nullable=False),
    Column("met_at", UTCDateTime, nullable=True),
    Column("limit_minutes", Integer, nullable=False),  # wall-clock minutes from receipt to due_at
    Column("explanation", Text, nullable=False),  # rendered zh-CN
    Column("limit_spec", String(16), nullable=True),  # "1h", "4bh", "5wd"...
    Column("policy_version", String(200), nullable=True),
    Column("explanation_data", JSON, nullable=True),  # structured (domain/sla/engine.py)
    Column("explanation_en", Text, nullable=True),
    # the due time the case was first given, kept when an approved extension moves due_at (null: never moved);
    # reports measure the SLA outcome against it (revision w8e1x2t3n4s5)
    Column("original_due_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
    Index("ix_case_deadlines_due", "met_at", "due_at"),
)

# Extension (延期) requests of a case's stages and their decisions (workflow/extensions.py). status: pending |
# approved | rejected; at most one pending per stage (checked under the case's version).
case_extensions = Table(
    "case_extensions", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("stage", String(40), nullable=False),
    Column("status", String(10), nullable=False),
    Column("due_at", UTCDateTime, nullable=False),  # the stage's due time when asked
    Column("new_due_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=False),
    Column("requested_by", String(100), nullable=True),
    Column("requested_rank", Integer, nullable=False),  # the requester's rung (domain/extensions.RANKS)
    Column("requested_at", UTCDateTime, nullable=False),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("note", Text, nullable=True),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
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

timers = timers_table(metadata)  # warnings, breaches and escalations (estatedesk_common.timers)

# The statutory calendar years an operator loaded (domain/sla/statutory.py): platform reference data, the same
# for every tenant, so no tenant_id. Replaced as a whole per year; every workflow process reloads within a minute.
statutory_calendar_years = Table(
    "statutory_calendar_years", metadata,
    Column("calendar", String(10), primary_key=True),
    Column("year", Integer, primary_key=True),
    Column("document", JSON, nullable=False),
    Column("source", Text, nullable=False),
    Column("loaded_at", UTCDateTime, nullable=False),
    Column("loaded_by", String(100), nullable=True),
)

# Routing rules per scope ("group" | "estate:<code>"): category (null = the scope's default) -> department and a
# team picked round-robin or least-loaded (domain/routing.py). Saving a scope replaces its rules; last_assignee
# is the round-robin cursor (revision w9r0u1t2e3s4).
routing_rules = Table(
    "routing_rules", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("scope", String(60), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("category", String(40), nullable=True),
    Column("department", String(100), nullable=False),
    Column("team", JSON, nullable=False),
    Column("strategy", String(20), nullable=False),
    Column("last_assignee", String(100), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(100), nullable=True),
)

# Nonconformity records (《不合格品/服务记录处理单》, seed 001 part 5 §4.2.5): opened when a case is resolved
# with an owner's loss of 500 yuan or more; status open | approved | rejected, decided by the site manager.
nonconformity_records = Table(
    "nonconformity_records", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("case_id", String(36), nullable=False),
    Column("reference", String(32), nullable=False),
    Column("estate_code", String(40), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("remedy", Text, nullable=False),
    Column("loss_amount", Integer, nullable=False),  # yuan
    Column("status", String(10), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(100), nullable=True),
    Column("decided_by", String(100), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    Column("note", Text, nullable=True),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
    Index("ix_nonconformity_case", "tenant_id", "case_id"),
)

# Corrective/preventive actions (《纠正/预防措施报告》, seed 001 part 5 §4.5): opened by an approved nonconformity
# record or by a cluster of one cause at one estate (domain/quality.py); status open | closed. The effectiveness
# check closes it (effective) or moves its due date (not effective yet).
capa_records = Table(
    "capa_records", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=False),
    Column("cause", String(40), nullable=False),
    Column("trigger", String(20), nullable=False),  # nonconformity | cluster
    Column("case_ids", JSON, nullable=False),
    Column("owner", String(100), nullable=False),
    Column("status", String(10), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("due_at", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime, nullable=True),
    Column("checked_by", String(100), nullable=True),
    Column("effective", Boolean, nullable=True),  # the last effectiveness check: effective or not (yet)
    Column("check_note", Text, nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Index("ix_capa_estate_cause", "tenant_id", "estate_code", "cause", "status"),
)

# Who is on duty outside an estate's business hours (值班表; domain/duty.py): person (a user name as the gateway
# knows it), post (e.g. 消防监控中心), ISO weekdays (empty: every day) and an optional inclusive date range.
# Saving an estate's roster replaces its rows (revision w10n1i2g3h4t).
duty_roster = Table(
    "duty_roster", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("estate_code", String(40), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("person", String(100), nullable=False),
    Column("post", String(60), nullable=False),
    Column("weekdays", JSON, nullable=False),
    Column("date_from", Date, nullable=True),
    Column("date_to", Date, nullable=True),
    Column("note", String(200), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(100), nullable=True),
)

# Deferrals with the owner's consent (seed 001 part 5 §4.1.5; workflow/deferrals.py): the status the case had,
# until when it waits, who consented and who recorded it; resumed_at/resumed_by (null by: the timer at ``until``)
# and ``moved`` [{stage, due_at, new_due_at}] when it resumed (revision w10n1i2g3h4t).
case_deferrals = Table(
    "case_deferrals", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("case_id", String(36), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("status_before", String(20), nullable=False),
    Column("deferred_at", UTCDateTime, nullable=False),
    Column("until", UTCDateTime, nullable=False),
    Column("consented_by", String(100), nullable=False),
    Column("recorded_by", String(100), nullable=True),
    Column("note", Text, nullable=True),
    Column("resumed_at", UTCDateTime, nullable=True),
    Column("resumed_by", String(100), nullable=True),
    Column("moved", JSON, nullable=True),
    ForeignKeyConstraint(["tenant_id", "case_id"], ["cases.tenant_id", "cases.id"]),
)
