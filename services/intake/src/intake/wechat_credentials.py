"""The AppSecret of a tenant's WeChat official account, for notify's customer-service replies (notify's
``wechat.py`` fetches and caches the access token itself).

Why an RPC and not an event: intake owns the accounts and their secrets (encrypted at rest,
``estatedesk_common.secrets``); an event would put the secret on the bus and in notify's database, and make key
rotation (``encrypt-secrets``) a two-service affair. Notify asks when it needs a token (once per app and process,
again after WeChat refuses the credentials), so the secret lives only in intake's table and notify's memory.

Service-to-service only: a call with a person's roles (everything the gateway sends carries ``roles``) is
``forbidden``, and the gateway exposes no route to it. Unknown/disabled app id or no readable secret:
``wechat_not_configured`` (notify then fails the message and falls back to SMS).
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from estatedesk_common import secrets as stored_secrets
from estatedesk_common.errors import Forbidden

from .exceptions import ValidationFailed
from .tables import wechat_accounts
from .wechat_accounts_admin import templates_of
from .wechat_protocol import WeChatNotConfigured, resolve_secret

log = logging.getLogger(__name__)


def get_credentials(app_id, tenant_id: str, caller_roles, engine, environ: dict) -> dict:
    """``{"app_id", "app_secret", "templates"}`` of the tenant's enabled account ``app_id``; ``templates``:
    ``{message: template id}`` of the template messages a group admin configured (``wechat_accounts_admin``)."""
    if caller_roles is not None:
        raise Forbidden("WeChat credentials are for EstateDesk's own services only")
    if not isinstance(app_id, str) or not app_id.strip() or len(app_id) > 32:
        raise ValidationFailed("app_id must be a WeChat app id", field="app_id")
    a = wechat_accounts
    with engine.connect() as conn:
        row = conn.execute(select(a.c.id, a.c.app_id, a.c.app_secret).where(
            a.c.tenant_id == tenant_id, a.c.app_id == app_id.strip(), a.c.enabled.is_(True))).first()
        templates = templates_of(conn, tenant_id, row.id) if row is not None else {}
    if row is None:
        raise WeChatNotConfigured("no enabled WeChat account with this app id", field="app_id")
    try:
        secret = resolve_secret(row.app_secret, environ, f"WeChat AppSecret of {row.app_id}")
    except stored_secrets.SecretError as exc:
        log.error("%s (tenant %s)", exc, tenant_id)
        secret = None
    if not secret:
        raise WeChatNotConfigured("this WeChat account has no usable AppSecret", field="app_id")
    log.info("WeChat credentials of %s handed to a service (tenant %s)", row.app_id, tenant_id)
    return {"app_id": row.app_id, "app_secret": secret, "templates": templates}
