"""intake's own tables: the estate directory, the canonical complaints, classification, the mailbox channel
(+ outbox/inbox)."""
from sqlalchemy import (JSON, BigInteger, Boolean, Column, Float, ForeignKeyConstraint, Index, Integer, LargeBinary,
                        MetaData, String, Table, Text, UniqueConstraint, true)

from estatedesk_common.db import UTCDateTime
from estatedesk_common.unit_of_work import ReliabilityTables

metadata = MetaData()
reliability = ReliabilityTables(metadata)

regions = Table(
    "regions", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("name", String(100), nullable=False),
    # regions administration (regions_admin.py, revision a10r1e2g3i4o): deactivated rather than deleted
    # (estates and workflow's ``region:<code>`` policies name it), and who saved it last
    Column("active", Boolean, nullable=False, server_default=true(), default=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("updated_by", String(36), nullable=True),
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
    # estates administration (estates_admin.py, revision a8e1s2t3a4t5): the registered units head office declares
    # (null: counted from the ``units`` directory below), postal address, deactivated rather than deleted
    # (complaints reference estates), and who saved it last
    Column("address", String(200), nullable=False, server_default="", default=""),
    Column("units", Integer, nullable=True),
    Column("active", Boolean, nullable=False, server_default=true(), default=True),
    Column("updated_at", UTCDateTime, nullable=True),
    Column("updated_by", String(36), nullable=True),
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
    # unit directory administration (estate_units.py, revision a10r1e2g3i4o): optional floor (basements
    # negative) and floor area in square metres
    Column("floor", Integer, nullable=True),
    Column("area", Float, nullable=True),
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
    # forwarded channels (domain/forwarded.py): committee -> when the owner told the committee; head_office ->
    # the superior {name, title, phone, email} and their instructions
    Column("committee_received_at", UTCDateTime, nullable=True),
    Column("forwarded_by", JSON, nullable=True),
    Column("instructions", Text, nullable=True),
    Column("call_id", String(100), nullable=True),  # hotline: the call it was recorded from (calls.call_id)
    UniqueConstraint("tenant_id", "reference", name="uq_complaints_reference"),
    ForeignKeyConstraint(["tenant_id", "estate_code"], ["estates.tenant_id", "estates.code"]),
    Index("ix_complaints_estate_received", "tenant_id", "estate_code", "received_at"),
    # duplicates and repeats (duplicates.py, domain/duplicates.py): the channel's message id (unique per tenant
    # and channel; NULLs do not collide), the closed complaint this one repeats and how many in a row, and when
    # workflow closed its case (from case_closed / owner_accepted)
    Column("external_id", String(128), nullable=True),
    Column("repeat_of", String(36), nullable=True),
    Column("repeat_count", Integer, nullable=False, server_default="0", default=0),
    Column("closed_at", UTCDateTime, nullable=True),
    # where in the estate (revision a9l1o2c3a4t5): building / facility named with the complaint, for reporting's
    # location hot spots; null when not given
    Column("location_building", String(40), nullable=True),
    Column("location_facility", String(40), nullable=True),
    # the case's status as workflow last announced it (revision a11c1o2m3m4t, case_status.py): null until the case
    # is opened; ``case_version`` (the case's version) and ``case_status_at`` decide whether an event is newer
    Column("case_status", String(20), nullable=True),
    Column("case_version", Integer, nullable=True),
    Column("case_status_at", UTCDateTime, nullable=True),
    Index("ix_complaints_case_status", "tenant_id", "case_status", "received_at"),
    Index("uq_complaints_external_id", "tenant_id", "channel", "external_id", unique=True),
    Index("ix_complaints_phone", "tenant_id", "complainant_phone", "estate_code"),
    Index("ix_complaints_email", "tenant_id", "complainant_email", "estate_code"),
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

# Notes on a complaint's timeline after it was received (e.g. the owner's e-mail reply).
complaint_notes = Table(
    "complaint_notes", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("kind", String(40), nullable=False),          # email_reply
    Column("actor", String(254), nullable=False),        # who: a user id or the sender's address
    Column("text", Text, nullable=False),
    Column("source", String(40), nullable=True),         # the mail_messages row it came from
    Column("data", JSON, nullable=True),                 # duplicate_merged: the merged submission as received
    ForeignKeyConstraint(["tenant_id", "complaint_id"], ["complaints.tenant_id", "complaints.id"]),
    Index("ix_complaint_notes_complaint", "tenant_id", "complaint_id", "at"),
)

# Files kept with a complaint (mail attachments, scanned letters). In the database, not on disk: they commit
# atomically with the complaint, every replica sees them, and backups include them (size-limited per file).
complaint_attachments = Table(
    "complaint_attachments", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("complaint_id", String(36), nullable=False),
    Column("filename", String(200), nullable=False),
    Column("content_type", String(100), nullable=False),
    Column("size", Integer, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("source", String(40), nullable=True),         # the mail_messages row it came from
    Column("created_at", UTCDateTime, nullable=False),
    ForeignKeyConstraint(["tenant_id", "complaint_id"], ["complaints.tenant_id", "complaints.id"]),
    Index("ix_complaint_attachments_complaint", "tenant_id", "complaint_id"),
)

# The mailbox channel: per-tenant IMAP accounts polled by intake (dependencies.MailboxPoller).
# ``password`` is stored as given (a known gap: not encrypted at rest; never logged or returned by RPC). The
# form ``env:VAR`` reads it from the service's environment instead, which keeps real secrets out of the table.
mailboxes = Table(
    "mailboxes", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("estate_code", String(40), nullable=False),   # default estate for mails without an [ESTATE] tag
    Column("host", String(255), nullable=False),
    Column("port", Integer, nullable=False),
    Column("username", String(254), nullable=False),
    Column("password", String(500), nullable=False),
    Column("folder", String(200), nullable=False, default="INBOX"),
    Column("use_ssl", Boolean, nullable=False, default=True),
    Column("enabled", Boolean, nullable=False, default=False),
    Column("uidvalidity", BigInteger, nullable=True),
    Column("last_uid", BigInteger, nullable=False, default=0),  # highest UID handled (committed) so far
    Column("last_polled_at", UTCDateTime, nullable=True),
    Column("last_error", Text, nullable=True),
    ForeignKeyConstraint(["tenant_id", "estate_code"], ["estates.tenant_id", "estates.code"]),
)

# Every message taken from a mailbox (its raw source kept for audit), with what became of it. The unique
# Message-ID per tenant makes a second copy a no-op, also when two replicas poll the same mailbox.
mail_messages = Table(
    "mail_messages", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("mailbox_id", String(36), nullable=False),
    Column("message_id", String(255), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("from_addr", String(254), nullable=False),
    Column("subject", Text, nullable=False),
    Column("outcome", String(20), nullable=False),       # complaint | reply | ignored
    Column("reason", Text, nullable=True),               # for ignored: why (auto-reply, bounce...)
    Column("complaint_id", String(36), nullable=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("raw", LargeBinary, nullable=False),
    UniqueConstraint("tenant_id", "message_id", name="uq_mail_messages_message_id"),
    Index("ix_mail_messages_outcome", "tenant_id", "outcome", "received_at"),
)

# Messages that could not become anything (too big, unparseable, invalid): for an operator; the message is
# flagged in the mailbox and never retried automatically.
mail_rejects = Table(
    "mail_rejects", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("mailbox_id", String(36), nullable=False),
    Column("uidvalidity", BigInteger, nullable=False),
    Column("uid", BigInteger, nullable=False),
    Column("message_id", String(255), nullable=True),
    Column("from_addr", String(254), nullable=True),
    Column("subject", Text, nullable=True),
    Column("size", Integer, nullable=True),
    Column("reason", Text, nullable=False),
    Column("raw", LargeBinary, nullable=True),           # the source when small enough, else the headers only
    Column("rejected_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "mailbox_id", "uidvalidity", "uid", name="uq_mail_rejects_uid"),
)

# The WeChat official-account channel (wechat_intake.py): per-tenant accounts (app id, token, EncodingAESKey;
# ``env:NAME`` reads a secret from the service's environment, as for mailbox passwords; never logged nor returned
# by RPC), every accepted message with its raw XML (MsgId unique per tenant: WeChat's retries get the same
# reply) and every refused request, for an operator.
wechat_accounts = Table(
    "wechat_accounts", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("app_id", String(32), nullable=False),
    Column("token", String(500), nullable=False),
    Column("aes_key", String(500), nullable=True),       # null: plaintext mode only
    # AppSecret (sealed like the token): notify's customer-service replies (``get_wechat_credentials``); null: none
    Column("app_secret", String(500), nullable=True),
    Column("estate_code", String(40), nullable=False),   # the estate its complaints are registered for
    Column("enabled", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "app_id", name="uq_wechat_accounts_app_id"),
    ForeignKeyConstraint(["tenant_id", "estate_code"], ["estates.tenant_id", "estates.code"]),
)

wechat_messages = Table(
    "wechat_messages", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=False),
    Column("msg_id", String(128), nullable=False),       # MsgId; events: event:<openid>:<CreateTime>:<Event>
    Column("openid", String(64), nullable=False),
    Column("msg_type", String(20), nullable=False),
    Column("outcome", String(20), nullable=False),       # complaint | followup | pending | ignored | unsupported
    Column("complaint_id", String(36), nullable=True),
    Column("phone", String(20), nullable=True),          # a phone number the owner gave in this message
    Column("text", Text, nullable=True),                 # the text taken from it (content or voice recognition)
    Column("reply", Text, nullable=False),               # the passive reply's text (sent again on a retry)
    Column("encrypted", Boolean, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    Column("raw", LargeBinary, nullable=False),          # the message XML (decrypted when it came encrypted)
    Column("envelope", LargeBinary, nullable=True),      # the encrypted request body as received
    UniqueConstraint("tenant_id", "msg_id", name="uq_wechat_messages_msg_id"),
    Index("ix_wechat_messages_openid", "tenant_id", "openid", "received_at"),
)

wechat_rejects = Table(
    "wechat_rejects", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("account_id", String(36), nullable=True),
    Column("reason", String(40), nullable=False),        # the error code the sender got
    Column("detail", Text, nullable=False),
    Column("query", JSON, nullable=False),               # the callback's query arguments
    Column("size", Integer, nullable=False),
    Column("body", LargeBinary, nullable=True),          # the request body (up to 64 KiB)
    Column("rejected_at", UTCDateTime, nullable=False),
    Index("ix_wechat_rejects_at", "tenant_id", "rejected_at"),
)

# Template message (模板消息) ids of an account, per owner message (``wechat_accounts_admin.py``): notify sends the
# template when the 48-hour customer-service window is closed. One row per (account, message); no row = none.
wechat_templates = Table(
    "wechat_templates", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("account_id", String(36), primary_key=True),
    Column("message", String(40), primary_key=True),    # acknowledgement | progress | resolved | callback_survey
    Column("template_id", String(64), nullable=False),  # the id WeChat gave the template in the account's library
    Column("updated_at", UTCDateTime, nullable=False),
    Column("updated_by", String(36), nullable=True),
    ForeignKeyConstraint(["tenant_id", "account_id"], ["wechat_accounts.tenant_id", "wechat_accounts.id"]),
)

# Hotline calls as the telephone system (CTI) reports them (``calls.py``, ``domain/calls.py``): one row per call,
# keyed by the CTI's ``call_id`` (unique per tenant); ``call_events`` keeps each event as received, and its key
# makes a repeated event a no-op. ``complaint_id``: the first complaint recorded from the call (every complaint
# recorded from it carries ``complaints.call_id``).
calls = Table(
    "calls", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("call_id", String(100), nullable=False),
    Column("caller", String(32), nullable=False, default=""),
    Column("called", String(32), nullable=False, default=""),
    Column("state", String(10), nullable=False),          # ringing | answered | ended
    Column("estate_code", String(40), nullable=True),     # given by the CTI, or the known caller's only estate
    Column("agent_user_id", String(36), nullable=True),   # who answered (the CTI's agent, or who recorded it)
    Column("agent_ref", String(150), nullable=True),      # the CTI's "agent" as given
    Column("started_at", UTCDateTime, nullable=False),
    Column("answered_at", UTCDateTime, nullable=True),
    Column("ended_at", UTCDateTime, nullable=True),
    Column("complaint_id", String(36), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "call_id", name="uq_calls_call_id"),
    ForeignKeyConstraint(["tenant_id", "complaint_id"], ["complaints.tenant_id", "complaints.id"]),
    Index("ix_calls_state_started", "tenant_id", "state", "started_at"),
)

call_events = Table(
    "call_events", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("call_id", String(100), primary_key=True),
    Column("event", String(10), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("payload", JSON, nullable=False),              # the event as the gateway passed it on
)

# Committee batch imports (committee.register_batch): one row per imported file, written in the transaction of
# its complaints. The file's SHA-256 is unique per tenant, so a file sent twice (a retry after a timeout, a
# double click) is refused as already imported instead of importing every row again.
committee_batches = Table(
    "committee_batches", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("file_sha256", String(64), nullable=False),
    Column("filename", String(200), nullable=False, default=""),
    Column("rows", Integer, nullable=False),
    Column("complaint_ids", JSON, nullable=False),
    Column("created_by", String(36), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("tenant_id", "file_sha256", name="uq_committee_batches_file"),
)
