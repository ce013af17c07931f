"""User administration of one tenant by its group admins: list, create (one-time initial password), change
display name, e-mail address, active flag and roles.

Roles are ``[role, estate or None]`` pairs; the role must be one of ``tables.ROLES`` and the estate one of the
tenant's estates (the caller passes intake's codes; the gateway does not own estates). Deactivating a user or
changing their roles bumps ``token_version``, so their bearer tokens stop at the next request (pages re-read
the user at every click anyway). An admin cannot deactivate themselves or drop their own group_admin role:
a tenant must not lose its last way in by a slip. Every change goes to the audit log with before/after, in
the same transaction.

The e-mail address is optional and only used to mail the user a password reset link they asked for
(``passwords.request_reset``); an empty value removes it. Its audit entry is masked like every detail.
"""
from __future__ import annotations

import re
import secrets
import uuid

from sqlalchemy import delete, func, select, update

from estatedesk_common.db import utcnow

from . import accounts, audit
from .tables import ROLES, user_roles, users

_PASSWORD_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789"
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
MAX_EMAIL = 254


class UserRefused(Exception):
    """``code`` (API error code) and ``field``: username_taken, unknown_role, unknown_estate, cannot_change_self,
    invalid_email."""

    def __init__(self, code: str, field: str):
        super().__init__(code)
        self.code, self.field = code, field


def initial_password() -> str:
    """16 characters from 54 (about 92 bits): passes the policy, shown once to the admin."""
    return "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(16))


def clean_email(value) -> str | None:
    """The address to store (stripped), None for empty; ``UserRefused("invalid_email")`` when it is not one."""
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    if len(value) > MAX_EMAIL or not _EMAIL.match(value) or any(ord(c) < 32 for c in value):
        raise UserRefused("invalid_email", "email")
    return value


def _user_dict(row, roles) -> dict:
    return {"id": row.id, "username": row.username, "display_name": row.display_name, "email": row.email,
            "active": bool(row.active),
            "roles": [[role, estate] for role, estate in roles], "totp_enabled": row.totp_enabled_at is not None,
            "created_at": row.created_at.isoformat(),
            "password_changed_at": row.password_changed_at.isoformat() if row.password_changed_at else None}


_COLUMNS = (users.c.id, users.c.username, users.c.display_name, users.c.email, users.c.active, users.c.created_at,
            users.c.password_changed_at, users.c.totp_enabled_at)


def list_users(conn, tenant_id: str, limit: int = 200, offset: int = 0) -> dict:
    rows = conn.execute(select(*_COLUMNS).where(users.c.tenant_id == tenant_id)
                        .order_by(users.c.username).limit(limit).offset(offset)).all()
    total = conn.execute(select(func.count()).select_from(users).where(users.c.tenant_id == tenant_id)).scalar_one()
    grants: dict[str, list] = {}
    for g in conn.execute(select(user_roles.c.user_id, user_roles.c.role, user_roles.c.estate_code)
                          .where(user_roles.c.tenant_id == tenant_id)
                          .order_by(user_roles.c.role, user_roles.c.estate_code)):
        grants.setdefault(g.user_id, []).append((g.role, g.estate_code))
    return {"items": [_user_dict(r, grants.get(r.id, [])) for r in rows], "total": total, "limit": limit,
            "offset": offset}


def get_user(conn, tenant_id: str, user_id: str) -> dict | None:
    row = conn.execute(select(*_COLUMNS).where(users.c.tenant_id == tenant_id, users.c.id == user_id)).first()
    return None if row is None else _user_dict(row, accounts.roles_of(conn, tenant_id, user_id))


def check_roles(roles, estates: set[str]) -> list[tuple[str, str | None]]:
    """The pairs, deduplicated and sorted; ``UserRefused`` naming the first bad one."""
    checked = set()
    for i, (role, estate) in enumerate(roles):
        if role not in ROLES:
            raise UserRefused("unknown_role", f"roles.{i}")
        if estate is not None and estate not in estates:
            raise UserRefused("unknown_estate", f"roles.{i}")
        checked.add((role, estate))
    return sorted(checked, key=lambda p: (p[0], p[1] or ""))


def _set_roles(conn, tenant_id: str, user_id: str, roles) -> None:
    conn.execute(delete(user_roles).where(user_roles.c.tenant_id == tenant_id, user_roles.c.user_id == user_id))
    for role, estate in roles:
        conn.execute(user_roles.insert().values(tenant_id=tenant_id, id=str(uuid.uuid4()), user_id=user_id,
                                                role=role, estate_code=estate))


def create_user(conn, tenant_id: str, username: str, display_name: str, roles, estates: set[str],
                email: str | None = None) -> dict:
    """The new user (active) with ``initial_password`` (the only time it is shown)."""
    roles = check_roles(roles, estates)
    email = clean_email(email)
    if conn.execute(select(users.c.id).where(users.c.username == username)).first():
        raise UserRefused("username_taken", "username")  # usernames are global logins
    password, user_id = initial_password(), str(uuid.uuid4())
    conn.execute(users.insert().values(
        tenant_id=tenant_id, id=user_id, username=username, display_name=display_name, email=email,
        password_hash=accounts.hash_password(password), active=True, created_at=utcnow(), token_version=0))
    _set_roles(conn, tenant_id, user_id, roles)
    audit.record(conn, tenant_id, "user_created", target_kind="user", target_id=user_id,
                 detail={"username": username, "roles": [list(r) for r in roles], "email": email,
                         "changes": audit.changes({}, {"username": username, "display_name": display_name,
                                                       "email": email, "roles": [list(r) for r in roles],
                                                       "active": True})})
    created = get_user(conn, tenant_id, user_id)
    created["initial_password"] = password
    return created


def update_user(conn, tenant_id: str, user_id: str, changes: dict, actor_id: str, estates: set[str]) -> dict | None:
    """Apply ``display_name``, ``email``, ``active``, ``roles`` (each optional); None when the user is not the
    tenant's."""
    before = get_user(conn, tenant_id, user_id)
    if before is None:
        return None
    values, bump = {}, False
    if "display_name" in changes and changes["display_name"] != before["display_name"]:
        values["display_name"] = changes["display_name"]
        audit.record(conn, tenant_id, "user_updated", target_kind="user", target_id=user_id,
                     detail={"display_name": [before["display_name"], changes["display_name"]],
                             "changes": audit.changes({"display_name": before["display_name"]},
                                                      {"display_name": changes["display_name"]})})
    if "email" in changes and clean_email(changes["email"]) != before["email"]:
        values["email"] = clean_email(changes["email"])
        audit.record(conn, tenant_id, "user_email_changed", target_kind="user", target_id=user_id,
                     detail={"email": [before["email"], values["email"]],
                             "changes": audit.changes({"email": before["email"]}, {"email": values["email"]})})
    if "active" in changes and changes["active"] != before["active"]:
        if user_id == actor_id and not changes["active"]:
            raise UserRefused("cannot_change_self", "active")
        values["active"], bump = changes["active"], True
        audit.record(conn, tenant_id, "user_reactivated" if changes["active"] else "user_deactivated",
                     target_kind="user", target_id=user_id, detail={
                         "username": before["username"],
                         "changes": audit.changes({"active": before["active"]}, {"active": changes["active"]})})
    if "roles" in changes:
        roles = check_roles(changes["roles"], estates)
        if user_id == actor_id and not any(role == "group_admin" for role, _ in roles):
            raise UserRefused("cannot_change_self", "roles")
        if [list(r) for r in roles] != before["roles"]:
            _set_roles(conn, tenant_id, user_id, roles)
            bump = True
            audit.record(conn, tenant_id, "user_roles_changed", target_kind="user", target_id=user_id,
                         detail={"before": before["roles"], "after": [list(r) for r in roles],
                                 "changes": audit.changes({"roles": before["roles"]},
                                                          {"roles": [list(r) for r in roles]})})
    if bump:
        values["token_version"] = users.c.token_version + 1
    if values:
        conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(**values))
    return get_user(conn, tenant_id, user_id)
