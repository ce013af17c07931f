"""Estates administration (``/api/v1/estates``), owned by intake (``intake.estates_admin``).

``POST /estates`` ``{"code", "name", "kind", "region"?, "timezone"? (IANA, default Asia/Shanghai), "address"?,
"units"? (registered units, 1-1,000,000 or null), "active"? (default true)}`` -> 201, the estate;
``PUT /estates/<code>`` with any of those fields but ``code`` (a code never changes: a different one is 422 on
``code``) -> 200. group_admin and head_office only (intake refuses anyone else too); 422 names the field, 409
``estate_exists``, 404 ``estate_not_found``. ``GET /estates`` (the caller's scope) stays in ``complaints.py``.
Each save is audited as ``estate_saved`` (``audit.AUDITED``: created or the changed fields, never the address).
"""
from __future__ import annotations

from flask import Blueprint, g
from marshmallow import Schema, ValidationError, fields, validate

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from . import load_json
from .digest_settings import valid_zone

bp = Blueprint("estates", __name__)

WRITERS = ("group_admin", "head_office")
KINDS = ("residential", "office", "commercial", "handover")  # intake's estates_admin.KINDS
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$"
MAX_UNITS = 1_000_000


def _zone(value: str) -> None:
    if not valid_zone(value):
        raise ValidationError("Not a known time zone (e.g. Asia/Shanghai).")


class EstateChangesSchema(Schema):
    code = fields.String(validate=validate.Regexp(CODE_PATTERN), metadata={"description": "must be the path's"})
    name = fields.String(validate=validate.Length(min=1, max=100))
    kind = fields.String(validate=validate.OneOf(KINDS))
    region = fields.String(allow_none=True, validate=validate.Length(max=40),
                           metadata={"description": "one of the group's regions; null or empty: none"})
    timezone = fields.String(validate=[validate.Length(min=1, max=64), _zone])
    address = fields.String(validate=validate.Length(max=200))
    units = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=1, max=MAX_UNITS),
                           metadata={"description": "registered units (complaints per 1,000 units); null: none"})
    active = fields.Boolean(metadata={"description": "false deactivates (estates are never deleted)"})


class EstateCreateSchema(EstateChangesSchema):
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN),
                         metadata={"description": "2-40 letters, digits, - and _; stored upper-case; never changes"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS))


def _require_writer() -> None:
    if not current_principal().has_role(*WRITERS):
        raise ApiError(403, "forbidden")


@bp.post("/estates")
def create_estate():
    _require_writer()
    data = load_json(EstateCreateSchema())
    saved = rpc.client().call("intake", "create_estate", data)
    g.estate_saved = saved  # for the audit row
    return saved, 201


@bp.put("/estates/<code>")
def update_estate(code: str):
    _require_writer()
    data = load_json(EstateChangesSchema())
    saved = rpc.client().call("intake", "update_estate", code[:41], data)
    g.estate_saved = saved
    return saved
