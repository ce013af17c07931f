"""Group admins' integrations page (``/admin/integrations``): the tenant's API keys (gateway DB, ``api_keys``) and
outgoing webhooks (notify), with each webhook's delivery log on ``/admin/integrations/webhooks/<id>``, and the
WeChat official accounts (intake): each account's AppSecret (write-only: the page says only 已设置/未设置, the
field is never filled in) and template message ids (``POST /admin/integrations/wechat/<id>``, audited as
``wechat_account_updated`` without the secret), and the outgoing mail server (发件邮箱, notify; its forms in
``console_mail_settings.py``).

The same functions and RPCs as ``/api/v1/api-keys`` and ``/api/v1/webhooks``, with the same audit rows. A new
key's secret and a new webhook's signing secret are in the answer to the POST only (rendered, never redirected
to, ``Cache-Control: no-store``), like the initial password on ``/admin/users``. The form is checked here first so
the page can say what is wrong in the user's language; notify's own refusals (https only, at most 20 webhooks)
are matched to the same messages by field.
"""
from __future__ import annotations

import re
import uuid
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import api_keys, audit, rpc
from .console import page, page_error
from .mail_settings import SECURITY_LABELS, mail_form
from .webhooks import EVENTS, audit_created, described

bp = Blueprint("console_integrations", __name__)
bp.register_error_handler(Exception, page_error)

SCOPE_LABELS = {"open311": _l("Open311 (complaints from city/partner apps)"),
                "cti": _l("CTI (hotline telephone system)")}
DELIVERY_STATUSES = {"pending": _l("Pending"), "delivered": _l("Delivered"), "failed": _l("Failed")}
WEBHOOK_REFUSALS = {  # notify's English reason (a fragment of it) -> what the page says
    "https": _l("The address must start with https://."),
    "credentials": _l("Leave the user name and password out of the address; the signature authenticates us."),
    "at most": _l("A group can have at most 20 webhooks; remove one first."),
}


def _uuid(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        abort(404)


def _render(status: int = 200, **context):
    tenant_id = g.principal.tenant_id
    with current_app.extensions["db"].connect() as conn:
        keys = api_keys.list_keys(conn, tenant_id)
    hooks = rpc.client().call("notify", "list_webhooks")
    wechat_accounts = rpc.client().call("intake", "list_wechat_accounts")
    mail = rpc.client().call("notify", "get_mail_settings")  # 发件邮箱 (console_mail_settings.py)
    context = {"key_form": {}, "key_errors": {}, "hook_form": {}, "hook_errors": {}, "new_key": None,
               "new_hook": None, "wechat_form": {}, "wechat_errors": {}} | context
    context = {"mail_form": mail_form(mail), "mail_errors": {}, "mail_test": None} | context
    response = current_app.make_response((render_template(
        "admin_integrations.html", keys=keys, hooks=hooks, scopes=api_keys.SCOPES, scope_labels=SCOPE_LABELS,
        events=EVENTS, wechat_accounts=wechat_accounts, wechat_templates=WECHAT_TEMPLATES, mail=mail,
        securities=SECURITY_LABELS, **context), status))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/integrations")
@page("group_admin")
def integrations():
    return _render()


@bp.post("/admin/integrations/api-keys")
@page("group_admin")
def create_key():
    form = {"name": request.form.get("name", "").strip()[:100], "scopes": request.form.getlist("scopes")}
    errors = {}
    if not form["name"]:
        errors["name"] = _("Enter a name, e.g. the system that will use the key.")
    if not form["scopes"] or any(s not in api_keys.SCOPES for s in form["scopes"]):
        errors["scopes"] = _("Choose what the key may be used for.")
    if errors:
        return _render(422, key_form=form, key_errors=errors)
    tenant_id = g.principal.tenant_id
    with current_app.extensions["db"].begin() as conn:
        raw_key, key_id = api_keys.issue_with_id(conn, tenant_id, form["name"], form["scopes"])
        created = api_keys.get_key(conn, tenant_id, key_id)
        audit.record(conn, tenant_id, "api_key_issued", target_kind="api_key", target_id=key_id,
                     detail={"name": form["name"], "scopes": created["scopes"], "prefix": created["prefix"]})
    return _render(201, new_key=created | {"key": raw_key})


@bp.post("/admin/integrations/api-keys/<key_id>/revoke")
@page("group_admin")
def revoke_key(key_id: str):
    tenant_id, key_id = g.principal.tenant_id, _uuid(key_id)
    with current_app.extensions["db"].begin() as conn:
        if not api_keys.revoke(conn, tenant_id, key_id):
            abort(404)
        audit.record(conn, tenant_id, "api_key_revoked", target_kind="api_key", target_id=key_id)
    flash(_("The API key was revoked; callers using it are refused from now on."))
    return redirect(url_for("console_integrations.integrations"))


def _webhook_form() -> tuple[dict, dict]:
    form = {"url": request.form.get("url", "").strip()[:501], "events": request.form.getlist("events"),
            "description": request.form.get("description", "").strip()[:201]}
    errors = {}
    parts = urlsplit(form["url"])
    if not form["url"] or len(form["url"]) > 500 or parts.scheme not in ("http", "https") or not parts.hostname:
        errors["url"] = _("Enter the receiver's address, e.g. https://example.com/estatedesk (at most 500 "
                          "characters).")
    elif parts.username or parts.password:
        errors["url"] = str(WEBHOOK_REFUSALS["credentials"])
    if not form["events"] or any(e not in EVENTS for e in form["events"]):
        errors["events"] = _("Choose at least one event.")
    if len(form["description"]) > 200:
        errors["description"] = _("At most 200 characters.")
    return form, errors


def _refusal(exc: RemoteError) -> dict:
    """notify's 422 as ``{field: message}``; anything else goes to the error page."""
    found = parse_remote(exc.value)
    if found is None or int(found.get("status", 500)) != 422:
        raise exc
    field = (found.get("details") or {}).get("field") or "url"
    reason = str(found.get("message") or "")
    message = next((str(text) for key, text in WEBHOOK_REFUSALS.items() if key in reason),
                   _("This value was refused: %(reason)s", reason=reason))
    return {field if field in ("url", "events", "description") else "url": message}


@bp.post("/admin/integrations/webhooks")
@page("group_admin")
def create_webhook():
    form, errors = _webhook_form()
    if not errors:
        try:
            created = rpc.client().call("notify", "create_webhook", form)
        except RemoteError as exc:
            errors = _refusal(exc)
        else:
            audit_created(g.principal.tenant_id, created)
            return _render(201, new_hook=created)
    return _render(422, hook_form=form, hook_errors=errors)


@bp.post("/admin/integrations/webhooks/<webhook_id>/delete")
@page("group_admin")
def delete_webhook(webhook_id: str):
    deleted = rpc.client().call("notify", "delete_webhook", _uuid(webhook_id))
    audit.record_now(g.principal.tenant_id, "webhook_deleted", target_kind="webhook", target_id=deleted["id"],
                     detail={"changes": audit.changes(described(deleted), {})})
    flash(_("The webhook was removed; its delivery log is kept."))
    return redirect(url_for("console_integrations.integrations"))


@bp.get("/admin/integrations/webhooks/<webhook_id>")
@page("group_admin")
def deliveries(webhook_id: str):
    webhook_id = _uuid(webhook_id)
    client = rpc.client()
    items = client.call("notify", "list_webhook_deliveries", webhook_id)  # 404 for an unknown or another's
    hook = next((h for h in client.call("notify", "list_webhooks") if h["id"] == webhook_id), None)
    return render_template("admin_webhook.html", hook=hook, webhook_id=webhook_id, deliveries=items,
                           statuses=DELIVERY_STATUSES)


# ---- WeChat official accounts ---------------------------------------------------------------------------------

WECHAT_TEMPLATES = {  # intake's TEMPLATE_MESSAGES, in the page's order
    "acknowledgement": _l("Acknowledgement template ID"), "progress": _l("Progress update template ID"),
    "resolved": _l("Resolution template ID"), "callback_survey": _l("Callback survey template ID")}
_APP_SECRET = re.compile(r"^[\x21-\x7e]{8,128}$")
_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
SECRET_ERROR = _l("The AppSecret is 8 to 128 letters, digits or symbols, without spaces.")
TEMPLATE_ERROR = _l("A template ID is up to 64 letters, digits, - or _ (copy it from the account's template "
                    "library).")


def _wechat_form() -> tuple[dict, dict, str | None]:
    """``(form without the secret, errors, secret or None = unchanged)``."""
    secret = request.form.get("app_secret", "").strip()[:200]
    form = {f"tpl_{m}": request.form.get(f"tpl_{m}", "").strip()[:65] for m in WECHAT_TEMPLATES}
    errors = {}
    if secret and not _APP_SECRET.fullmatch(secret):
        errors["app_secret"] = str(SECRET_ERROR)
    for message in WECHAT_TEMPLATES:
        value = form[f"tpl_{message}"]
        if value and not _TEMPLATE_ID.fullmatch(value):
            errors[f"tpl_{message}"] = str(TEMPLATE_ERROR)
    return form, errors, secret or None


def _wechat_refusal(exc: RemoteError) -> dict:
    """intake's 4xx: 404/403 abort, 422 becomes the field's message; anything else goes to the error page."""
    found = parse_remote(exc.value)
    status = int(found.get("status", 500)) if found else 500
    if status in (403, 404):
        abort(status)
    if status != 422:
        raise exc
    field = str((found.get("details") or {}).get("field") or "")
    if field.startswith("templates."):
        return {"tpl_" + field.removeprefix("templates.")[:40]: str(TEMPLATE_ERROR)}
    return {"app_secret": str(SECRET_ERROR)}


@bp.post("/admin/integrations/wechat/<account_id>")
@page("group_admin")
def update_wechat(account_id: str):
    if not _ACCOUNT_ID.fullmatch(account_id):  # intake's ids are UUIDs; an operator's row may have another
        abort(404)
    form, errors, secret = _wechat_form()
    if not errors:
        changes = {"templates": {m: form[f"tpl_{m}"] or None for m in WECHAT_TEMPLATES}}
        if secret is not None:
            changes["app_secret"] = secret
        try:
            saved = rpc.client().call("intake", "update_wechat_account", account_id, changes)
        except RemoteError as exc:
            errors = _wechat_refusal(exc)
        else:
            g.audit_answer = saved  # audit.AUDITED: template ids before/after, the AppSecret as changed only
            flash(_("The WeChat settings of %(app_id)s were saved.", app_id=saved.get("app_id")))
            return redirect(url_for("console_integrations.integrations") + "#wechat-h")
    return _render(422, wechat_form={account_id: form}, wechat_errors={account_id: errors})


@bp.post("/admin/integrations/deliveries/<delivery_id>/redeliver")
@page("group_admin")
def redeliver(delivery_id: str):
    webhook_id = _uuid(request.form.get("webhook", ""))
    rpc.client().call("notify", "redeliver_webhook", _uuid(delivery_id))
    flash(_("The delivery was queued again."))
    return redirect(url_for("console_integrations.deliveries", webhook_id=webhook_id))
