""""Forgot password" (``/forgot-password``): a user asks for a reset link by username and gets it by e-mail.

- **No enumeration**: the page answers the same neutral message, with the same status, whether the username is
  unknown, inactive, has no e-mail address, is over its limit, or a link was mailed; and the answer never comes
  sooner than ``PASSWORD_RESET_MIN_SECONDS`` (the database write and the RPC of a real user take longer than a
  miss). A failed RPC is logged (without the link) and answered alike.
- **Limits**: per IP on the POST (``PASSWORD_RESET_RATE_LIMIT``, Flask-Limiter like the owner pages: 429 page)
  and per username (``PASSWORD_RESET_USER_LIMIT``, the same limiter's storage, counted for unknown names too):
  over it, nothing is sent and the answer stays the neutral one, so a stranger can delay but not probe. Each
  link supersedes the previous one (``passwords.issue_reset``). CSRF as on every page.
- **Mail**: the gateway never speaks SMTP; ``notify.queue_password_reset`` renders and queues it in the user's
  chosen page language. The tenant travels as context data like on the owner pages (no principal), so notify's
  ``Tenant`` still fails closed. The link's host is ``PUBLIC_BASE_URL`` from configuration, never the request's
  ``Host`` header (which an attacker could point at their own server to collect tokens).
- The token and link are never logged; the audit log has ``password_reset_issued`` with ``by: self-service``.
"""
from __future__ import annotations

import hashlib
import logging
import time

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import gettext as _
from limits import parse_many

from .. import passwords, rpc
from ..web import public_url, select_locale
from .console import page_error

bp = Blueprint("console_forgot", __name__)
bp.register_error_handler(Exception, page_error)

log = logging.getLogger(__name__)


def register(app) -> None:
    """Register the blueprint with its per-IP limit on the POST (the console's limiter, ``web.init_console``)."""
    limiter = app.extensions["console_limiter"]
    limiter.limit(lambda: app.config["PASSWORD_RESET_RATE_LIMIT"], methods=["POST"])(bp)
    app.register_blueprint(bp)


def _username_allowed(username: str) -> bool:
    """Count one request for ``username`` (case-insensitive); False once it is over its limit. Counted under a hash
    of the name: memcached (a shared limit store) refuses keys with spaces or control characters, or over 250 bytes."""
    limiter = current_app.extensions["console_limiter"].limiter
    key = hashlib.sha256(username.lower().encode()).hexdigest()[:32]
    return all([limiter.hit(item, "password-reset-user", key)
                for item in parse_many(current_app.config["PASSWORD_RESET_USER_LIMIT"])])


def _send_link(username: str) -> None:
    """Issue a self-service reset for ``username`` and have notify mail it; nothing when there is no one to mail."""
    with current_app.extensions["db"].begin() as conn:
        issued = passwords.request_reset(conn, username)
    if issued is None:
        return
    link = public_url("console_account.reset_page", token=issued["token"])
    g.public_tenant_id = issued["tenant_id"]  # context data for notify's Tenant, as on the owner pages
    try:
        rpc.client().call("notify", "queue_password_reset", issued["email"], select_locale(), link,
                          issued["expires_at"])
    except Exception as exc:  # the neutral answer still goes out; the user may ask again
        log.warning("password reset e-mail for user %s not queued: %s", issued["user_id"], type(exc).__name__)
    else:
        log.info("password reset e-mail queued for user %s", issued["user_id"])


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_page():
    if request.method == "GET":
        return render_template("forgot_password.html", sent=False, username="", errors={})
    username = request.form.get("username", "").strip()[:150]
    if not username:
        return render_template("forgot_password.html", sent=False, username="",
                               errors={"username": _("Enter your username.")}), 422
    started = time.monotonic()
    g.pop("principal", None)  # the request acts for nobody, even from a signed-in browser (audit actor, RPC context)
    if _username_allowed(username):
        _send_link(username)
    else:
        log.info("password reset request over the per-username limit")
    pause = current_app.config["PASSWORD_RESET_MIN_SECONDS"] - (time.monotonic() - started)
    if pause > 0:
        time.sleep(pause)
    return render_template("forgot_password.html", sent=True, username="", errors={})
