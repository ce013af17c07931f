"""Staff alert recipients (``/api/v1/staff-contacts``), owned by notify (notify.staff).

Who notify e-mails on SLA warnings and breaches, escalations, major complaints and overdue callbacks: rows of
(role, estate or null = every estate, name, e-mail, phone, locale).

``GET /staff-contacts``: ``{"items": [{id, role, estate, name, email, phone, locale}]}``.
``PUT /staff-contacts`` body ``{"contacts": [{role, estate?, name?, email, phone?, locale?}]}`` replaces the
tenant's whole list (an empty list removes every recipient) and answers the stored list like GET.
Both are for group_admin and head_office only (notify refuses the save for anyone else too): the list holds
staff e-mail addresses and phones. An estate must be one of the tenant's (422 naming ``contacts.<i>.estate``);
notify checks the rest again.
"""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from . import load_json

bp = Blueprint("staff_contacts", __name__)

MANAGERS = ("group_admin", "head_office")
# notify's domain.staff.ROLES and domain.messages.LOCALES
ALERT_ROLES = ("agent", "cs_supervisor", "site_manager", "head_office", "group_admin", "department_head")
LOCALES = ("zh_CN", "en")
MAX_CONTACTS = 200


class ContactSchema(Schema):
    role = fields.String(required=True, validate=validate.OneOf(ALERT_ROLES))
    estate = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    name = fields.String(load_default="", validate=validate.Length(max=100))
    email = fields.Email(required=True, validate=validate.Length(max=254))
    phone = fields.String(load_default="", validate=validate.Length(max=40))
    locale = fields.String(load_default="zh_CN", validate=validate.OneOf(LOCALES))


class SaveContactsSchema(Schema):
    contacts = fields.List(fields.Nested(ContactSchema), required=True,
                           validate=validate.Length(max=MAX_CONTACTS))


def _require_manager():
    principal = current_principal()
    if not principal.has_role(*MANAGERS):
        raise ApiError(403, "forbidden")
    return principal


def check_estates(contacts: list[dict], known: set[str]) -> str | None:
    """The field path of the first contact whose estate is not one of ``known``, or None."""
    for i, contact in enumerate(contacts):
        if contact.get("estate") and contact["estate"] not in known:
            return f"contacts.{i}.estate"
    return None


@bp.get("/staff-contacts")
def list_contacts():
    _require_manager()
    return {"items": rpc.client().call("notify", "list_staff_contacts")}


@bp.put("/staff-contacts")
def save_contacts():
    _require_manager()
    data = load_json(SaveContactsSchema())
    bad = check_estates(data["contacts"], {e.get("code") for e in rpc.client().call("intake", "list_estates")})
    if bad:
        raise ApiError(422, "validation_failed", details={"field": bad, "fields": {bad: ["Unknown estate."]}},
                       field=bad)
    return {"items": rpc.client().call("notify", "set_staff_contacts", data["contacts"])}
