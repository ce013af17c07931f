"""Message templates (``/api/v1/notify-templates``), owned by notify (notify.template_overrides).

A tenant's (or one estate's) wording of the e-mails and SMS notify sends: each part (``subject``, ``body_txt``,
``body_html``, ``sms``) is a Jinja2 template rendered in notify's sandbox; an estate's override beats the
tenant's, which beats the shipped default.

- ``GET /notify-templates``: the messages with their parts, and every override the caller may read.
- ``GET /notify-templates/<message>/<locale>[?estate=CODE]``: per part the default, the tenant's override (what
  an estate inherits), the scope's own override and which is in force; the variables a template may use.
- ``POST /notify-templates/<message>/<locale>/preview`` body ``{"estate"?, "parts": {part: source}}``: renders
  against a sample of the message, nothing saved; ``{"parts": {part: output}, "errors": {part: {message, line,
  field}}}``.
- ``PUT /notify-templates/<message>/<locale>`` same body: saves once every part compiles and renders (else 422
  ``validation_failed`` with ``details.field`` = ``parts.<part>``, ``details.line`` and ``details.errors``);
  a part of ``null`` goes back to what is inherited.
- ``DELETE /notify-templates/<message>/<locale>[?estate=CODE&part=PART]``: back to what is inherited.

group_admin and head_office: the tenant's templates and every estate's; a site_manager its estates' (reads
the tenant's). An estate must be one of the tenant's (404 in the query, 422 in a body); notify checks roles.
"""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema, fields, validate

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from . import load_json

bp = Blueprint("notify_templates", __name__)

ROLES = ("group_admin", "head_office", "site_manager")
PARTS = ("subject", "body_txt", "body_html", "sms")  # notify's domain.template_overrides.PARTS
MAX_SOURCE = 20_000
ESTATE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="Must be an estate code.")


class PartsSchema(Schema):
    subject = fields.String(allow_none=True, validate=validate.Length(max=MAX_SOURCE))
    body_txt = fields.String(allow_none=True, validate=validate.Length(max=MAX_SOURCE))
    body_html = fields.String(allow_none=True, validate=validate.Length(max=MAX_SOURCE))
    sms = fields.String(allow_none=True, validate=validate.Length(max=MAX_SOURCE))


class TemplateSchema(Schema):
    estate = fields.String(load_default=None, allow_none=True, validate=ESTATE)
    parts = fields.Nested(PartsSchema, required=True)


class TemplateArgs(Schema):
    estate = fields.String(validate=ESTATE)
    part = fields.String(validate=validate.OneOf(PARTS))


def _caller():
    principal = current_principal()
    if not principal.has_role(*ROLES):
        raise ApiError(403, "forbidden")
    return principal


def known_estate(code: str | None) -> bool:
    return code is None or code in {e.get("code") for e in rpc.client().call("intake", "list_estates")}


def _query_estate() -> str | None:
    estate = request.args.get("estate") or None
    if estate is not None and not known_estate(estate[:41]):
        raise ApiError(404, "estate_not_found", details={"field": "estate"})
    return estate


def _body() -> dict:
    data = load_json(TemplateSchema())
    if not data["parts"]:
        raise ApiError(422, "validation_failed", details={"field": "parts", "fields": {"parts": ["No part given."]}},
                       field="parts")
    if not known_estate(data["estate"]):
        raise ApiError(422, "validation_failed", details={"field": "estate", "fields": {"estate": ["Unknown estate."]}},
                       field="estate")
    return data


@bp.get("/notify-templates")
def list_templates():
    _caller()
    return rpc.client().call("notify", "list_template_overrides")


@bp.get("/notify-templates/<message>/<locale>")
def get_template(message, locale):
    _caller()
    return rpc.client().call("notify", "get_template", message, locale, _query_estate())


@bp.post("/notify-templates/<message>/<locale>/preview")
def preview_template(message, locale):
    _caller()
    data = _body()
    return rpc.client().call("notify", "preview_template", message, locale, data["parts"], data["estate"])


@bp.put("/notify-templates/<message>/<locale>")
def save_template(message, locale):
    _caller()
    data = _body()
    return rpc.client().call("notify", "save_template", message, locale, data["parts"], data["estate"])


@bp.delete("/notify-templates/<message>/<locale>")
def delete_template(message, locale):
    _caller()
    part = request.args.get("part") or None
    if part is not None and part not in PARTS:
        raise ApiError(422, "validation_failed", details={"field": "part"}, field="part")
    return rpc.client().call("notify", "delete_template", message, locale, _query_estate(), part)
