"""``POST /api/v1/auth/token`` (log in) and ``GET /api/v1/me`` (who am I).

Failed logins count towards the same per-username lockout as the console (``lockout.py``): a locked name gets
429 ``account_locked`` with ``Retry-After``, so the API is no way around it. A user with TOTP on sends the
code (or a recovery code) as ``totp``; without it the answer is 401 ``totp_required`` (the password was right),
with a wrong one 401 ``invalid_credentials`` (counted as a failure).
"""
from __future__ import annotations

from flask import Blueprint, current_app

from estatedesk_common.db import utcnow

from .. import accounts, lockout
from ..auth import current_principal, issue_token, public
from ..errors import ApiError
from ..schemas import LoginSchema
from . import load_json

bp = Blueprint("auth", __name__)


@bp.post("/auth/token")
@public
def token():
    body = load_json(LoginSchema())
    try:
        principal = lockout.attempt_login(current_app.extensions["db"], body["username"], body["password"],
                                          totp=body.get("totp"))
    except lockout.SecondFactorRequired:
        raise ApiError(401, "totp_required", details={"field": "totp"}) from None
    except lockout.AccountLocked as exc:
        raise ApiError(429, "account_locked", headers={"Retry-After": str(exc.retry_after(utcnow()))},
                       minutes=lockout.LOCK_MINUTES) from None
    if principal is None:
        raise ApiError(401, "invalid_credentials")
    ttl = current_app.config["TOKEN_TTL"]
    access_token = issue_token(principal, current_app.config["SECRET_KEY"], ttl)
    return {"access_token": access_token, "token_type": "bearer", "expires_in": ttl}, 200, {
        "Cache-Control": "no-store"}


@bp.get("/me")
def me():
    principal = current_principal()
    with current_app.extensions["db"].connect() as conn:
        found = accounts.profile(conn, principal.tenant_id, principal.user_id)
    if found is None:  # user removed or deactivated since the token was issued
        raise ApiError(401, "invalid_token")
    return found
