"""Per-tenant integration API keys: the principal of machine callers (Open311 clients, the CTI bridge).

A key is a random secret shown once, when it is issued; the gateway keeps only its SHA-256 hex (``key_hash``,
unique) and its first 8 characters (``prefix``, to tell keys apart in the admin list). The key alone decides
the tenant: ``authenticate`` hashes what the caller presented and looks the hash up, so the secret is never
compared character by character (the stored hash is then compared with ``hmac.compare_digest``). A revoked key,
or one without the scope the view needs, authenticates nobody.

Interface used by other blueprints (keep it stable):

- ``authenticate(raw_key, scope) -> ApiKeyPrincipal | None``
- ``issue(conn, tenant_id, name, scopes) -> str`` (the raw key, once), ``revoke(conn, tenant_id, key_id)``
- ``require_api_key(scope)``: Flask view decorator; the key from ``X-Api-Key``, ``Authorization: ApiKey <key>``
  or the form/query parameter ``api_key``; sets ``g.principal = None``, ``g.public_tenant_id`` (so RPC calls
  carry the tenant and no user, like the owner pages) and ``g.api_key``; else 401 ``invalid_api_key``.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass

from flask import current_app, g, request
from sqlalchemy import select, update

from estatedesk_common import i18n
from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT, demo_id

from .errors import ApiError
from .tables import api_keys

SCOPES = ("open311", "cti")
PREFIX_LENGTH = 8
MAX_KEY_LENGTH = 200  # longer input is no key of ours: refused before hashing
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)  # last_used_at is written at most once a minute per key

# DEMO ONLY: printed by scripts/run.sh; (tenant, key id seed, raw key, name, scopes)
DEMO_KEYS = (
    (DEMO_TENANT, "demo", "demo-api-key", "演示集成密钥 (demo)", ["open311", "cti"]),
    (OTHER_TENANT, "other", "other-api-key", "第二集团演示密钥 (demo)", ["open311"]),
)

i18n.register({
    "error.invalid_api_key": {"zh_CN": "API 密钥无效、已撤销或无权访问此接口",
                              "en": "The API key is invalid, revoked or not allowed here"},
    "error.api_key_not_found": {"zh_CN": "找不到该 API 密钥", "en": "No such API key"},
})


@dataclass(frozen=True)
class ApiKeyPrincipal:
    """Who is calling with a key: the tenant the key belongs to, never anything the request says."""

    tenant_id: str
    key_id: str
    name: str
    scopes: tuple[str, ...]


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def check_scopes(scopes) -> list[str]:
    """The scopes, deduplicated in the order of ``SCOPES``; ``ValueError`` for an empty list or an unknown one."""
    given = list(scopes or [])
    unknown = [s for s in given if s not in SCOPES]
    if not given or unknown:
        raise ValueError(f"scopes must be a non-empty subset of {list(SCOPES)}")
    return [s for s in SCOPES if s in given]


def _insert(conn, tenant_id: str, key_id: str, name: str, scopes, raw_key: str) -> None:
    conn.execute(api_keys.insert().values(
        tenant_id=tenant_id, id=key_id, name=name, prefix=raw_key[:PREFIX_LENGTH], key_hash=hash_key(raw_key),
        scopes=check_scopes(scopes), created_at=utcnow(), revoked_at=None, last_used_at=None))


def issue(conn, tenant_id: str, name: str, scopes) -> str:
    """A new key for ``tenant_id``; the raw key is returned here and never again."""
    return issue_with_id(conn, tenant_id, name, scopes)[0]


def issue_with_id(conn, tenant_id: str, name: str, scopes) -> tuple[str, str]:
    """``(raw key, key id)`` of a new key; ``ValueError`` for a bad name or scopes."""
    name = (name or "").strip()
    if not 1 <= len(name) <= 100:
        raise ValueError("name must be 1-100 characters")
    raw_key, key_id = secrets.token_urlsafe(32), str(uuid.uuid4())  # 256 bits, URL- and header-safe
    _insert(conn, tenant_id, key_id, name, scopes, raw_key)
    return raw_key, key_id


def revoke(conn, tenant_id: str, key_id: str) -> bool:
    """Revoke a key of this tenant; False when the tenant has no such key (revoking twice keeps the first time)."""
    found = conn.execute(select(api_keys.c.revoked_at).where(
        api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id)).first()
    if found is None:
        return False
    if found.revoked_at is None:
        conn.execute(update(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id)
                     .values(revoked_at=utcnow()))
    return True


def list_keys(conn, tenant_id: str) -> list[dict]:
    """The tenant's keys, newest first, without any secret."""
    rows = conn.execute(select(api_keys).where(api_keys.c.tenant_id == tenant_id)
                        .order_by(api_keys.c.created_at.desc(), api_keys.c.id)).all()
    return [describe(row) for row in rows]


def describe(row) -> dict:
    def iso(value):
        return value.isoformat() if value is not None else None

    return {"id": row.id, "name": row.name, "prefix": row.prefix, "scopes": list(row.scopes),
            "created_at": iso(row.created_at), "revoked_at": iso(row.revoked_at),
            "last_used_at": iso(row.last_used_at), "active": row.revoked_at is None}


def get_key(conn, tenant_id: str, key_id: str) -> dict | None:
    row = conn.execute(select(api_keys).where(api_keys.c.tenant_id == tenant_id, api_keys.c.id == key_id)).first()
    return None if row is None else describe(row)


def authenticate(raw_key: str, scope: str, engine=None) -> ApiKeyPrincipal | None:
    """The principal of an active key that holds ``scope``; None for anything else (one answer for all)."""
    if not raw_key or len(raw_key) > MAX_KEY_LENGTH or scope not in SCOPES:
        return None
    wanted = hash_key(raw_key)
    engine = engine if engine is not None else current_app.extensions["db"]
    with engine.begin() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.key_hash == wanted)).first()
        if row is None or not hmac.compare_digest(row.key_hash, wanted):
            return None
        if row.revoked_at is not None or scope not in (row.scopes or []):
            return None
        now = utcnow()
        if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
            conn.execute(update(api_keys).where(api_keys.c.tenant_id == row.tenant_id, api_keys.c.id == row.id)
                         .values(last_used_at=now))
    return ApiKeyPrincipal(row.tenant_id, row.id, row.name, tuple(row.scopes))


def presented_key() -> str:
    """The key as the caller sent it: ``X-Api-Key``, ``Authorization: ApiKey <key>``, or ``api_key`` in the
    form or the query string (Open311 clients send it as a form field)."""
    header = request.headers.get("X-Api-Key", "").strip()
    if header:
        return header
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "apikey" and value.strip():
        return value.strip()
    form = request.form.get("api_key", "") if request.method not in ("GET", "HEAD") else ""
    return (form or request.args.get("api_key", "")).strip()


def require_api_key(scope: str):
    """Flask view decorator: the view runs for the key's tenant (no user), else 401 ``invalid_api_key``.

    The view is marked public for the bearer-token check (``auth.authenticate_request``): the key is its
    authentication. A staff session or bearer token on the same request never decides the tenant here.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown API key scope {scope!r}")

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate(presented_key(), scope)
            g.principal = None
            g.public_tenant_id = None
            if principal is None:
                raise ApiError(401, "invalid_api_key", headers={"WWW-Authenticate": 'ApiKey realm="estatedesk"'})
            g.public_tenant_id = principal.tenant_id
            g.api_key = principal
            return view(*args, **kwargs)

        wrapper.is_public = True
        return wrapper

    return decorator


def seed_demo(conn) -> int:
    """DEMO ONLY: the demo keys of ``DEMO_KEYS`` (fixed ids; safe to run again). The number created."""
    created = 0
    for tenant, seed, raw_key, name, scopes in DEMO_KEYS:
        key_id = demo_id("api_key", seed)
        if conn.execute(select(api_keys.c.id).where(api_keys.c.tenant_id == tenant["id"],
                                                    api_keys.c.id == key_id)).first():
            continue
        _insert(conn, tenant["id"], key_id, name, scopes, raw_key)
        created += 1
    return created


def limit_by_key(app, *blueprints) -> None:
    """Per-key rate limit on the API-key blueprints (``API_KEY_RATE_LIMIT``, default 120 per minute): counted per
    presented key (its hash, never the key), or per address when no key is given, so one tenant's integration
    cannot starve another's and a key-guessing client is slowed down. Counted in the console limiter's store, like
    the owner-page limits (``web.make_limiter``: per process, or shared by the replicas)."""
    from flask_limiter.util import get_remote_address

    limiter = app.extensions["console_limiter"]

    def key() -> str:
        raw = presented_key()
        return "key:" + hashlib.sha256(raw.encode()).hexdigest()[:24] if raw else "ip:" + get_remote_address()

    for blueprint in blueprints:
        limiter.limit(lambda: app.config.get("API_KEY_RATE_LIMIT") or "120 per minute", key_func=key)(blueprint)
