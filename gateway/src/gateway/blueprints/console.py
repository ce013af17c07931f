"""Console pages: ``/login``, ``/logout`` (POST) and the home page ``/``, whose sections depend on the roles.

| role                          | home section                                                  |
|-------------------------------|---------------------------------------------------------------|
| agent                         | record a complaint + the complaints I recorded (newest 10)    |
| cs_supervisor, site_manager   | the queue of each estate in scope (newest 20 each)            |
| head_office, group_admin      | complaints per estate and channel (``reporting.complaint_counts``) |
"""
from __future__ import annotations

import functools
import re

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from nameko.exceptions import RemoteError

from estatedesk_common.db import utcnow
from estatedesk_common.errors import parse_remote

from .. import audit, errors, lockout, privacy, rpc

bp = Blueprint("console", __name__)

STAFF = ("agent", "cs_supervisor", "site_manager", "head_office", "group_admin")
QUEUE_ROLES = ("cs_supervisor", "site_manager")
COUNT_ROLES = ("head_office", "group_admin")


def page(*roles: str):
    """A page for logged-in users (with one of ``roles`` when given); others go to the login page."""
    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            principal = g.get("principal")
            if principal is None:
                return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
            if roles and not principal.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        return wrapper
    return decorator


def save_rows(service: str, method: str, args: tuple, list_name: str, messages: dict) -> dict | None:
    """Call ``service.method(*args)`` for a settings page that edits a list as rows; None once saved, else the
    page's errors for the service's 4xx: its field (``rules[2].team``, or the API's ``rules.2.team``) as the row's
    key ``"2.team"`` with ``messages[name]``, anything else under ``list_name`` (``messages["other"]``); 403
    aborts, 5xx is raised."""
    try:
        rpc.client().call(service, method, *args)
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or not 400 <= int(found.get("status", 500)) < 500:
            raise
        if int(found["status"]) == 403:
            abort(403)
        field = str((found.get("details") or {}).get("field") or "")
        names = "|".join(re.escape(k) for k in messages if k != "other")
        row = re.match(rf"^{re.escape(list_name)}[.\[](\d+)\]?\.({names})$", field)
        if row:
            return {f"{row.group(1)}.{row.group(2)}": str(messages[row.group(2)])}
        return {list_name: str(messages["other"])}
    return None


def estates_in_scope(principal, roles) -> list[str] | None:
    """Estate codes ``principal`` holds ``roles`` for; None means every estate of the tenant."""
    codes = [estate for role, estate in principal.roles if role in roles]
    return None if None in codes else sorted(set(codes))


def _safe_next(target: str | None) -> str:
    """Only a local path (no scheme, no ``//host``) is followed after login."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    error, username = None, ""
    if request.method == "POST" and request.form.get("step") == "totp":
        from .console_account import second_step  # TOTP users: the code after the password

        return second_step()
    if request.method == "POST":
        username = request.form.get("username", "").strip()[:150]
        password = request.form.get("password", "")[:1024]
        if not username or not password:
            error = _("Enter your username and password.")
        else:
            try:
                principal = lockout.attempt_login(current_app.extensions["db"], username, password)
            except lockout.SecondFactorRequired as exc:
                from .console_account import ask_second_factor

                return ask_second_factor(exc.principal, username)
            except lockout.AccountLocked as exc:
                minutes = -(-exc.retry_after(utcnow()) // 60)
                error = _("Too many failed logins. This account is locked; try again in %(minutes)d minutes.",
                          minutes=minutes)
                principal = None
            else:
                if principal is None:
                    error = _("Wrong username or password.")
            if principal is not None:
                return start_session(principal)
    status = 401 if error and request.method == "POST" else 200
    return render_template("login.html", error=error, username=username), status


def start_session(principal):
    """Log ``principal`` in on this browser and go where the login page was asked to go."""
    lang = session.get("lang")
    session.clear()  # nothing from before the login survives it
    session.permanent = True
    session.update(uid=principal.user_id, tid=principal.tenant_id, ver=principal.token_version)
    if lang:
        session["lang"] = lang
    return redirect(_safe_next(request.args.get("next")))


@bp.post("/logout")
def logout():
    principal = g.get("principal")
    if principal is not None:
        with current_app.extensions["db"].begin() as conn:
            audit.record(conn, principal.tenant_id, "logout", target_kind="user", target_id=principal.user_id)
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    return redirect(url_for("console.login"))


@bp.get("/")
@page()
def home():
    principal = g.principal
    if principal.has_role("committee_member") and not principal.has_role(*STAFF):
        return redirect(url_for("console_committee.forwarded_page"))  # a committee's home: what it forwarded
    sections = {}
    client = rpc.client()
    if principal.has_role("agent"):
        sections["mine"] = privacy.complaint_list(principal, client.call("intake", "list_complaints", limit=10,
                                                                         mine=True))["items"]
    if principal.has_role(*QUEUE_ROLES):
        scope = estates_in_scope(principal, QUEUE_ROLES)
        calls = [("intake", "list_complaints", (code, None, None, 20)) for code in scope or [None]]
        pages = client.call_many(calls)
        sections["queues"] = [(code, privacy.complaint_list(principal, result))
                              for code, result in zip(scope or [None], pages)]
    if principal.has_role(*COUNT_ROLES):
        sections["counts"] = _counts_by_estate(client.call("reporting", "complaint_counts", None, None))
    return render_template("home.html", sections=sections, staff=principal.has_role(*STAFF))


def _counts_by_estate(report: dict) -> dict:
    """``{"channels": [...], "estates": [{"code","name","by_channel":{},"total"}], "total"}`` for a table."""
    channels = sorted({row["channel"] for row in report.get("rows", [])})
    estates: dict[str, dict] = {}
    for row in report.get("rows", []):
        entry = estates.setdefault(row["estate"], {"code": row["estate"], "name": row.get("estate_name"),
                                                   "by_channel": {}, "total": 0})
        entry["by_channel"][row["channel"]] = row["count"]
        entry["total"] += row["count"]
    return {"channels": channels, "estates": sorted(estates.values(), key=lambda e: (-e["total"], e["code"])),
            "total": report.get("total", 0)}


_PAGE_MESSAGES = {
    400: _l("The request was not understood."),
    403: _l("You are not allowed to open this page."),
    404: _l("The page or complaint was not found."),
    429: _l("Too many attempts. Please wait a minute and try again."),
    503: _l("The service is temporarily unavailable. Please try again shortly."),
}


def page_error(exc: Exception):
    """Errors on pages: the same classification as the API (``errors.handle``, which also logs), as HTML."""
    if isinstance(exc, CSRFError):
        status, message = 400, _("This form has expired. Please go back, reload the page and submit again.")
    else:
        status = errors.handle(exc).status_code
        if isinstance(exc, RemoteError) and status not in _PAGE_MESSAGES:
            status = 400
        message = str(_PAGE_MESSAGES[status]) if status in _PAGE_MESSAGES else _(
            "Something went wrong (request id %(request_id)s).", request_id=g.get("request_id"))
    return render_template("error.html", status=status, message=message), status


bp.register_error_handler(Exception, page_error)
