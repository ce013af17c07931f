"""The 发件邮箱 (outgoing mail server) section of ``/admin/integrations``: save the tenant's own SMTP server or go back
to the platform's, and send a test mail with the form's values (saved or not). Group admins only, CSRF.

The same RPCs and audit row as ``/api/v1/mail-settings`` (``mail_settings.py``). The form is checked here for what
the page can say at once (required fields, a numeric port, the test address); notify checks everything and its
refusals come back as ``details.field`` + ``details.reason``, worded here in the user's language. The password is
never put back into the page: its input stays empty (empty = keep the stored one) and says whether one is set.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from ..web import select_locale
from .console import page, page_error
from .console_integrations import _render
from .mail_settings import MODES, SECURITIES, audit_saved, describe_test, for_notify, run_test

bp = Blueprint("console_mail_settings", __name__)
bp.register_error_handler(Exception, page_error)

FIELDS = ("host", "port", "security", "username", "from_address", "from_name")
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
REASONS = {  # notify's details.reason -> what the page says (by field when it matters)
    "required:host": _l("Enter the mail server's name, e.g. smtp.exmail.qq.com."),
    "required:from_address": _l("Enter the sender address, e.g. service@your-company.cn."),
    "host_format": _l("Only the server's name or IP address, e.g. smtp.exmail.qq.com (no smtp://, port or path)."),
    "address_not_allowed": _l("This address may not be used (internal, loopback or reserved)."),
    "invalid_port": _l("The port is a number from 1 to 65535."),
    "invalid_security": _l("Choose how the connection is encrypted."),
    "tls_required_for_login": _l("With a login choose STARTTLS or SSL/TLS: the password must not cross the network "
                                 "in clear text."),
    "invalid_address": _l("Enter a valid e-mail address (letters, digits and symbols)."),
    "invalid_username": _l("The username may contain letters, digits and symbols only."),
    "invalid_password": _l("At most 200 characters: letters, digits and symbols only."),
    "password_required": _l("Enter the password for this username."),
    "password_required_for_new_server": _l("Enter the password again: the server or username changed."),
    "other": _l("This value was refused."),
}


def _form() -> dict:
    form = {name: request.form.get(name, "").strip()[:300] for name in FIELDS}
    form["mode"] = request.form.get("mode", "custom")
    form["password"] = request.form.get("password", "")[:300]
    return form


def _checked(form: dict) -> tuple[dict | None, dict]:
    """``(body for notify, errors)``: what the page can tell at once; notify checks the rest."""
    errors = {}
    if form["mode"] not in MODES:
        errors["mode"] = _("Choose the platform's mail server or your own.")
    if form["mode"] != "custom":
        return ({"mode": "platform"} if not errors else None), errors
    if not form["host"]:
        errors["host"] = str(REASONS["required:host"])
    if form["port"] and not (form["port"].isdigit() and 1 <= int(form["port"]) <= 65535):
        errors["port"] = str(REASONS["invalid_port"])
    if form["security"] not in SECURITIES:
        errors["security"] = str(REASONS["invalid_security"])
    if not form["from_address"]:
        errors["from_address"] = str(REASONS["required:from_address"])
    if errors:
        return None, errors
    body = {k: form[k] for k in FIELDS} | {"mode": "custom", "port": int(form["port"]) if form["port"] else None,
                                           "password": form["password"] or None}
    return body, {}


def _refusal(exc: RemoteError) -> dict:
    """notify's 4xx as ``{field: message}``; 403 aborts; anything else goes to the error page."""
    found = parse_remote(exc.value)
    key_missing = found is not None and found.get("error") == "secrets_key_missing"
    if found is None or (not 400 <= int(found.get("status", 500)) < 500 and not key_missing):
        raise exc
    if int(found["status"]) == 403:
        abort(403)
    details = found.get("details") or {}
    field = str(details.get("field") or "mode")
    if key_missing:
        return {"password": _("The server has no encryption key to store the password with; ask your operator.")}
    if found.get("error") == "conflict":
        return {"mode": _("Someone saved these settings at the same moment; check them and save again.")}
    reason = str(details.get("reason") or "other")
    message = REASONS.get(f"{reason}:{field}") or REASONS.get(reason) or REASONS["other"]
    return {field if field in FIELDS + ("password", "mode") else "mode": str(message)}


@bp.post("/admin/integrations/mail")
@page("group_admin")
def save():
    form = _form()
    body, errors = _checked(form)
    if body is not None:
        try:
            saved = rpc.client().call("notify", "save_mail_settings", for_notify(body))
        except RemoteError as exc:
            errors = _refusal(exc)
        else:
            audit_saved(g.principal.tenant_id, saved)
            flash(_("The outgoing mail server was saved.") if body["mode"] == "custom"
                  else _("Mail goes out through the platform's mail server again."))
            return redirect(url_for("console_integrations.integrations") + "#mail-h")
    return _render(422, mail_form=form, mail_errors=errors)


@bp.post("/admin/integrations/mail/test")
@page("group_admin")
def send_test():
    form = _form()
    to = request.form.get("test_to", "").strip()[:254]
    body, errors = _checked(form)
    if not _EMAIL.match(to):
        errors["test_to"] = _("Enter the address the test mail goes to.")
    if errors:
        return _render(422, mail_form=form | {"test_to": to}, mail_errors=errors)
    try:
        result = run_test(to, select_locale(), body)
    except RemoteError as exc:
        return _render(422, mail_form=form | {"test_to": to}, mail_errors=_refusal(exc))
    outcome = {"ok": bool(result.get("ok")), "message": describe_test(result, to), "reply": result.get("reply")}
    return _render(200, mail_form=form | {"test_to": to}, mail_test=outcome)
