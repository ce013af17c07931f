"""Group admins' pages: users (``/admin/users``: list, create with a one-time initial password, edit name,
e-mail address, roles and active flag, issue a password reset link, reset TOTP) and the audit log
(``/admin/audit``, with ``/admin/audit/export.<csv|xlsx>`` of the filtered rows).

The same functions as the API (``users_admin``, ``passwords``, ``totp``, ``audit``), so both refuse alike.
Roles are edited as rows of (role, estate or "every estate"); an empty role row is ignored.
"""
from __future__ import annotations

import datetime as dt
import uuid

from flask import Blueprint, Response, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from .. import audit, audit_export, passwords, rpc, totp, users_admin
from ..tables import ROLES
from ..web import public_url
from .console import page, page_error

bp = Blueprint("console_admin", __name__)
bp.register_error_handler(Exception, page_error)

PAGE_SIZE = 50
REFUSALS = {
    "username_taken": _l("This username is taken."),
    "unknown_role": _l("Unknown role."),
    "unknown_estate": _l("This estate is not one of the group's."),
    "cannot_change_self": _l("You cannot deactivate yourself or drop your own group admin role."),
    "invalid_email": _l("Enter a valid e-mail address, or leave it empty."),
}

ACTION_LABELS = {
    "login_ok": _l("Logged in"), "login_failed": _l("Failed login"), "login_locked": _l("Login while locked"),
    "logout": _l("Logged out"), "password_changed": _l("Password changed"),
    "password_reset_issued": _l("Password reset link issued"), "password_reset_used": _l("Password reset used"),
    "totp_enabled": _l("Two-step verification on"), "totp_disabled": _l("Two-step verification off"),
    "totp_reset": _l("Two-step verification reset"), "recovery_code_used": _l("Recovery code used"),
    "api_key_issued": _l("API key issued"), "api_key_revoked": _l("API key revoked"),
    "user_created": _l("User created"), "user_updated": _l("User renamed"),
    "user_deactivated": _l("User deactivated"), "user_reactivated": _l("User reactivated"),
    "user_roles_changed": _l("Roles changed"), "sla_policy_saved": _l("Time limits saved"),
    "case_action": _l("Case action"), "report_exported": _l("Report exported"),
    "routing_rules_saved": _l("Routing rules saved"), "staff_contacts_saved": _l("Alert recipients saved"),
    "audit_exported": _l("Audit log exported"), "webhook_created": _l("Webhook added"),
    "webhook_deleted": _l("Webhook removed"), "report_subscribed": _l("Report subscription added"),
    "report_unsubscribed": _l("Report subscription ended"), "user_email_changed": _l("E-mail address changed"),
    "duty_roster_saved": _l("Duty roster saved"), "templates_saved": _l("Message templates saved"),
    "templates_reset": _l("Message templates reset"),
    "wechat_account_updated": _l("WeChat account settings saved"),
    "digest_settings_saved": _l("Daily digest settings saved"),
    "mail_settings_saved": _l("Outgoing mail server saved"),
    "estate_saved": _l("Estate saved"),
    "region_saved": _l("Region saved"), "building_saved": _l("Building saved"),
    "building_removed": _l("Building removed"), "unit_saved": _l("Unit saved"), "unit_removed": _l("Unit removed"),
    "units_imported": _l("Units imported"),
}

def _estates() -> list[dict]:
    return sorted(rpc.client().call("intake", "list_estates"), key=lambda e: e.get("code") or "")


def _roles_from_form() -> list[tuple[str, str | None]]:
    pairs = zip(request.form.getlist("role"), request.form.getlist("estate"))
    return [(role.strip()[:32], estate.strip()[:40] or None) for role, estate in pairs if role.strip()]


def _user_or_404(conn, user_id: str) -> dict:
    try:
        user_id = str(uuid.UUID(user_id))
    except ValueError:
        abort(404)
    found = users_admin.get_user(conn, g.principal.tenant_id, user_id)
    if found is None:
        abort(404)
    return found


@bp.route("/admin/users", methods=["GET", "POST"])
@page("group_admin")
def users_page():
    estates, errors, form, created = _estates(), {}, {}, None
    if request.method == "POST":
        form = {"username": request.form.get("username", "").strip()[:150],
                "display_name": request.form.get("display_name", "").strip()[:100],
                "email": request.form.get("email", "").strip()[:300]}
        if len(form["username"]) < 3 or any(c.isspace() for c in form["username"]):
            errors["username"] = _("3 to 150 characters, no spaces.")
        if not form["display_name"]:
            errors["display_name"] = _("Enter a name.")
        if not errors:
            try:
                with current_app.extensions["db"].begin() as conn:
                    created = users_admin.create_user(conn, g.principal.tenant_id, form["username"],
                                                      form["display_name"], _roles_from_form(),
                                                      {e["code"] for e in estates}, form["email"])
                form = {}
            except users_admin.UserRefused as exc:
                errors[exc.field if exc.field in ("username", "email") else "roles"] = str(REFUSALS[exc.code])
    with current_app.extensions["db"].connect() as conn:
        listing = users_admin.list_users(conn, g.principal.tenant_id)
    status = 422 if errors else (201 if created else 200)
    return render_template("admin_users.html", users=listing["items"], estates=estates, role_codes=ROLES,
                           errors=errors, form=form, created=created), status


@bp.route("/admin/users/<user_id>", methods=["GET", "POST"])
@page("group_admin")
def user_page(user_id: str):
    estates, errors = _estates(), {}
    with current_app.extensions["db"].connect() as conn:
        user = _user_or_404(conn, user_id)
    if request.method == "POST":
        changes = {"display_name": request.form.get("display_name", "").strip()[:100] or user["display_name"],
                   "email": request.form.get("email", "")[:300],
                   "active": request.form.get("active") == "1", "roles": _roles_from_form()}
        try:
            with current_app.extensions["db"].begin() as conn:
                users_admin.update_user(conn, g.principal.tenant_id, user["id"], changes, g.principal.user_id,
                                        {e["code"] for e in estates})
        except users_admin.UserRefused as exc:
            errors["roles" if exc.field.startswith("roles") else exc.field] = str(REFUSALS[exc.code])
        else:
            flash(_("Saved."))
            return redirect(url_for("console_admin.user_page", user_id=user["id"]))
    return render_template("admin_user.html", user=user, estates=estates, role_codes=ROLES, errors=errors,
                           reset=None), 422 if errors else 200


@bp.post("/admin/users/<user_id>/password-reset")
@page("group_admin")
def password_reset(user_id: str):
    with current_app.extensions["db"].begin() as conn:
        user = _user_or_404(conn, user_id)
        issued = passwords.issue_reset(conn, g.principal.tenant_id, user["id"], g.principal.user_id)
    issued["url"] = public_url("console_account.reset_page", token=issued["token"])  # not from the Host header
    return render_template("admin_user.html", user=user, estates=_estates(), role_codes=ROLES, errors={},
                           reset=issued)


@bp.post("/admin/users/<user_id>/totp-reset")
@page("group_admin")
def totp_reset(user_id: str):
    with current_app.extensions["db"].begin() as conn:
        user = _user_or_404(conn, user_id)
        done = totp.remove(conn, g.principal.tenant_id, user["id"], by_admin=True)
    flash(_("Two-step verification was reset; the user can set it up again.") if done else
          _("Two-step verification was not on."))
    return redirect(url_for("console_admin.user_page", user_id=user["id"]))


def _day(name: str) -> dt.datetime | None:
    try:
        day = dt.date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.timezone(dt.timedelta(hours=8)))  # China days


def _audit_query(pageno: int = 1) -> audit.Query:
    """The page's filters (China days, inclusive); a bad date or action is no filter."""
    action = request.args.get("action") or None
    date_to = _day("to")
    return audit.Query(_day("from"), date_to + dt.timedelta(days=1) if date_to else None,
                       (request.args.get("user") or "").strip()[:150] or None,
                       action if action in audit.ACTIONS else None, PAGE_SIZE, (pageno - 1) * PAGE_SIZE)


@bp.get("/admin/audit")
@page("group_admin")
def audit_page():
    pageno = max(1, request.args.get("page", 1, type=int) or 1)
    with current_app.extensions["db"].connect() as conn:
        result = audit.entries(conn, g.principal.tenant_id, _audit_query(pageno))
    return render_template("admin_audit.html", result=result, actions=audit.ACTIONS, args=request.args,
                           action_labels=ACTION_LABELS, export_limit=audit_export.EXPORT_LIMIT,
                           change_lines=audit_export.change_lines,
                           other_detail=lambda d: {k: v for k, v in (d or {}).items() if k != "changes"},
                           page=pageno, pages=max(1, -(-result["total"] // PAGE_SIZE)))


@bp.get("/admin/audit/export.<fmt>")
@page("group_admin")
def audit_export_file(fmt: str):
    """The rows the page's filters select, as CSV or XLSX in the page's language (``audit_export``)."""
    if fmt not in audit_export.FORMATS:
        abort(404)
    query = _audit_query()
    with current_app.extensions["db"].begin() as conn:
        header, body, _total = audit_export.rows(conn, g.principal.tenant_id, query, ACTION_LABELS)
        audit_export.record_export(conn, g.principal.tenant_id, fmt, query, len(body))
    name = audit_export.filename(fmt, dt.datetime.now(dt.timezone.utc))
    return Response(audit_export.render(fmt, header, body), mimetype=audit_export.FORMATS[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
