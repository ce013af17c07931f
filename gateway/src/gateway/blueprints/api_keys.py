"""Integration API keys of the caller's tenant (``/api/v1/api-keys``), for group_admin only.

``POST`` answers the raw key once (201); afterwards only its ``prefix`` is ever shown. ``DELETE`` revokes (the
row stays, with ``revoked_at``, so the list keeps the history); a key of another tenant is 404 like an unknown
one. The gateway owns the table, so no service is called.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, current_app, url_for
from marshmallow import Schema, fields, validate

from .. import api_keys, audit
from ..auth import current_principal, require_roles
from ..errors import ApiError
from ..schemas import Stripped
from . import load_json

bp = Blueprint("api_keys", __name__)


class ApiKeySchema(Schema):
    name = Stripped(required=True, validate=validate.Length(min=1, max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf(api_keys.SCOPES)), required=True,
                         validate=validate.Length(min=1, max=len(api_keys.SCOPES)))


def _key_id(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "api_key_not_found", details={"field": "id"}) from None


@bp.get("/api-keys")
@require_roles("group_admin")
def list_api_keys():
    tenant_id = current_principal().tenant_id
    with current_app.extensions["db"].connect() as conn:
        return {"items": api_keys.list_keys(conn, tenant_id)}


@bp.post("/api-keys")
@require_roles("group_admin")
def create_api_key():
    tenant_id = current_principal().tenant_id
    body = load_json(ApiKeySchema())
    with current_app.extensions["db"].begin() as conn:
        raw_key, key_id = api_keys.issue_with_id(conn, tenant_id, body["name"], body["scopes"])
        created = api_keys.get_key(conn, tenant_id, key_id)
        audit.record(conn, tenant_id, "api_key_issued", target_kind="api_key", target_id=key_id,
                     detail={"name": body["name"], "scopes": body["scopes"], "prefix": created["prefix"]})
    created["key"] = raw_key  # shown this once
    return created, 201, {"Location": url_for("api_keys.list_api_keys"), "Cache-Control": "no-store"}


@bp.delete("/api-keys/<key_id>")
@require_roles("group_admin")
def revoke_api_key(key_id: str):
    tenant_id = current_principal().tenant_id
    key_id = _key_id(key_id)
    with current_app.extensions["db"].begin() as conn:
        if not api_keys.revoke(conn, tenant_id, key_id):
            raise ApiError(404, "api_key_not_found", details={"field": "id"})
        audit.record(conn, tenant_id, "api_key_revoked", target_kind="api_key", target_id=key_id)
        return api_keys.get_key(conn, tenant_id, key_id)
