"""The managers' daily digest setting (``/api/v1/digest-settings``), owned by notify (notify.digest).

Once a day at the tenant's local hour, notify e-mails each manager among the alert recipients (cs_supervisor,
site_manager, head_office) a summary of their estates. The setting is the tenant's:

``GET /digest-settings``: ``{"enabled", "hour", "timezone", "opt_outs": [addresses], "roles", "updated_at",
"updated_by"}`` (defaults: on, 08:00, Asia/Shanghai).
``PUT /digest-settings`` body ``{"enabled", "hour" (0-23), "timezone"? (IANA, default Asia/Shanghai),
"opt_outs"? (addresses that get no digest; absent: kept)}`` answers like GET; 422 naming the field
(``hour``, ``timezone``, ``opt_outs``: ``details.fields`` says which address). group_admin and head_office only (notify refuses anyone else too); the
audit log records each save (``audit.AUDITED``: the values, the number of opt-outs, never the addresses).
"""
from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from . import load_json

bp = Blueprint("digest_settings", __name__)

MANAGERS = ("group_admin", "head_office")
DEFAULT_ZONE = "Asia/Shanghai"
# offered on the console (notify's domain.digest.ZONES); the API takes any IANA zone
ZONES = ("Asia/Shanghai", "Asia/Urumqi", "Asia/Hong_Kong", "Asia/Macau", "Asia/Taipei")
MAX_OPT_OUTS = 200


def valid_zone(value: str) -> bool:
    """An IANA zone name the system knows (a directory, a path or a long name is not one)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64:
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _zone(value: str) -> None:
    if not valid_zone(value):
        raise ValidationError("Not a known time zone (e.g. Asia/Shanghai).")


class DigestSettingsSchema(Schema):
    enabled = fields.Boolean(required=True)
    hour = fields.Integer(required=True, strict=True, validate=validate.Range(min=0, max=23))
    timezone = fields.String(load_default=DEFAULT_ZONE, validate=[validate.Length(min=1, max=64), _zone])
    opt_outs = fields.List(fields.Email(validate=validate.Length(max=254)),
                           validate=validate.Length(max=MAX_OPT_OUTS))


def _require_manager():
    if not current_principal().has_role(*MANAGERS):
        raise ApiError(403, "forbidden")


@bp.get("/digest-settings")
def get_settings():
    _require_manager()
    return rpc.client().call("notify", "get_digest_settings")


@bp.put("/digest-settings")
def save_settings():
    _require_manager()
    data = load_json(DigestSettingsSchema())
    return rpc.client().call("notify", "set_digest_settings", data)
