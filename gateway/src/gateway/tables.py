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
