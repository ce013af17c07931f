"""The gateway's own tables: tenants, their users and the users' roles (SQLAlchemy Core).

``users.username`` is unique across tenants because it is the login: the tenant is decided by who logs in,
never by something the client says. ``user_roles.estate_code`` NULL means "every estate of the tenant"; a
NULL cannot sit in a primary key, so role grants have their own id.
"""
from __future__ import annotations

from sqlalchemy import (JSON, Boolean, CheckConstraint, Column, ForeignKey, ForeignKeyConstraint, Index, Integer,
                        MetaData, String, Table)

from estatedesk_common.db import UTCDateTime

ROLES = ("group_admin", "head_office", "site_manager", "cs_supervisor", "agent", "department_head",
         "committee_member")

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

tenants = Table(
    "tenants", metadata,
    Column("id", String(36), primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users", metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("username", String(150), nullable=False, unique=True),
    Column("display_name", String(100), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
    # bumped on deactivation, role change, password change/reset and TOTP reset: tokens carry it (``ver``)
    # and stop working once it moved (auth.py); migration 0004
    Column("token_version", Integer, nullable=False, default=0, server_default="0"),
    Column("password_changed_at", UTCDateTime, nullable=True),
    Column("totp_secret", String(64), nullable=True),  # base32; pending until totp_enabled_at is set
    Column("totp_enabled_at", UTCDateTime, nullable=True),
    Column("totp_last_step", Integer, nullable=True),  # the last accepted 30 s step: a code works once
    Column("email", String(254), nullable=True),  # for self-service password reset (passwords.py); 0005
)

user_roles = Table(
    "user_roles", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("role", String(32), nullable=False),
    Column("estate_code", String(40), nullable=True),
    ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE",
                         name="fk_user_roles_user"),
    CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLES) + ")", name="role_known"),
    Index("ix_user_roles_tenant_user", "tenant_id", "user_id"),
)

# Failed logins per username (console and token endpoint alike), for the lockout in ``lockout.py``. Not
# tenant-owned: the username is the global login name and may not even exist (unknown names are counted too,
# so the lockout does not reveal which usernames exist).
login_failures = Table(
    "login_failures", metadata,
    Column("username", String(150), primary_key=True),
    Column("failures", Integer, nullable=False, default=0),
    Column("last_failed_at", UTCDateTime, nullable=False),
    Column("locked_until", UTCDateTime, nullable=True),
)

# Per-tenant integration API keys (``api_keys.py``): only the SHA-256 hex of the key is kept; the key alone
# decides the tenant, so its hash is unique across tenants. ``scopes`` is a JSON list ("open311", "cti").
api_keys = Table(
    "api_keys", metadata,
    Column("tenant_id", String(36), ForeignKey("tenants.id"), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("prefix", String(8), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("scopes", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
    Column("last_used_at", UTCDateTime, nullable=True),
)

# Who did what (audit.py, migration 0004): append-only, no update or delete path exists in the code. Logins of
# unknown usernames have no tenant and go to the application log only. ``detail`` is PII-masked JSON.
audit_log = Table(
    "audit_log", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("at", UTCDateTime, nullable=False),
    Column("user_id", String(36), nullable=True),
    Column("username", String(150), nullable=True),
    Column("action", String(64), nullable=False),
    Column("target_kind", String(32), nullable=True),
    Column("target_id", String(64), nullable=True),
    Column("detail", JSON, nullable=False),
    Column("request_id", String(128), nullable=True),
    Column("ip", String(64), nullable=True),
    Index("ix_audit_log_tenant_at", "tenant_id", "at"),
)

# One-time password reset links, issued by a group_admin or asked for by the user ("forgot password": then
# ``created_by`` is "self-service"; passwords.py): only the SHA-256 of the token is kept.
password_resets = Table(
    "password_resets", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(36), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE",
                         name="fk_password_resets_user"),
)

# TOTP recovery codes (totp.py): ten per enrolment, argon2-hashed, each usable once.
recovery_codes = Table(
    "recovery_codes", metadata,
    Column("tenant_id", String(36), primary_key=True),
    Column("id", String(36), primary_key=True),
    Column("user_id", String(36), nullable=False),
    Column("code_hash", String(255), nullable=False),
    Column("used_at", UTCDateTime, nullable=True),
    ForeignKeyConstraint(["tenant_id", "user_id"], ["users.tenant_id", "users.id"], ondelete="CASCADE",
                         name="fk_recovery_codes_user"),
    Index("ix_recovery_codes_tenant_user", "tenant_id", "user_id"),
)
