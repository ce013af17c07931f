"""Bearer tokens and the principal: the only place that decides tenant, user and roles for a request.

Tokens are HS256 JWTs: ``sub`` user id, ``tid`` tenant id, ``roles`` [[role, estate or null]], ``iat``,
``exp``, ``jti``, ``ver`` (the user's ``token_version``). Every API request reads the user's row (one primary
key lookup): a token of a deactivated user, or one older than the user's last deactivation, role change,
password change or TOTP reset (each bumps ``token_version``), is refused with 401 ``invalid_token``. Users are
never deleted, so a token naming no row was issued for a user that never existed in this database (tests, or
another installation sharing the secret: none should); it keeps its signed claims.
"""
from __future__ import annotations

import functools
import time
import uuid

import jwt
from flask import current_app, g, request
from sqlalchemy import select

from .accounts import Principal
from .errors import ApiError
from .tables import users

ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["sub", "tid", "roles", "exp", "iat", "jti"]


def issue_token(principal: Principal, secret: str, ttl: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    claims = {
        "sub": principal.user_id,
        "tid": principal.tenant_id,
        "roles": [[role, estate] for role, estate in principal.roles],
        "iat": issued,
        "exp": issued + int(ttl),
        "jti": uuid.uuid4().hex,
        "ver": int(principal.token_version),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> Principal:
    """The principal a token names (signature and expiry only; ``token_current`` checks the database);
    ``ApiError`` 401 ``token_expired`` or ``invalid_token`` otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired") from None
    except jwt.InvalidTokenError:
        raise ApiError(401, "invalid_token") from None
    try:
        tenant_id, user_id = str(uuid.UUID(claims["tid"])), str(claims["sub"])
        roles = tuple((str(role), None if estate is None else str(estate)) for role, estate in claims["roles"])
        version = int(claims.get("ver", 0))
    except (TypeError, ValueError, AttributeError):
        raise ApiError(401, "invalid_token") from None
    return Principal(tenant_id, user_id, roles, version)


def token_current(conn, principal: Principal) -> bool:
    """False when the token's user is deactivated or its ``token_version`` moved since the token was issued."""
    row = conn.execute(select(users.c.active, users.c.token_version).where(
        users.c.tenant_id == principal.tenant_id, users.c.id == principal.user_id)).first()
    if row is None:
        return True
    return bool(row.active) and int(row.token_version or 0) == principal.token_version


def public(view):
    """Mark a view as reachable without a token."""
    view.is_public = True
    return view


def authenticate_request() -> None:
    """``before_request``: every ``/api/v1`` view needs a bearer token unless marked ``@public``."""
    g.principal = None
    if request.routing_exception is not None or not request.path.startswith("/api/"):
        return
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthenticated")
    principal = decode_token(token.strip(), current_app.config["SECRET_KEY"])
    with current_app.extensions["db"].connect() as conn:
        if not token_current(conn, principal):
            raise ApiError(401, "invalid_token")
    g.principal = principal


def current_principal() -> Principal:
    principal = g.get("principal")
    if principal is None:  # a view that forgot it is public must not run tenant-less
        raise ApiError(401, "unauthenticated")
    return principal


def require_roles(*roles: str):
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if not current_principal().has_role(*roles):
                raise ApiError(403, "forbidden")
            return view(*args, **kwargs)

        return wrapper

    return decorator
