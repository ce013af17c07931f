"""Bearer tokens and the principal: the only place that decides tenant, user and roles for a request.

Tokens are HS256 JWTs: ``sub`` user id, ``tid`` tenant id, ``roles`` [[role, estate or null]], ``iat``,
``exp``, ``jti``. They are not revocable before ``exp`` (default one hour); deactivating a user stops new
logins and ``/me``, not the tokens already issued.
"""
from __future__ import annotations

import functools
import time
import uuid

import jwt
from flask import current_app, g, request

from .accounts import Principal
from .errors import ApiError

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
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, secret: str) -> Principal:
    """The principal a token names; ``ApiError`` 401 ``token_expired`` or ``invalid_token`` otherwise."""
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": _REQUIRED_CLAIMS})
    except jwt.ExpiredSignatureError:
        raise ApiError(401, "token_expired") from None
    except jwt.InvalidTokenError:
        raise ApiError(401, "invalid_token") from None
    try:
        tenant_id, user_id = str(uuid.UUID(claims["tid"])), str(claims["sub"])
        roles = tuple((str(role), None if estate is None else str(estate)) for role, estate in claims["roles"])
    except (TypeError, ValueError, AttributeError):
        raise ApiError(401, "invalid_token") from None
    return Principal(tenant_id, user_id, roles)


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
    g.principal = decode_token(token.strip(), current_app.config["SECRET_KEY"])


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
