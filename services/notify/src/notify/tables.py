"""notify's own tables: outgoing messages, callbacks (回访) and their attempts (+ outbox/inbox)."""
from sqlalchemy import JSON, Boolean, Column, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

messages = Table(
    "messages", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("case_id", String(36), nullable=True),
    Column("kind", String(40), nullable=False),  # acknowledgement | ...
    Column("channel", String(20), nullable=False),  # email | sms | wechat
    Column("recipient", String(254), nullable=False, default=""),
    Column("locale", String(10), nullable=False),
    Column("reference", String(32), nullable=False, default=""),
    Column("subject", Text, nullable=False, default=""),
    Column("body_text", Text, nullable=False, default=""),
    Column("body_html", Text, nullable=False, default=""),
    # queued | sent | delivered (sms) | failed | skipped | unknown (sms: the answer was lost, domain.lost_answers)
    Column("status", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),  # last status change (timeline time of failed/skipped)
    Column("sent_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("smtp_message_id", String(255), nullable=True),  # assigned when queued; retries reuse it
    Column("timezone", String(64), nullable=True),  # the estate's zone: quiet hours at send time (sms)
    Column("deferred_until", UTCDateTime, nullable=True),  # held back by quiet hours until then (sms)
    Column("provider_message_id", String(255), nullable=True),  # the SMS provider's id, if it gives one
    Column("dlr_token", String(64), nullable=True),  # secret in this SMS's delivery-report URL
    Column("dlr_type", Integer, nullable=True),  # latest Kannel DLR type (1, 2, 4, 8, 16)
    Column("dlr_reply", Text, nullable=True),
    Column("dlr_at", UTCDateTime, nullable=True),
    Column("dlr_attempt", Integer, nullable=True),  # the attempt the latest DLR's URL names (``a``)
    Column("ambiguous_at", UTCDateTime, nullable=True),  # the latest send whose answer was lost (DLR wait from it)
    Column("ambiguous_retries", Integer, nullable=True),  # sends made after a DLR wait passed with no report
    Column("urgent", Boolean, nullable=True),  # sent in quiet hours too (an owner update of an urgent case)
    Column("wechat_app_id", String(32), nullable=True),  # channel wechat: the sending official account
    # channel wechat: the SMS {to, text, urgent} queued if WeChat fails, the template message planned
    # {template: {message, data, url, window_until}} and, once sent, {via: customer_service | template}
    Column("fallback", JSON, nullable=True),
    Index("ix_messages_due", "status", "next_attempt_at"),
    Index("ix_messages_complaint", "tenant_id", "complaint_id", "created_at"),
)

callbacks = Table(
    "callbacks", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("reference", String(32), nullable=False, default=""),
    Column("estate_code", String(40), nullable=False),
    Column("resolved_by", String(64), nullable=True),  # may not claim it
    Column("resolved_at", UTCDateTime, nullable=False),
    Column("round", Integer, nullable=False, default=1),  # 1 + earlier dissatisfied callbacks of the complaint
    Column("status", String(12), nullable=False),  # open | claimed | done | escalated
    Column("attempts", Integer, nullable=False, default=0),
    Column("due_at", UTCDateTime, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=True),  # retry schedule after a failed attempt
    Column("claimed_by", String(64), nullable=True),
    Column("claimed_at", UTCDateTime, nullable=True),
    Column("outcome", String(20), nullable=True),  # the latest attempt's outcome
    Column("satisfaction", String(20), nullable=True),
    Column("words", Text, nullable=True),
    Column("valid", Boolean, nullable=True),
    Column("solved", Boolean, nullable=True),
    Column("completed_by", String(64), nullable=True),  # a user id, or "owner" (survey)
    Column("completed_at", UTCDateTime, nullable=True),
    Column("survey_token", String(64), nullable=True),  # SHA-256 of the token in the SMS link
    Column("survey_sent_at", UTCDateTime, nullable=True),
    Column("survey_message_id", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_callbacks_queue", "tenant_id", "status", "due_at"),
    Index("ix_callbacks_complaint", "tenant_id", "complaint_id", "created_at"),
    Index("ux_callbacks_survey_token", "survey_token", unique=True),
)

callback_attempts = Table(
    "callback_attempts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("callback_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(64), nullable=True),
    Column("outcome", String(20), nullable=False),
    Column("satisfaction", String(20), nullable=True),
    Column("words", Text, nullable=True),
    Index("ix_callback_attempts_callback", "tenant_id", "callback_id", "at"),
)

# Head-office forwards (上级转办, seed 001 part 5 §4.1.4: report back when done): the superior and their
# instructions, kept from ``case_opened`` until the case closes, when ``superior.on_case_closed`` queues the
# report (e-mail and/or SMS) and stamps ``reported_at`` in the same transaction.
superior_reports = Table(
    "superior_reports", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False, default=""),
    Column("estate_name", String(100), nullable=False, default=""),
    Column("timezone", String(64), nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("superior_name", String(50), nullable=False),
    Column("superior_title", String(50), nullable=False, default=""),
    Column("superior_phone", String(20), nullable=False, default=""),
    Column("superior_email", String(254), nullable=False, default=""),
    Column("instructions", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime, nullable=False),
    Column("reported_at", UTCDateTime, nullable=True),  # when the report was queued (null: case not closed yet)
    Column("closed_reason", String(40), nullable=True),  # owner_accepted | callback_satisfied
)

# Outgoing webhooks (webhooks.py): a tenant's endpoints and one delivery row per (endpoint, event), so an event
# delivered twice to notify is still posted once, and every attempt's result is kept for the delivery log.
webhook_endpoints = Table(
    "webhook_endpoints", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("url", String(500), nullable=False),
    Column("secret", String(200), nullable=False),
    Column("events", JSON, nullable=False),  # [] = every event type
    Column("description", String(200), nullable=False, default=""),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(36), nullable=True),
)

webhook_deliveries = Table(
    "webhook_deliveries", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("endpoint_id", String(36), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the exact bytes posted (and signed), UTF-8 JSON
    Column("status", String(10), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("tenant_id", "endpoint_id", "event_id", name="uq_webhook_deliveries_event"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    Index("ix_webhook_deliveries_endpoint", "tenant_id", "endpoint_id", "created_at"),
)

# Issue 6 (owner updates, staff alerts, opt-outs, callback reminders; owner_updates.py, staff.py, opt_outs.py,
# reminders.py). The owner's contacts from ``case_opened`` (later case events carry none), kept per complaint.
owner_contacts = Table(
    "owner_contacts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("complaint_id", String(36), primary_key=True),
    Column("reference", String(32), nullable=False, default=""),
    Column("estate_code", String(40), nullable=False, default=""),
    Column("estate_name", String(100), nullable=False, default=""),
    Column("timezone", String(64), nullable=True),
    Column("name", String(50), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("locale", String(10), nullable=False),
    Column("severity", String(40), nullable=True),  # the case's severity: "urgent"/"major" ignore quiet hours
    Column("created_at", UTCDateTime, nullable=False),
    Column("wechat_app_id", String(32), nullable=True),  # a WeChat complaint: the account and the owner's openid
    Column("wechat_openid", String(64), nullable=True),
)

# Staff who get SLA warnings, breaches, escalations and overdue-callback reminders: notify does not own users
# (the gateway does), so each tenant keeps its alert recipients here (role, estate or null = every estate).
staff_contacts = Table(
    "staff_contacts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("role", String(40), nullable=False),
    Column("estate_code", String(40), nullable=True),
    Column("name", String(100), nullable=False, default=""),
    Column("email", String(254), nullable=False, default=""),
    Column("phone", String(40), nullable=False, default=""),
    Column("locale", String(10), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_staff_contacts_role", "tenant_id", "role", "estate_code"),
)

# Owners who replied "TD"/"退订" by SMS: no more non-essential SMS to that number from that tenant.
sms_opt_outs = Table(
    "sms_opt_outs", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("phone", String(20), primary_key=True),  # national form, 13812345678
    Column("keyword", String(20), nullable=False),
    Column("opted_out_at", UTCDateTime, nullable=False),
)

# One overdue reminder per callback task and local day (the estate's zone).
callback_reminders = Table(
    "callback_reminders", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("callback_id", String(36), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD
    Column("recipients", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
)

# Per-recipient SMS throttling counts a number's recent sends.
Index("ix_messages_recipient_sent", messages.c.channel, messages.c.recipient, messages.c.sent_at)


# Tenant and estate overrides of the message templates (template_overrides.py): one row per (estate or null =
# the whole tenant, message, locale, part); ``id`` is derived from that key, so two saves racing to create the
# same override cannot both insert (estate is nullable, which a unique constraint would not cover).
template_overrides = Table(
    "template_overrides", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=True),
    Column("message", String(40), nullable=False),
    Column("locale", String(10), nullable=False),
    Column("part", String(20), nullable=False),  # subject | body_txt | body_html | sms
    Column("source", Text, nullable=False),
    Column("version", Integer, nullable=False, default=1),  # +1 on every save of the part
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=True),
    Index("ix_template_overrides_message", "tenant_id", "message", "locale"),
)


# Managers' daily digest (digest.py, domain/digest.py): the tenant's setting (no row = on, 08:00 Asia/Shanghai),
# one row per (recipient, local day) claimed with INSERT ... ON CONFLICT DO NOTHING in the transaction that queues
# the e-mail (two replicas or a restart never send it twice), and one per (tenant, day) once the run is done.
digest_settings = Table(
    "digest_settings", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("hour", Integer, nullable=False, default=8),  # local hour 0-23
    Column("timezone", String(64), nullable=False, default="Asia/Shanghai"),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=True),
)

manager_digests = Table(
    "manager_digests", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("day", String(10), primary_key=True),  # the local date of the digest, YYYY-MM-DD
    Column("recipient", String(254), primary_key=True),  # the e-mail address, lower case
    Column("id", String(36), nullable=False),  # the message's complaint_id (its delivery log)
    Column("message_id", String(36), nullable=True),
    Column("quiet", Boolean, nullable=False, default=False),  # nothing to report: the short "all quiet" mail
    Column("created_at", UTCDateTime, nullable=False),
)

digest_runs = Table(
    "digest_runs", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("day", String(10), primary_key=True),
    Column("recipients", Integer, nullable=False, default=0),  # e-mails queued by this run
    Column("created_at", UTCDateTime, nullable=False),
)

# Staff who asked for no more of a kind of e-mail (``daily_digest``), per tenant and address (lower case).
staff_opt_outs = Table(
    "staff_opt_outs", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("email", String(254), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("created_by", String(64), nullable=True),
)

# A tenant's own outgoing mail server (发件邮箱; mail_settings.py, tenant_smtp.py): one row per tenant, mode
# ``platform`` (the operator's SMTP_* server; the other columns empty) or ``custom``. ``password`` is only ever
# ``enc:v1:<Fernet token>`` (ESTATEDESK_SECRETS_KEY) and never leaves notify: the RPCs answer ``password_set``.
mail_settings = Table(
    "mail_settings", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("mode", String(10), nullable=False),  # platform | custom
    Column("host", String(253), nullable=False, default=""),
    Column("port", Integer, nullable=True),
    Column("security", String(10), nullable=True),  # none | starttls | tls
    Column("username", String(254), nullable=False, default=""),
    Column("password", Text, nullable=True),
    Column("from_address", String(254), nullable=False, default=""),
    Column("from_name", String(100), nullable=False, default=""),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(64), nullable=True),
)
