"""A group admin's view and settings of the tenant's WeChat official accounts (the console's 系统集成 page):
the AppSecret (write-only: set or replace, never read back; the answer says only whether one is set) and the
template message (模板消息) ids notify uses outside the 48-hour customer-service window, one per owner message
(``TEMPLATE_MESSAGES``). Accounts themselves (app id, token, EncodingAESKey) are still created by an operator.

Both RPCs need a person holding ``group_admin`` (the gateway sends the caller's roles); a call without roles is a
trusted service. The AppSecret is sealed like the token (``estatedesk_common.secrets``) and handed on only by
``get_wechat_credentials`` (``wechat_credentials.py``), with the template ids.
"""
from __future__ import annotations

import re

from sqlalchemy import delete, select, update

from estatedesk_common import secrets as stored_secrets
from estatedesk_common.errors import Forbidden, NotFound

from .exceptions import ValidationFailed
from .tables import wechat_accounts, wechat_templates

# The owner messages a template can stand in for (notify maps its message kinds onto these; the reopening
# notice uses ``progress``). Order = the console's order.
TEMPLATE_MESSAGES = ("acknowledgement", "progress", "resolved", "callback_survey")
ADMIN_ROLES = frozenset({"group_admin"})
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # WeChat's are 43 characters of this alphabet
_APP_SECRET = re.compile(r"^[\x21-\x7e]{8,128}$")  # WeChat's are 32 hex characters; printable ASCII, no spaces


class WeChatAccountNotFound(NotFound):
    code = "wechat_account_not_found"


def _require_admin(roles) -> None:
    if roles is not None and not any(role in ADMIN_ROLES for role, _estate in roles):
        raise Forbidden("only a group admin manages WeChat accounts")


def templates_of(conn, tenant_id: str, account_id: str) -> dict[str, str]:
    t = wechat_templates
    rows = conn.execute(select(t.c.message, t.c.template_id).where(t.c.tenant_id == tenant_id,
                                                                   t.c.account_id == account_id))
    return {r.message: r.template_id for r in rows if r.message in TEMPLATE_MESSAGES}


def _view(conn, row) -> dict:
    return {"id": row.id, "app_id": row.app_id, "estate_code": row.estate_code, "enabled": bool(row.enabled),
            "created_at": row.created_at.isoformat(), "app_secret_set": bool(row.app_secret),
            "templates": templates_of(conn, row.tenant_id, row.id)}


def _accounts_query(tenant_id: str):
    a = wechat_accounts
    return (select(a.c.tenant_id, a.c.id, a.c.app_id, a.c.estate_code, a.c.enabled, a.c.created_at,
                   a.c.app_secret).where(a.c.tenant_id == tenant_id).order_by(a.c.app_id))


def list_accounts(tenant_id: str, caller_roles, engine) -> list[dict]:
    """``[{id, app_id, estate_code, enabled, created_at, app_secret_set, templates: {message: id}}]``."""
    _require_admin(caller_roles)
    with engine.connect() as conn:
        return [_view(conn, row) for row in conn.execute(_accounts_query(tenant_id))]


def parse_changes(changes) -> tuple[str | None, dict[str, str | None]]:
    """``(app_secret or None = unchanged, {message: template id or None = remove})`` from the RPC's ``changes``
    (``{"app_secret"?: str, "templates"?: {message: str}}``; an empty AppSecret leaves it as it is, an empty
    template id removes that template). Raises ``ValidationFailed`` naming the field."""
    if not isinstance(changes, dict) or set(changes) - {"app_secret", "templates"}:
        raise ValidationFailed("changes: an object with app_secret and/or templates", field="changes")
    secret = changes.get("app_secret")
    if secret is not None and not isinstance(secret, str):
        raise ValidationFailed("app_secret must be text", field="app_secret")
    secret = (secret or "").strip() or None
    if secret is not None and not _APP_SECRET.fullmatch(secret):
        raise ValidationFailed("app_secret: 8 to 128 printable characters without spaces", field="app_secret")
    templates = changes.get("templates") or {}
    if not isinstance(templates, dict):
        raise ValidationFailed("templates must be an object", field="templates")
    parsed: dict[str, str | None] = {}
    for message, value in templates.items():
        if message not in TEMPLATE_MESSAGES:
            raise ValidationFailed(f"unknown message {str(message)[:40]!r}", field=f"templates.{str(message)[:40]}")
        if value is not None and not isinstance(value, str):
            raise ValidationFailed("a template id is text", field=f"templates.{message}")
        value = (value or "").strip() or None
        if value is not None and not _TEMPLATE_ID.fullmatch(value):
            raise ValidationFailed("a template id: up to 64 letters, digits, - and _", field=f"templates.{message}")
        parsed[message] = value
    return secret, parsed


def update_account(account_id, changes, tenant_id: str, user_id, caller_roles, uow, environ: dict) -> dict:
    """Set the AppSecret and/or template ids of one account; the account's view plus ``changed``:
    ``{"app_secret": bool, "templates": [messages whose id changed]}`` (for the gateway's audit row)."""
    _require_admin(caller_roles)
    if not isinstance(account_id, str) or not account_id.strip() or len(account_id) > 36:
        raise ValidationFailed("id must be an account id", field="id")
    secret, templates = parse_changes(changes)
    a, t = wechat_accounts, wechat_templates
    with uow:
        key = (a.c.tenant_id == tenant_id) & (a.c.id == account_id.strip())
        if uow.conn.execute(select(a.c.id).where(key)).first() is None:
            raise WeChatAccountNotFound("no such WeChat account", field="id")
        account_id = account_id.strip()
        if secret is not None:
            uow.conn.execute(update(a).where(key).values(app_secret=stored_secrets.seal(secret, environ)))
        before = templates_of(uow.conn, tenant_id, account_id)
        changed = sorted(m for m, v in templates.items() if before.get(m) != v)
        now = uow.clock.now()
        for message in changed:
            uow.conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.account_id == account_id,
                                             t.c.message == message))
            if templates[message] is not None:
                uow.conn.execute(t.insert().values(tenant_id=tenant_id, account_id=account_id, message=message,
                                                   template_id=templates[message], updated_at=now,
                                                   updated_by=user_id))
        row = uow.conn.execute(_accounts_query(tenant_id).where(a.c.id == account_id)).first()
        view = _view(uow.conn, row)
        uow.commit()
    return view | {"changed": {"app_secret": secret is not None, "templates": changed}}
