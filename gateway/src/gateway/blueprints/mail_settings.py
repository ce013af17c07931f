"""The tenant's outgoing mail server (发件邮箱, ``/api/v1/mail-settings``), for group_admin only; owned by notify.

``GET /mail-settings``: ``{mode, host, port, security, username, password_set, from_address, from_name,
updated_at, updated_by}`` (``mode`` ``platform``: the operator's server; ``custom``: the tenant's own). The password
is write-only: never answered, ``password_set`` says whether one is stored.
``PUT /mail-settings``: the same fields plus ``password`` (absent, null or "" keeps the stored one, allowed only
while host and username stay the same); ``mode: platform`` clears the tenant's server. 422 ``validation_failed``
with ``details.field`` and, from notify, ``details.reason``. Audited (``mail_settings_saved``: before/after
without the password, and whether it changed).
``POST /mail-settings/test`` ``{to, settings?}``: sends a test mail now with ``settings`` (not saved) or the saved
settings, and answers ``{ok, server, security, stage?, error?, reply?, message}`` (200 either way: the test
ran): ``stage`` connect / tls / auth / send, ``error`` a stable code, ``reply`` the server's own words,
``message`` what went wrong in the caller's language (``Accept-Language``).
"""
from __future__ import annotations

from flask import Blueprint, request
from flask_babel import force_locale, lazy_gettext as _l
from marshmallow import Schema, fields, validate

from estatedesk_common import i18n
from estatedesk_common.i18n import negotiate

from .. import audit, rpc
from ..auth import current_principal, require_roles
from ..schemas import Stripped
from . import load_json

bp = Blueprint("mail_settings", __name__)

MODES = ("platform", "custom")
SECURITIES = ("none", "starttls", "tls")  # notify's domain.mail_settings.SECURITIES
VIEW_FIELDS = ("mode", "host", "port", "security", "username", "password_set", "from_address", "from_name")
TEST_TIMEOUT = 40  # seconds: connect, TLS, login and send may each take up to notify's SMTP_TIMEOUT

i18n.register({
    "error.secrets_key_missing": {
        "zh_CN": "服务器未配置加密密钥（ESTATEDESK_SECRETS_KEY），无法加密保存密码，请联系系统运维",
        "en": "The server has no encryption key (ESTATEDESK_SECRETS_KEY) to store the password with; ask your "
              "operator"},
})

# notify's test outcome (``error``) -> what the user reads; ``reply`` (the server's words) is shown beside it
TEST_MESSAGES = {
    "ok": _l("The test mail went out through %(server)s to %(to)s; check that it arrived."),
    "connect_failed": _l("Could not connect to the mail server %(server)s. Check the server name, the port and "
                         "that it accepts connections from us."),
    "address_not_allowed": _l("The mail server %(server)s resolves to an address that may not be used (internal, "
                              "loopback or reserved)."),
    "certificate_invalid": _l("The certificate of %(server)s did not pass verification (expired, not from a trusted "
                              "authority, or not for this server name)."),
    "starttls_unsupported": _l("%(server)s does not offer STARTTLS. Choose SSL/TLS, or check the port."),
    "tls_failed": _l("The encrypted connection to %(server)s failed. Check that the encryption matches the port "
                     "(STARTTLS usually 587, SSL/TLS 465)."),
    "auth_unsupported": _l("%(server)s does not accept a login on this port. Leave the username empty or check "
                           "the port."),
    "auth_failed": _l("The mail server refused the login. Check the username and password (some providers "
                      "want an authorisation code instead of the mailbox password)."),
    "sender_refused": _l("The mail server refused the sender address. Check that this account may send as it."),
    "recipient_refused": _l("The mail server refused the recipient %(to)s."),
    "message_refused": _l("The mail server refused the test mail."),
    "server_error": _l("The mail server answered with an error."),
    "password_unreadable": _l("The saved password cannot be decrypted (the encryption key may have changed). "
                              "Enter the password again and save."),
}


SECURITY_LABELS = {"starttls": _l("STARTTLS (usually port 587)"), "tls": _l("SSL/TLS (usually port 465)"),
                   "none": _l("None (only without a login, usually port 25)")}


def mail_form(view: dict) -> dict:
    """The console form's values from the saved settings (there is no password to put back: the API has none)."""
    return {k: view.get(k) for k in ("mode", "host", "port", "security", "username", "from_address", "from_name")}


class MailSettingsSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(MODES))
    host = Stripped(load_default="", validate=validate.Length(max=253))
    port = fields.Integer(load_default=None, allow_none=True, strict=True,
                          validate=validate.Range(min=1, max=65535))
    security = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(SECURITIES))
    username = Stripped(load_default="", validate=validate.Length(max=254))
    password = fields.String(load_default=None, allow_none=True, load_only=True,
                             validate=validate.Length(max=200),
                             metadata={"description": "write-only; absent, null or empty keeps the stored one"})
    from_address = Stripped(load_default="", validate=validate.Length(max=254))
    from_name = Stripped(load_default="", validate=validate.Length(max=100))


class MailTestSchema(Schema):
    to = fields.Email(required=True, validate=validate.Length(max=254))
    settings = fields.Nested(MailSettingsSchema, load_default=None, allow_none=True,
                             metadata={"description": "settings to try without saving them; default the saved ones"})


def for_notify(data: dict) -> dict:
    """The body notify checks: an empty password means "keep the stored one"."""
    return data | {"password": data.get("password") or None}


def audit_saved(tenant_id: str, saved: dict) -> None:
    """Before and after, without the password (only whether it is set and whether it changed). notify answers
    the save with the settings it replaced, in the same transaction: no separate read is needed here."""
    before = {k: saved["before"].get(k) for k in VIEW_FIELDS}
    after = {k: saved["settings"].get(k) for k in VIEW_FIELDS}
    changes = audit.changes(before, after) | ({"password": "changed"} if saved.get("password_changed") else {})
    audit.record_now(tenant_id, "mail_settings_saved", target_kind="mail_settings", target_id="tenant", detail={
        "before": before, "after": after, "password_changed": bool(saved.get("password_changed")),
        "changes": changes})


def describe_test(result: dict, to: str) -> str:
    """The test's outcome in the current locale."""
    text = TEST_MESSAGES["ok" if result.get("ok") else result.get("error")] if (
        result.get("ok") or result.get("error") in TEST_MESSAGES) else TEST_MESSAGES["server_error"]
    return str(text) % {"server": result.get("server") or "", "to": to}


def run_test(to: str, locale: str, settings: dict | None) -> dict:
    """notify's ``send_test_mail`` with a timeout long enough for a slow server."""
    return rpc.client().call("notify", "send_test_mail", to, locale,
                             None if settings is None else for_notify(settings), timeout=TEST_TIMEOUT)


@bp.get("/mail-settings")
@require_roles("group_admin")
def get_settings():
    current_principal()
    return rpc.client().call("notify", "get_mail_settings"), 200, {"Cache-Control": "no-store"}


@bp.put("/mail-settings")
@require_roles("group_admin")
def save_settings():
    principal = current_principal()
    saved = rpc.client().call("notify", "save_mail_settings", for_notify(load_json(MailSettingsSchema())))
    audit_saved(principal.tenant_id, saved)
    return saved["settings"], 200, {"Cache-Control": "no-store"}


@bp.post("/mail-settings/test")
@require_roles("group_admin")
def try_settings():
    current_principal()
    data = load_json(MailTestSchema())
    locale = negotiate(request.headers.get("Accept-Language"))
    result = run_test(data["to"], locale, data["settings"])
    with force_locale(locale):
        message = describe_test(result, data["to"])
    return result | {"message": message}, 200, {"Cache-Control": "no-store"}

