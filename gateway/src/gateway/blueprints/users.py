"""User administration and the audit log of the caller's tenant, for group_admin only (``/api/v1``).

``GET/POST /users``, ``PATCH /users/<id>`` (display_name, email, active, roles), ``POST /users/<id>/password-reset``
(a one-time link, answered once), ``DELETE /users/<id>/totp`` (reset the user's second factor) and
``GET /audit`` (``GET /audit/export.<csv|xlsx>``: the same filters as a file). Another tenant's user is 404
like an unknown one; estates are checked against intake's
``list_estates`` of the caller's tenant.
"""
from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, Response, current_app, request, url_for
from flask_babel import force_locale
from marshmallow import Schema, ValidationError, fields, validate

from estatedesk_common import i18n
from estatedesk_common.i18n import negotiate

from .. import audit, audit_export as audit_export_, passwords, rpc, totp, users_admin
from ..auth import current_principal, require_roles
from ..errors import ApiError
from ..schemas import Stripped
from ..tables import ROLES
from ..web import public_url
from . import load_json
from .console_admin import ACTION_LABELS

bp = Blueprint("users", __name__)

i18n.register({
    "error.user_not_found": {"zh_CN": "找不到该用户", "en": "No such user"},
    "error.username_taken": {"zh_CN": "该用户名已被使用", "en": "This username is taken"},
    "error.unknown_role": {"zh_CN": "未知的角色：{field}", "en": "Unknown role: {field}"},
    "error.unknown_estate": {"zh_CN": "该项目不属于本集团：{field}", "en": "Not an estate of this group: {field}"},
    "error.cannot_change_self": {"zh_CN": "不能停用自己或取消自己的集团管理员角色",
                                 "en": "You cannot deactivate yourself or drop your own group_admin role"},
    "error.invalid_email": {"zh_CN": "电子邮箱地址无效", "en": "Not a valid e-mail address"},
})


class RoleGrant(fields.Field):
    """``[role, estate or null]``."""

    def _deserialize(self, value, attr, data, **kwargs):
        if (not isinstance(value, (list, tuple)) or len(value) != 2 or not isinstance(value[0], str)
                or not (value[1] is None or isinstance(value[1], str)) or len(value[0]) > 32
                or (value[1] is not None and not 0 < len(value[1]) <= 40)):
            raise ValidationError("Expected [role, estate code or null].")
        return value[0], value[1]


class UserCreateSchema(Schema):
    username = Stripped(required=True, validate=[validate.Length(min=3, max=150),
                                                 validate.Regexp(r"^[^\s]+$", error="No spaces.")])
    display_name = Stripped(required=True, validate=validate.Length(min=1, max=100))
    email = fields.String(allow_none=True, validate=validate.Length(max=254),
                          metadata={"description": "optional; where a password reset link the user asks for goes"})
    roles = fields.List(RoleGrant(), required=True, validate=validate.Length(max=50),
                        metadata={"description": f"[[role, estate or null]]; roles: {', '.join(ROLES)}"})


class UserPatchSchema(Schema):
    display_name = Stripped(validate=validate.Length(min=1, max=100))
    email = fields.String(allow_none=True, validate=validate.Length(max=254),
                          metadata={"description": "null or empty removes it"})
    active = fields.Boolean()
    roles = fields.List(RoleGrant(), validate=validate.Length(max=50))


class AuditExportArgs(Schema):
    date_from = fields.DateTime(data_key="from", metadata={"description": "ISO 8601; inclusive"})
    date_to = fields.DateTime(data_key="to", metadata={"description": "ISO 8601; exclusive"})
    user = fields.String(validate=validate.Length(max=150), metadata={"description": "user id or username"})
    action = fields.String(validate=validate.OneOf(audit.ACTIONS))


class AuditArgs(AuditExportArgs):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=audit.MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0))


def load_args(schema: Schema) -> dict:
    try:
        return schema.load(request.args)
    except ValidationError as exc:
        field = next(iter(exc.messages))
        raise ApiError(422, "validation_failed", details={"field": field, "fields": exc.messages},
                       field=field) from None


def user_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "user_not_found", details={"field": "id"}) from None


def tenant_estates() -> set[str]:
    return {e.get("code") for e in rpc.client().call("intake", "list_estates")}


def refused(exc: users_admin.UserRefused) -> ApiError:
    status = 409 if exc.code == "username_taken" else 422
    return ApiError(status, exc.code, details={"field": exc.field}, field=exc.field)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@bp.get("/audit")
@require_roles("group_admin")
def audit_entries():
    args = load_args(AuditArgs())
    query = audit.Query(_aware(args.get("date_from")), _aware(args.get("date_to")), args.get("user"),
                        args.get("action"), args["limit"], args["offset"])
    with current_app.extensions["db"].connect() as conn:
        return audit.entries(conn, current_principal().tenant_id, query)


@bp.get("/audit/export.<fmt>")
@require_roles("group_admin")
def audit_export(fmt: str):
    """The filtered log as CSV or XLSX (at most ``audit_export.EXPORT_LIMIT`` rows), headers in the caller's
    ``Accept-Language``; formula-safe cells; the export is itself audited."""
    if fmt not in audit_export_.FORMATS:
        raise ApiError(404, "not_found")
    args = load_args(AuditExportArgs())
    tenant_id = current_principal().tenant_id
    query = audit.Query(_aware(args.get("date_from")), _aware(args.get("date_to")), args.get("user"),
                        args.get("action"))
    with force_locale(negotiate(request.headers.get("Accept-Language"))):
        with current_app.extensions["db"].begin() as conn:
            header, body, _total = audit_export_.rows(conn, tenant_id, query, ACTION_LABELS)
            audit_export_.record_export(conn, tenant_id, fmt, query, len(body))
        content = audit_export_.render(fmt, header, body)
    name = audit_export_.filename(fmt, dt.datetime.now(dt.timezone.utc))
    return Response(content, mimetype=audit_export_.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


@bp.get("/users")
@require_roles("group_admin")
def list_users():
    with current_app.extensions["db"].connect() as conn:
        return users_admin.list_users(conn, current_principal().tenant_id)


@bp.post("/users")
@require_roles("group_admin")
def create_user():
    principal = current_principal()
    body = load_json(UserCreateSchema())
    estates = tenant_estates()
    try:
        with current_app.extensions["db"].begin() as conn:
            created = users_admin.create_user(conn, principal.tenant_id, body["username"], body["display_name"],
                                              body["roles"], estates, body.get("email"))
    except users_admin.UserRefused as exc:
        raise refused(exc) from None
    return created, 201, {"Location": url_for("users.list_users"), "Cache-Control": "no-store"}


@bp.patch("/users/<user_id>")
@require_roles("group_admin")
def update_user(user_id: str):
    principal = current_principal()
    user_id = user_id_of(user_id)
    body = load_json(UserPatchSchema())
    estates = tenant_estates() if "roles" in body else set()
    try:
        with current_app.extensions["db"].begin() as conn:
            updated = users_admin.update_user(conn, principal.tenant_id, user_id, body, principal.user_id,
                                              estates)
    except users_admin.UserRefused as exc:
        raise refused(exc) from None
    if updated is None:
        raise ApiError(404, "user_not_found", details={"field": "id"})
    return updated


@bp.post("/users/<user_id>/password-reset")
@require_roles("group_admin")
def password_reset(user_id: str):
    principal = current_principal()
    user_id = user_id_of(user_id)
    with current_app.extensions["db"].begin() as conn:
        issued = passwords.issue_reset(conn, principal.tenant_id, user_id, principal.user_id)
    if issued is None:
        raise ApiError(404, "user_not_found", details={"field": "id"})
    issued["url"] = public_url("console_account.reset_page", token=issued["token"])  # not from the Host header
    return issued, 201, {"Cache-Control": "no-store"}


@bp.delete("/users/<user_id>/totp")
@require_roles("group_admin")
def reset_totp(user_id: str):
    principal = current_principal()
    user_id = user_id_of(user_id)
    with current_app.extensions["db"].begin() as conn:
        if users_admin.get_user(conn, principal.tenant_id, user_id) is None:
            raise ApiError(404, "user_not_found", details={"field": "id"})
        totp.remove(conn, principal.tenant_id, user_id, by_admin=True)
        return users_admin.get_user(conn, principal.tenant_id, user_id)
