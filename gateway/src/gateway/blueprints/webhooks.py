"""Outgoing webhooks of the caller's tenant (``/api/v1/webhooks``), for group_admin only; owned by notify.

``POST`` answers the signing secret once (201). ``GET /webhooks/<id>/deliveries`` is the delivery log (status,
attempts, last HTTP status or error); ``POST /webhooks/deliveries/<id>/redeliver`` queues one again. Another
tenant's webhook or delivery is 404 like an unknown one (notify filters by the context's tenant). Adding and
removing a webhook is audited (``webhook_created``, ``webhook_deleted``) once notify answered.
"""
from __future__ import annotations

import uuid

from urllib.parse import urlsplit

from flask import Blueprint, url_for
from marshmallow import Schema, fields, validate

from estatedesk_common import i18n

from .. import audit, rpc
from ..auth import current_principal, require_roles
from ..errors import ApiError
from ..schemas import Stripped
from . import load_json

bp = Blueprint("webhooks", __name__)

i18n.register({
    "error.webhook_not_found": {"zh_CN": "找不到该 Webhook", "en": "No such webhook"},
})
EVENTS = ("case_opened", "case_assigned", "case_contacted", "case_plan_recorded", "case_progress_recorded",
          "case_resolved", "owner_accepted", "case_closed", "case_reopened", "case_cancelled", "sla_warning",
          "sla_breached", "case_escalated", "extension_requested", "extension_decided")  # notify's list


class WebhookSchema(Schema):
    url = Stripped(required=True, validate=validate.Length(min=1, max=500))
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), load_default=list,
                         validate=validate.Length(max=len(EVENTS)))
    description = Stripped(load_default="", validate=validate.Length(max=200))


def audit_created(tenant_id: str, created: dict) -> None:
    """The audit row of a new webhook: its host and events, never the URL's path or query, nor the secret."""
    host = urlsplit(str(created.get("url") or "")).hostname or ""
    audit.record_now(tenant_id, "webhook_created", target_kind="webhook", target_id=created["id"],
                     detail={"host": host[:100], "events": list(created.get("events") or []),
                             "changes": audit.changes({}, described(created))})


def described(hook: dict) -> dict:
    """What the audit keeps of a webhook: host, events, description (never the path, query or secret)."""
    return {"host": (urlsplit(str(hook.get("url") or "")).hostname or "")[:100],
            "events": list(hook.get("events") or []), "description": hook.get("description")}


def _id(value: str, code: str = "webhook_not_found") -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, code, details={"field": "id"}) from None


@bp.get("/webhooks")
@require_roles("group_admin")
def list_webhooks():
    current_principal()
    return {"items": rpc.client().call("notify", "list_webhooks")}


@bp.post("/webhooks")
@require_roles("group_admin")
def create_webhook():
    principal = current_principal()
    created = rpc.client().call("notify", "create_webhook", load_json(WebhookSchema()))
    audit_created(principal.tenant_id, created)
    return created, 201, {"Location": url_for("webhooks.list_webhooks"), "Cache-Control": "no-store"}


@bp.delete("/webhooks/<webhook_id>")
@require_roles("group_admin")
def delete_webhook(webhook_id: str):
    principal = current_principal()
    deleted = rpc.client().call("notify", "delete_webhook", _id(webhook_id))
    audit.record_now(principal.tenant_id, "webhook_deleted", target_kind="webhook", target_id=deleted["id"],
                     detail={"changes": audit.changes(described(deleted), {})})
    return deleted


@bp.get("/webhooks/<webhook_id>/deliveries")
@require_roles("group_admin")
def list_deliveries(webhook_id: str):
    current_principal()
    return {"items": rpc.client().call("notify", "list_webhook_deliveries", _id(webhook_id))}


@bp.post("/webhooks/deliveries/<delivery_id>/redeliver")
@require_roles("group_admin")
def redeliver(delivery_id: str):
    current_principal()
    return rpc.client().call("notify", "redeliver_webhook", _id(delivery_id))
