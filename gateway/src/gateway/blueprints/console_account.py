"""The signed-in user's own account page (``/account``: password, TOTP), the login's TOTP step and the
public page that spends a password reset link (``/reset-password/<token>``).

Login with TOTP: the password step (``console.login``) keeps only ``{uid, tid, username, at}`` in the signed
session and asks for the code on the same ``/login`` URL (``step=totp``); the code must come within 5 minutes
and a wrong one counts towards the username's lockout like a wrong password.
"""
from __future__ import annotations

import time

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from estatedesk_common.db import utcnow

from .. import accounts, lockout, passwords, totp
from ..tables import users
from .console import page, page_error, start_session

bp = Blueprint("console_account", __name__)
bp.register_error_handler(Exception, page_error)

SECOND_STEP_SECONDS = 300
PASSWORD_MESSAGES = {
    "too_short": _l("The password needs at least 10 characters."),
    "too_long": _l("The password is too long."),
    "is_username": _l("The password must not be the username."),
    "too_common": _l("This password is too common; choose another."),
    "wrong_current": _l("The current password is wrong."),
    "reset_invalid": _l("This reset link is invalid, used or expired. Ask your administrator for a new one."),
}


def ask_second_factor(principal, username: str):
    session["mfa"] = {"uid": principal.user_id, "tid": principal.tenant_id, "u": username, "at": int(time.time())}
    return render_template("login.html", totp_step=True, username=username, error=None), 200


def second_step():
    pending = session.get("mfa") or {}
    if not pending or time.time() - pending.get("at", 0) > SECOND_STEP_SECONDS:
        session.pop("mfa", None)
        return render_template("login.html", error=_("The login took too long. Log in again."), username=""), 401
    code = request.form.get("totp", "").strip()[:32]
    engine = current_app.extensions["db"]
    principal = accounts.Principal(pending["tid"], pending["uid"], ())
    error = _("Enter the code from your authenticator app.")
    if code:
        try:
            done = lockout.attempt_second_factor(engine, pending["u"], principal, code)
        except lockout.AccountLocked as exc:
            session.pop("mfa", None)
            minutes = -(-exc.retry_after(utcnow()) // 60)
            return render_template("login.html", username=pending["u"], error=_(
                "Too many failed logins. This account is locked; try again in %(minutes)d minutes.",
                minutes=minutes)), 401
        if done is not None:
            with engine.connect() as conn:
                version = conn.execute(users.select().with_only_columns(users.c.token_version).where(
                    users.c.tenant_id == done.tenant_id, users.c.id == done.user_id)).scalar() or 0
            return start_session(accounts.Principal(done.tenant_id, done.user_id, (), version))
        error = _("The code is wrong. Try the current code or a recovery code.")
    return render_template("login.html", totp_step=True, username=pending["u"], error=error), 401


def _account_page(status: int = 200, **extra):
    principal = g.principal
    with current_app.extensions["db"].connect() as conn:
        state = {"enabled": totp.enabled(conn, principal.tenant_id, principal.user_id),
                 "pending": totp.pending(conn, principal.tenant_id, principal.user_id),
                 "remaining": totp.remaining_codes(conn, principal.tenant_id, principal.user_id)}
    qr = totp.qr_svg(state["pending"]["otpauth_uri"]) if state["pending"] else None
    return render_template("account.html", totp_state=state, qr_svg=qr, errors=extra.pop("errors", {}),
                           **extra), status


@bp.get("/account")
@page()
def account():
    return _account_page()


@bp.post("/account/password")
@page()
def change_password():
    principal, form = g.principal, request.form
    new = form.get("new_password", "")[:2048]
    if new != form.get("confirm_password", "")[:2048]:
        return _account_page(422, errors={"confirm_password": _("The two new passwords differ.")})
    try:
        with current_app.extensions["db"].begin() as conn:
            passwords.change(conn, principal.tenant_id, principal.user_id, form.get("current_password", "")[:1024],
                             new)
            profile = accounts.profile(conn, principal.tenant_id, principal.user_id)
    except passwords.PasswordRejected as exc:
        field = "current_password" if exc.reason == "wrong_current" else "new_password"
        return _account_page(422, errors={field: str(PASSWORD_MESSAGES[exc.reason])})
    session["ver"] = profile["token_version"]  # this browser stays in; other sessions and tokens end
    flash(_("Your password was changed. Other sessions and access tokens have been signed out."))
    return redirect(url_for("console_account.account"))


@bp.post("/account/totp")
@page()
def begin_totp():
    try:
        with current_app.extensions["db"].begin() as conn:
            totp.begin(conn, g.principal.tenant_id, g.principal.user_id)
    except totp.TotpError:
        flash(_("Two-step verification is already on."))
    return redirect(url_for("console_account.account"))


@bp.post("/account/totp/confirm")
@page()
def confirm_totp():
    try:
        with current_app.extensions["db"].begin() as conn:
            codes = totp.confirm(conn, g.principal.tenant_id, g.principal.user_id,
                                 request.form.get("code", "")[:32])
    except totp.TotpError as exc:
        message = _("The code is wrong. Try the current code.") if exc.reason == "invalid_code" else _(
            "Start setting up two-step verification first.")
        return _account_page(422, errors={"code": message})
    return _account_page(recovery_codes=codes)


@bp.post("/account/totp/disable")
@page()
def disable_totp():
    principal, form = g.principal, request.form
    with current_app.extensions["db"].begin() as conn:
        row = conn.execute(users.select().with_only_columns(users.c.password_hash).where(
            users.c.tenant_id == principal.tenant_id, users.c.id == principal.user_id)).first()
        if row is None or not accounts.verify_password(row.password_hash, form.get("password", "")[:1024]):
            errors = {"password": _("The password is wrong.")}
        elif not totp.verify(conn, principal.tenant_id, principal.user_id, form.get("code", "")[:32]):
            errors = {"disable_code": _("The code is wrong. Try the current code.")}
        else:
            totp.remove(conn, principal.tenant_id, principal.user_id, by_admin=False)
            errors = None
    if errors:
        return _account_page(422, errors=errors)
    flash(_("Two-step verification is off."))
    return redirect(url_for("console_account.account"))


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
def reset_page(token: str):
    engine = current_app.extensions["db"]
    with engine.connect() as conn:
        target = passwords.reset_target(conn, token[:200])
    if target is None:
        return render_template("reset_password.html", invalid=True, errors={}), 404
    if request.method == "GET":
        return render_template("reset_password.html", username=target["username"], errors={})
    new = request.form.get("new_password", "")[:2048]
    if new != request.form.get("confirm_password", "")[:2048]:
        errors = {"confirm_password": _("The two new passwords differ.")}
    else:
        try:
            with engine.begin() as conn:
                passwords.use_reset(conn, token[:200], new)
        except passwords.PasswordRejected as exc:
            errors = {"new_password": str(PASSWORD_MESSAGES[exc.reason])}
        else:
            flash(_("Your password was set. Log in with it."))
            return redirect(url_for("console.login"))
    return render_template("reset_password.html", username=target["username"], errors=errors), 422
