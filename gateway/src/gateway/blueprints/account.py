"""The signed-in user's own account (``/api/v1/me/...``) and spending a reset link (``/api/v1/auth/password-reset``).

``POST /me/password`` {current_password, new_password}: a changed password ends every token of the user
(including the one used here: log in again). ``POST /me/totp`` starts enrolment (secret + otpauth URI + QR
SVG), ``POST /me/totp/confirm`` {code} switches it on and answers the ten recovery codes once,
``POST /me/totp/disable`` {password, code} switches it off (both factors needed).
"""
from __future__ import annotations

from flask import Blueprint, current_app
from marshmallow import Schema, fields, validate

from estatedesk_common import i18n

from .. import passwords, totp
from ..accounts import verify_password
from ..auth import current_principal, public
from ..errors import ApiError
from ..tables import users
from . import load_json

bp = Blueprint("account", __name__)

i18n.register({
    "error.password_too_short": {"zh_CN": "密码至少需要 10 个字符", "en": "The password needs at least 10 characters"},
    "error.password_too_long": {"zh_CN": "密码过长", "en": "The password is too long"},
    "error.password_is_username": {"zh_CN": "密码不能与用户名相同", "en": "The password must not be the username"},
    "error.password_too_common": {"zh_CN": "密码过于常见，请换一个", "en": "This password is too common"},
    "error.wrong_password": {"zh_CN": "当前密码不正确", "en": "The current password is wrong"},
    "error.password_reset_invalid": {"zh_CN": "重置链接无效或已过期", "en": "The reset link is invalid or expired"},
    "error.totp_invalid_code": {"zh_CN": "动态验证码不正确", "en": "The code is wrong"},
    "error.totp_already_enabled": {"zh_CN": "已启用两步验证", "en": "Two-step verification is already on"},
    "error.totp_not_pending": {"zh_CN": "请先开始设置两步验证", "en": "Start setting up two-step verification first"},
    "error.totp_not_enabled": {"zh_CN": "尚未启用两步验证", "en": "Two-step verification is not on"},
})

_PASSWORD_CODES = {"too_short": "password_too_short", "too_long": "password_too_long",
                   "is_username": "password_is_username", "too_common": "password_too_common"}


def password_error(exc: passwords.PasswordRejected, field: str = "new_password") -> ApiError:
    if exc.reason == "wrong_current":
        return ApiError(422, "wrong_password", details={"field": "current_password"})
    if exc.reason == "reset_invalid":
        return ApiError(404, "password_reset_invalid", details={"field": "token"})
    return ApiError(422, _PASSWORD_CODES[exc.reason], details={"field": field})


class PasswordChangeSchema(Schema):
    current_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class PasswordResetSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1, max=200))
    new_password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


class TotpCodeSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=32))


class TotpDisableSchema(TotpCodeSchema):
    password = fields.String(required=True, validate=validate.Length(min=1, max=1024))


@bp.post("/me/password")
def change_password():
    principal = current_principal()
    body = load_json(PasswordChangeSchema())
    try:
        with current_app.extensions["db"].begin() as conn:
            passwords.change(conn, principal.tenant_id, principal.user_id, body["current_password"],
                             body["new_password"])
    except passwords.PasswordRejected as exc:
        raise password_error(exc) from None
    return {"changed": True, "tokens_revoked": True}


@bp.post("/auth/password-reset")
@public
def use_password_reset():
    body = load_json(PasswordResetSchema())
    try:
        with current_app.extensions["db"].begin() as conn:
            target = passwords.use_reset(conn, body["token"], body["new_password"])
    except passwords.PasswordRejected as exc:
        raise password_error(exc) from None
    return {"changed": True, "username": target["username"]}, 200, {"Cache-Control": "no-store"}


@bp.post("/me/totp")
def begin_totp():
    principal = current_principal()
    with current_app.extensions["db"].begin() as conn:
        try:
            started = totp.begin(conn, principal.tenant_id, principal.user_id)
        except totp.TotpError:
            raise ApiError(409, "totp_already_enabled") from None
    started["qr_svg"] = totp.qr_svg(started["otpauth_uri"])
    return started, 201, {"Cache-Control": "no-store"}


@bp.post("/me/totp/confirm")
def confirm_totp():
    principal = current_principal()
    body = load_json(TotpCodeSchema())
    try:
        with current_app.extensions["db"].begin() as conn:
            codes = totp.confirm(conn, principal.tenant_id, principal.user_id, body["code"])
    except totp.TotpError as exc:
        if exc.reason == "invalid_code":
            raise ApiError(422, "totp_invalid_code", details={"field": "code"}) from None
        raise ApiError(409, "totp_not_pending") from None
    return {"enabled": True, "recovery_codes": codes}, 200, {"Cache-Control": "no-store"}


@bp.post("/me/totp/disable")
def disable_totp():
    principal = current_principal()
    body = load_json(TotpDisableSchema())
    with current_app.extensions["db"].begin() as conn:
        if not totp.enabled(conn, principal.tenant_id, principal.user_id):
            raise ApiError(409, "totp_not_enabled")
        password_hash = conn.execute(users.select().with_only_columns(users.c.password_hash).where(
            users.c.tenant_id == principal.tenant_id, users.c.id == principal.user_id)).scalar()
        if not verify_password(password_hash, body["password"]):
            raise ApiError(422, "wrong_password", details={"field": "password"})
        if not totp.verify(conn, principal.tenant_id, principal.user_id, body["code"]):
            raise ApiError(422, "totp_invalid_code", details={"field": "code"})
        totp.remove(conn, principal.tenant_id, principal.user_id, by_admin=False)
    return {"enabled": False}
