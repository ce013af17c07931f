"""Tenants, users and roles: the repository the login and ``/me`` read, and the demo seed.

Passwords are argon2id hashes with argon2-cffi's defaults (RFC 9106 low-memory: t=3, m=64 MiB, p=4). A login for
an unknown user still runs one verification against a dummy hash, so response time does not reveal which usernames
exist. ``GATEWAY_PASSWORD_HASH_PROFILE=cheapest`` (read at import) swaps in argon2-cffi's profile for tests; the unit
tests set it (a verification costs ~90 ms otherwise), the running system and the end-to-end tests never do. A hash
records its own parameters, so logins keep working whichever profile made it.
"""
from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from sqlalchemy import select, update

from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_GROUPS, DEMO_PASSWORD, demo_id

from . import api_keys
from .tables import tenants, user_roles, users

log = logging.getLogger(__name__)

_PROFILES = {"default": None, "cheapest": "CHEAPEST"}


def _make_hasher(profile: str) -> PasswordHasher:
    if profile not in _PROFILES:
        raise ValueError(f"GATEWAY_PASSWORD_HASH_PROFILE must be one of {sorted(_PROFILES)}, not {profile!r}")
    if _PROFILES[profile] is None:
        return PasswordHasher()
    from argon2 import profiles
    return PasswordHasher.from_parameters(getattr(profiles, _PROFILES[profile]))


_hasher = _make_hasher(os.environ.get("GATEWAY_PASSWORD_HASH_PROFILE") or "default")
_DUMMY_HASH = _hasher.hash(uuid.uuid4().hex)


@dataclass(frozen=True)
class Principal:
    """Who is calling: decided by the gateway (login or token), never by the request body."""

    tenant_id: str
    user_id: str
    roles: tuple[tuple[str, str | None], ...]
    token_version: int = 0  # ``users.token_version`` when the principal was read (bearer tokens carry it)

    def has_role(self, *names: str) -> bool:
        return any(role in names for role, _ in self.roles)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str, password: str) -> bool:
    return _verify(password_hash, password)


def tenant_of(conn, username: str) -> tuple[str, str] | None:
    """``(tenant id, user id)`` of a login name, or None (the audit log of a failed login needs the tenant)."""
    row = conn.execute(select(users.c.tenant_id, users.c.id).where(users.c.username == username)).first()
    return None if row is None else (row.tenant_id, row.id)


def roles_of(conn, tenant_id: str, user_id: str) -> tuple[tuple[str, str | None], ...]:
    rows = conn.execute(
        select(user_roles.c.role, user_roles.c.estate_code)
        .where(user_roles.c.tenant_id == tenant_id, user_roles.c.user_id == user_id)
        .order_by(user_roles.c.role, user_roles.c.estate_code)
    ).all()
    return tuple((row.role, row.estate_code) for row in rows)


def authenticate(conn, username: str, password: str) -> Principal | None:
    """The principal for valid, active credentials; None otherwise (one answer for every failure)."""
    row = conn.execute(
        select(users.c.tenant_id, users.c.id, users.c.password_hash, users.c.active, users.c.token_version)
        .where(users.c.username == username)
    ).first()
    if row is None:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(row.password_hash, password) or not row.active:
        return None
    return Principal(row.tenant_id, row.id, roles_of(conn, row.tenant_id, row.id), row.token_version or 0)


def profile(conn, tenant_id: str, user_id: str) -> dict | None:
    """Username, display name, tenant and roles of an active user of ``tenant_id``."""
    row = conn.execute(
        select(users.c.username, users.c.display_name, users.c.token_version, tenants.c.id.label("tenant_id"),
               tenants.c.slug, tenants.c.name)
        .join(tenants, tenants.c.id == users.c.tenant_id)
        .where(users.c.tenant_id == tenant_id, users.c.id == user_id, users.c.active.is_(True))
    ).first()
    if row is None:
        return None
    return {
        "id": user_id,
        "username": row.username,
        "display_name": row.display_name,
        "tenant": {"id": row.tenant_id, "slug": row.slug, "name": row.name},
        "roles": [{"role": role, "estate": estate} for role, estate in roles_of(conn, tenant_id, user_id)],
        "token_version": row.token_version or 0,
    }


def display_names(conn, tenant_id: str, user_ids) -> dict[str, str]:
    """``{user id: display name}`` for those of ``user_ids`` that are users of ``tenant_id``."""
    wanted = {u for u in user_ids if u}
    if not wanted:
        return {}
    rows = conn.execute(select(users.c.id, users.c.display_name).where(
        users.c.tenant_id == tenant_id, users.c.id.in_(sorted(wanted))))
    return {row.id: row.display_name for row in rows}


def username_of(principal) -> str | None:
    """The signed-in user's username (routing rules and the duty roster assign cases by username)."""
    with current_app.extensions["db"].connect() as conn:
        return conn.execute(select(users.c.username).where(users.c.tenant_id == principal.tenant_id,
                                                           users.c.id == principal.user_id)).scalar()


def ensure_tenant(conn, tenant_id: str, slug: str, name: str) -> bool:
    if conn.execute(select(tenants.c.id).where(tenants.c.id == tenant_id)).first():
        return False
    conn.execute(tenants.insert().values(id=tenant_id, slug=slug, name=name, created_at=utcnow()))
    return True


def demo_email(username: str) -> str:
    """A demo user's address, as notify's demo staff contacts have it (``agent@demo`` -> ``agent@demo.example``,
    which the local mail sink accepts). DEMO ONLY."""
    return f"{username}.example"


def ensure_user(conn, tenant_id: str, user_id: str, username: str, display_name: str, password: str,
                roles, email: str | None = None) -> bool:
    """Create the user with its roles unless it exists (an existing user's password is left alone; an e-mail
    address is only filled in when it has none)."""
    exists = conn.execute(
        select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.id == user_id)
    ).first()
    if exists:
        if email:
            conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id,
                                             users.c.email.is_(None)).values(email=email))
        return False
    conn.execute(users.insert().values(
        tenant_id=tenant_id, id=user_id, username=username, display_name=display_name, email=email,
        password_hash=hash_password(password), active=True, created_at=utcnow()))
    for role, estate in roles:
        conn.execute(user_roles.insert().values(
            tenant_id=tenant_id, id=str(uuid.uuid4()), user_id=user_id, role=role, estate_code=estate))
    return True


def seed_demo(engine) -> str:
    """The demo tenants and their users (password DEMO_PASSWORD, e-mail ``demo_email``). Safe to run again."""
    created, total = 0, 0
    with engine.begin() as conn:
        for tenant, _regions, _estates, people in DEMO_GROUPS:
            ensure_tenant(conn, tenant["id"], tenant["slug"], tenant["name_zh"])
            created += sum(
                ensure_user(conn, tenant["id"], demo_id("user", username), username, display_name, DEMO_PASSWORD,
                            roles, demo_email(username))
                for username, (display_name, roles) in people.items()
            )
            total += len(people)
        keys = api_keys.seed_demo(conn)  # DEMO ONLY: demo-api-key, other-api-key
    return f"({len(DEMO_GROUPS)} tenants, {created} new of {total} users, {keys} new API keys)"


def tenant_by_slug(conn, slug: str) -> dict | None:
    """``{"id","slug","name"}`` of the tenant with this URL slug (owner pages), or None."""
    row = conn.execute(select(tenants.c.id, tenants.c.slug, tenants.c.name).where(tenants.c.slug == slug)).first()
    return None if row is None else {"id": row.id, "slug": row.slug, "name": row.name}
