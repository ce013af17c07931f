"""Login lockout: after ``MAX_FAILURES`` failed logins for one username, that username is refused for
``LOCK_MINUTES`` minutes, whatever the password (the console and ``POST /api/v1/auth/token`` share the count,
so the API is not a way around it).

Counted per username, not per IP: the attack it stops is guessing one account's password. Unknown usernames
are counted like real ones, so the answer never tells which names exist. A success clears the count; a run of
failures older than ``LOCK_MINUTES`` starts again from zero. The price is that anyone can lock a user out for
15 minutes by guessing five times; the per-IP rate limit on public pages is the other half of the defence.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from estatedesk_common.db import utcnow

from .tables import login_failures

MAX_FAILURES = 5
LOCK_MINUTES = 15
_WINDOW = dt.timedelta(minutes=LOCK_MINUTES)


def _key(username: str) -> str:
    return (username or "")[:150]


def locked_until(conn, username: str, now: dt.datetime) -> dt.datetime | None:
    """When the lock on ``username`` ends, or None when it may try to log in."""
    row = conn.execute(select(login_failures.c.locked_until).where(
        login_failures.c.username == _key(username))).first()
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until


def record_failure(conn, username: str, now: dt.datetime) -> dt.datetime | None:
    """Count one failure; returns the end of the lock when this failure locks the username."""
    key = _key(username)
    row = conn.execute(select(login_failures).where(login_failures.c.username == key)).first()
    if row is None:
        conn.execute(login_failures.insert().values(username=key, failures=1, last_failed_at=now, locked_until=None))
        failures = 1
    else:
        stale = row.last_failed_at <= now - _WINDOW or (row.locked_until is not None and row.locked_until <= now)
        failures = 1 if stale else row.failures + 1
    until = now + _WINDOW if failures >= MAX_FAILURES else None
    if row is not None or until is not None:
        conn.execute(update(login_failures).where(login_failures.c.username == key).values(
            failures=0 if until else failures, last_failed_at=now, locked_until=until))
    return until


def clear(conn, username: str) -> None:
    conn.execute(delete(login_failures).where(login_failures.c.username == _key(username)))


class AccountLocked(Exception):
    def __init__(self, until: dt.datetime):
        super().__init__(until.isoformat())
        self.until = until

    def retry_after(self, now: dt.datetime) -> int:
        return max(1, int((self.until - now).total_seconds()) + 1)


class SecondFactorRequired(Exception):
    """Password right, the user has TOTP on and no code came with it (not counted as a failure)."""

    def __init__(self, principal):
        super().__init__("totp_required")
        self.principal = principal


def attempt_login(engine, username: str, password: str, now: dt.datetime | None = None, totp: str | None = None):
    """The principal for good credentials, None for bad ones; ``AccountLocked`` while locked (the password is
    not even checked then) or when this failure locks it; ``SecondFactorRequired`` when the user has TOTP on and
    ``totp`` is empty. A wrong TOTP or recovery code counts as a failure like a wrong password. Every outcome
    for an existing username is in its tenant's audit log (``login_ok``/``login_failed``/``login_locked``)."""
    from .accounts import authenticate

    now = now or utcnow()
    with engine.connect() as conn:
        until = locked_until(conn, username, now)
    if until is not None:
        _audit(engine, username, "login_locked", {"until": until.isoformat()})
        raise AccountLocked(until)
    with engine.connect() as conn:
        principal = authenticate(conn, username, password)
    if principal is not None:
        return _second_factor(engine, username, principal, totp, now)
    return _failed(engine, username, now, "password")


def attempt_second_factor(engine, username: str, principal, code: str, now: dt.datetime | None = None):
    """The console's second step (the password was checked a moment ago): like ``attempt_login``'s TOTP part,
    under the same lock and failure count."""
    now = now or utcnow()
    with engine.connect() as conn:
        until = locked_until(conn, username, now)
    if until is not None:
        _audit(engine, username, "login_locked", {"until": until.isoformat()})
        raise AccountLocked(until)
    return _second_factor(engine, username, principal, code, now)


def _second_factor(engine, username: str, principal, code: str | None, now: dt.datetime):
    from . import totp

    with engine.begin() as conn:
        if not totp.enabled(conn, principal.tenant_id, principal.user_id):
            clear(conn, username)
            _record(conn, principal.tenant_id, principal.user_id, username, "login_ok", {"factors": "password"})
            return principal
        if not code:
            raise SecondFactorRequired(principal)
        used = totp.verify(conn, principal.tenant_id, principal.user_id, code, now)
        if used:
            clear(conn, username)
            _record(conn, principal.tenant_id, principal.user_id, username, "login_ok",
                    {"factors": f"password+{used}"})
            return principal
    return _failed(engine, username, now, "totp")


def _failed(engine, username: str, now: dt.datetime, reason: str):
    with engine.begin() as conn:
        try:
            until = record_failure(conn, username, now)
        except IntegrityError:  # a concurrent first failure for the same name inserted the row; count once
            until = None
    _audit(engine, username, "login_failed", {"reason": reason, "locked": until is not None})
    if until is not None:
        raise AccountLocked(until)
    return None


def _audit(engine, username: str, action: str, detail: dict) -> None:
    """An audit entry for a login of an existing username (unknown names have no tenant: not recorded)."""
    from .accounts import tenant_of

    with engine.begin() as conn:
        found = tenant_of(conn, username)
        if found is not None:
            _record(conn, found[0], found[1], username, action, detail)


def _record(conn, tenant_id, user_id, username, action, detail) -> None:
    from . import audit

    audit.record(conn, tenant_id, action, user_id=user_id, username=username, target_kind="user",
                 target_id=user_id, detail=detail)
