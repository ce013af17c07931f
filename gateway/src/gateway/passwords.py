"""Password policy, changing one's own password and one-time reset links, issued by a group admin or asked for
by the user ("forgot password").

Policy (``problem``): at least 10 characters (at most 1024), not the username (nor its part before ``@``), not in
a short list of the most common passwords (checked case-insensitively). Hashes are argon2id (``accounts``).

Reset: a group admin asks for a link for one of the tenant's users; the token (``token_urlsafe(32)``) is shown
to the admin once and only its SHA-256 is stored, valid one hour and once; a newer link supersedes an older
unused one. Self-service (``request_reset``): anyone may ask for a link for a username; only an active user
with an e-mail address gets one (``created_by`` "self-service"), mailed by notify, and the caller answers the
same whatever happened (``blueprints/console_forgot.py``). Every change and reset bumps ``token_version``
(tokens already issued stop working) and clears the login lockout for the username.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

from sqlalchemy import select, update

from estatedesk_common.db import utcnow

from . import accounts, audit, lockout
from .tables import password_resets, users

MIN_LENGTH = 10
MAX_LENGTH = 1024
RESET_TTL = dt.timedelta(hours=1)
SELF_SERVICE = "self-service"  # ``password_resets.created_by`` of a link the user asked for
COMMON = frozenset({
    "1234567890", "12345678910", "0123456789", "1111111111", "0000000000", "1234512345", "1q2w3e4r5t",
    "qwertyuiop", "password123", "password12", "password1!", "passw0rd123", "iloveyou12", "woaini1314",
    "woaini520", "5201314520", "a123456789", "abc1234567", "abcd123456", "aa12345678", "qwerty1234",
    "admin12345", "administrator", "changeme123", "welcome123", "letmein123", "zxcvbnm123", "demo-password",
    "estatedesk", "estatedesk123", "1qaz2wsx3edc", "qazwsxedc123", "asdfghjkl1", "p@ssw0rd123", "88888888888",
    "66666666666", "12341234123",
})


class PasswordRejected(Exception):
    """``reason``: too_short, too_long, is_username, too_common, wrong_current or reset_invalid."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def problem(password: str, username: str) -> str | None:
    """Why ``password`` is refused for ``username``, or None when it passes the policy."""
    if len(password) < MIN_LENGTH:
        return "too_short"
    if len(password) > MAX_LENGTH:
        return "too_long"
    lowered, name = password.lower(), (username or "").lower()
    if lowered in {name, name.split("@")[0]}:
        return "is_username"
    if lowered in COMMON:
        return "too_common"
    return None


def _username(conn, tenant_id: str, user_id: str) -> str | None:
    return conn.execute(select(users.c.username).where(
        users.c.tenant_id == tenant_id, users.c.id == user_id)).scalar()


def set_password(conn, tenant_id: str, user_id: str, new_password: str, now: dt.datetime) -> str:
    """Store ``new_password`` after the policy check; returns the username. ``PasswordRejected`` otherwise."""
    username = _username(conn, tenant_id, user_id)
    if username is None:
        raise PasswordRejected("reset_invalid")
    reason = problem(new_password, username)
    if reason:
        raise PasswordRejected(reason)
    conn.execute(update(users).where(users.c.tenant_id == tenant_id, users.c.id == user_id).values(
        password_hash=accounts.hash_password(new_password), password_changed_at=now,
        token_version=users.c.token_version + 1))
    lockout.clear(conn, username)
    return username


def change(conn, tenant_id: str, user_id: str, current: str, new_password: str) -> None:
    """The user's own change: the current password must be right. A wrong one is not counted towards the login
    lockout: the caller already holds a session or token of this user."""
    row = conn.execute(select(users.c.username, users.c.password_hash).where(
        users.c.tenant_id == tenant_id, users.c.id == user_id, users.c.active.is_(True))).first()
    if row is None or not accounts.verify_password(row.password_hash, current):
        raise PasswordRejected("wrong_current")
    set_password(conn, tenant_id, user_id, new_password, utcnow())
    audit.record(conn, tenant_id, "password_changed", user_id=user_id, target_kind="user", target_id=user_id)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def issue_reset(conn, tenant_id: str, user_id: str, issued_by: str, now: dt.datetime | None = None) -> dict:
    """A one-time reset token for a user of ``tenant_id``: ``{"token", "expires_at"}`` (None: no such user)."""
    now = now or utcnow()
    if _username(conn, tenant_id, user_id) is None:
        return None
    conn.execute(update(password_resets).where(
        password_resets.c.tenant_id == tenant_id, password_resets.c.user_id == user_id,
        password_resets.c.used_at.is_(None)).values(used_at=now))  # superseded
    token = secrets.token_urlsafe(32)
    expires = now + RESET_TTL
    conn.execute(password_resets.insert().values(
        tenant_id=tenant_id, id=str(uuid.uuid4()), user_id=user_id, token_hash=_digest(token),
        created_by=issued_by, created_at=now, expires_at=expires, used_at=None))
    detail = {"expires_at": expires.isoformat()} | ({"by": SELF_SERVICE} if issued_by == SELF_SERVICE else {})
    audit.record(conn, tenant_id, "password_reset_issued", target_kind="user", target_id=user_id, detail=detail)
    return {"token": token, "expires_at": expires.isoformat()}


def request_reset(conn, username: str, now: dt.datetime | None = None) -> dict | None:
    """A self-service reset for the login ``username``: ``{"tenant_id", "user_id", "email", "token",
    "expires_at"}`` when it is an active user with an e-mail address, else None (the caller must not tell the
    two apart to the person asking)."""
    row = conn.execute(select(users.c.tenant_id, users.c.id, users.c.email).where(
        users.c.username == (username or "")[:150], users.c.active.is_(True))).first()
    if row is None or not (row.email or "").strip():
        return None
    issued = issue_reset(conn, row.tenant_id, row.id, SELF_SERVICE, now)
    return {"tenant_id": row.tenant_id, "user_id": row.id, "email": row.email.strip()} | issued


def reset_target(conn, token: str, now: dt.datetime | None = None) -> dict | None:
    """``{"tenant_id", "user_id", "username", "reset_id"}`` for a valid (unused, unexpired) token, else None."""
    now = now or utcnow()
    row = conn.execute(
        select(password_resets.c.id, password_resets.c.tenant_id, password_resets.c.user_id, users.c.username)
        .join(users, (users.c.tenant_id == password_resets.c.tenant_id) & (users.c.id == password_resets.c.user_id))
        .where(password_resets.c.token_hash == _digest(token or ""), password_resets.c.used_at.is_(None),
               password_resets.c.expires_at > now, users.c.active.is_(True))).first()
    if row is None:
        return None
    return {"tenant_id": row.tenant_id, "user_id": row.user_id, "username": row.username, "reset_id": row.id}


def use_reset(conn, token: str, new_password: str, now: dt.datetime | None = None) -> dict:
    """Set the password named by a valid reset token and spend the token; ``PasswordRejected`` otherwise."""
    now = now or utcnow()
    target = reset_target(conn, token, now)
    if target is None:
        raise PasswordRejected("reset_invalid")
    set_password(conn, target["tenant_id"], target["user_id"], new_password, now)
    spent = conn.execute(update(password_resets).where(
        password_resets.c.tenant_id == target["tenant_id"], password_resets.c.id == target["reset_id"],
        password_resets.c.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:  # a concurrent use won: this transaction must not set the password too
        raise PasswordRejected("reset_invalid")
    audit.record(conn, target["tenant_id"], "password_reset_used", user_id=target["user_id"],
                 target_kind="user", target_id=target["user_id"])
    return target
