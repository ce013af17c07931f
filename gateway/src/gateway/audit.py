"""The audit log: who did what, when, from where (table ``audit_log``, append-only).

Two ways in:
- ``record(conn, ...)`` inside the transaction of the change itself (users, roles, passwords, TOTP, API keys,
  logins, audit exports), so the change and its audit row commit together or not at all; webhooks and report
  subscriptions (a service's change) are recorded right after the service answered, like ``AUDITED``;
- ``AUDITED``: routes whose effect happens in a service (case actions, SLA policy saves, report exports,
  routing rules, alert recipients, the daily digest setting and duty rosters saved through the API or the
  settings pages).
  ``after_request`` writes their row once the answer is a success; a gateway crash between the service's
  commit and this write loses the row (the service keeps its own history of the case: its timeline).

Nothing here updates or deletes a row, and no route does. ``detail`` never holds bodies (no complaint text):
names of fields and codes only, and every string passes ``mask_pii`` (phones, e-mails).
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from flask import current_app, g, has_request_context, request
from sqlalchemy import func, select

from estatedesk_common.db import utcnow
from estatedesk_common.observability import mask_pii

from .tables import audit_log, users

log = logging.getLogger(__name__)

ACTIONS = (
    "login_ok", "login_failed", "login_locked", "logout", "password_changed", "password_reset_issued",
    "password_reset_used", "totp_enabled", "totp_disabled", "totp_reset", "recovery_code_used",
    "api_key_issued", "api_key_revoked", "user_created", "user_updated", "user_deactivated",
    "user_reactivated", "user_roles_changed", "sla_policy_saved", "case_action", "report_exported",
    "audit_exported", "webhook_created", "webhook_deleted", "report_subscribed", "report_unsubscribed",
    "routing_rules_saved", "staff_contacts_saved", "user_email_changed", "duty_roster_saved",
    "templates_saved", "templates_reset", "wechat_account_updated", "digest_settings_saved",
    "mail_settings_saved", "estate_saved",
)
MAX_LIMIT = 500


def _mask(value):
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {str(k): _mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def _request_facts() -> tuple[str | None, str | None]:
    if not has_request_context():
        return None, None
    return g.get("request_id"), (request.remote_addr or None)


def record(conn, tenant_id: str, action: str, *, user_id: str | None = None, username: str | None = None,
           target_kind: str | None = None, target_id: str | None = None, detail: dict | None = None,
           at: dt.datetime | None = None) -> str:
    """Append one entry; the actor defaults to the request's principal. Returns its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    principal = g.get("principal") if has_request_context() else None
    if user_id is None and principal is not None:
        user_id = principal.user_id
    if username is None and user_id is not None:
        username = conn.execute(select(users.c.username).where(
            users.c.tenant_id == tenant_id, users.c.id == user_id)).scalar()
    request_id, ip = _request_facts()
    entry_id = str(uuid.uuid4())
    conn.execute(audit_log.insert().values(
        tenant_id=tenant_id, id=entry_id, at=at or utcnow(), user_id=user_id, username=username, action=action,
        target_kind=target_kind, target_id=None if target_id is None else str(target_id)[:64],
        detail=_mask(detail or {}), request_id=request_id, ip=ip))
    return entry_id


def record_now(tenant_id: str, action: str, **kwargs) -> str:
    """``record`` in a transaction of its own: for a change a service has just committed (webhooks, report
    subscriptions). A crash between the two loses the row, as for ``AUDITED``."""
    with current_app.extensions["db"].begin() as conn:
        return record(conn, tenant_id, action, **kwargs)


@dataclass(frozen=True)
class Query:
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None
    user: str | None = None        # user id or username
    action: str | None = None
    limit: int = 50
    offset: int = 0


def entries(conn, tenant_id: str, query: Query) -> dict:
    """``{"items": [...], "total", "limit", "offset"}``, newest first, of one tenant only."""
    where = [audit_log.c.tenant_id == tenant_id]
    if query.date_from is not None:
        where.append(audit_log.c.at >= query.date_from)
    if query.date_to is not None:
        where.append(audit_log.c.at < query.date_to)
    if query.user:
        where.append((audit_log.c.user_id == query.user) | (audit_log.c.username == query.user))
    if query.action:
        where.append(audit_log.c.action == query.action)
    total = conn.execute(select(func.count()).select_from(audit_log).where(*where)).scalar_one()
    rows = conn.execute(select(audit_log).where(*where).order_by(audit_log.c.at.desc(), audit_log.c.id)
                        .limit(query.limit).offset(query.offset)).mappings().all()
    items = [{"id": r["id"], "at": r["at"].isoformat(), "user_id": r["user_id"], "username": r["username"],
              "action": r["action"], "target_kind": r["target_kind"], "target_id": r["target_id"],
              "detail": r["detail"], "request_id": r["request_id"], "ip": r["ip"]} for r in rows]
    return {"items": items, "total": total, "limit": query.limit, "offset": query.offset}


def _case_action(view_args: dict) -> tuple[str, str, str, dict]:
    action = (view_args or {}).get("action")
    if action is None and request.is_json:
        body = request.get_json(silent=True)
        action = body.get("action") if isinstance(body, dict) else None
    return "case_action", "complaint", (view_args or {}).get("complaint_id"), {"action": str(action)[:40]}


def _sla_saved(_view_args: dict) -> tuple[str, str, str, dict]:
    """The API's JSON body or the console page's form (scope, and whether open cases were recomputed)."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        scope, recompute = body.get("scope"), bool(body.get("recompute_open"))
    else:
        scope, recompute = request.form.get("scope"), request.form.get("recompute_open") == "1"
    return "sla_policy_saved", "sla_policy", str(scope)[:64], {"recompute_open": recompute}


def _exported(view_args: dict) -> tuple[str, str, str, dict]:
    report = request.args.get("report") or "league_table"
    detail = {k: request.args.get(k)[:40] for k in ("from", "to", "estate", "region") if request.args.get(k)}
    return "report_exported", "report", report[:64], detail | {"format": (view_args or {}).get("fmt")}


def _rows_saved(list_key: str, form_field: str) -> tuple[dict, int]:
    """A list saved by the API (JSON body ``{list_key: [...]}``) or by a console form of rows (one non-empty
    ``form_field`` per row, rows ticked ``remove`` aside): the body or form to read the scope from, and the count."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        items = body.get(list_key)
        return body, len(items) if isinstance(items, list) else 0
    removed = set(request.form.getlist("remove"))
    return request.form, sum(1 for i, v in enumerate(request.form.getlist(form_field))
                             if v.strip() and str(i) not in removed)


def _routing_saved(_view_args: dict) -> tuple[str, str, str, dict]:
    source, count = _rows_saved("rules", "department")
    return "routing_rules_saved", "routing_rules", str(source.get("scope"))[:64], {"rules": count}


def _contacts_saved(_view_args: dict) -> tuple[str, str, str, dict]:
    """Never the addresses themselves."""
    _source, count = _rows_saved("contacts", "email")
    return "staff_contacts_saved", "staff_contacts", "tenant", {"contacts": count}


def _duty_saved(_view_args: dict) -> tuple[str, str, str, dict]:
    """Never the names."""
    source, count = _rows_saved("entries", "person")
    return "duty_roster_saved", "duty_roster", str(source.get("estate"))[:64], {"entries": count}


def _digest_saved(_view_args: dict) -> tuple[str, str, str, dict]:
    """The values saved and how many addresses opted out (never the addresses)."""
    body = request.get_json(silent=True) if request.is_json else None
    if isinstance(body, dict):
        enabled, hour, zone, opted = body.get("enabled"), body.get("hour"), body.get("timezone"), body.get("opt_outs")
        count = len(opted) if isinstance(opted, list) else None
    else:
        enabled, hour, zone = request.form.get("enabled") == "1", request.form.get("hour"), request.form.get("timezone")
        count = len([line for line in (request.form.get("opt_outs") or "").split() if line.strip()])
    hour = hour if isinstance(hour, int) and not isinstance(hour, bool) else str(hour)[:2]
    detail = {"enabled": bool(enabled), "hour": hour, "timezone": str(zone or "Asia/Shanghai")[:64]}
    return "digest_settings_saved", "digest_settings", "tenant", detail | ({} if count is None else {"opt_outs": count})


def _templates(action: str):
    """Which message, language and scope (never the template text)."""
    def describe(view_args: dict) -> tuple[str, str, str, dict]:
        args = view_args or {}
        if args:  # the API: message and locale in the path, estate in the query (DELETE) or the body (PUT)
            body = request.get_json(silent=True) if request.is_json else None
            estate = (body or {}).get("estate") if isinstance(body, dict) else request.args.get("estate")
            message, locale, scope = args.get("message"), args.get("locale"), f"estate:{estate}" if estate else "group"
        else:  # the console page's form
            message, locale, scope = (request.form.get(k) for k in ("message", "locale", "scope"))
        return action, "notify_template", str(message)[:64], {"locale": str(locale)[:10], "scope": str(scope)[:64]}
    return describe


def _estate_saved(view_args: dict) -> tuple[str, str, str, dict]:
    """Created, or which fields changed, and the active flag (never the address); the view keeps intake's answer
    in ``g.estate_saved``."""
    saved = g.get("estate_saved") or {}
    code = (view_args or {}).get("code") or saved.get("code") or ""
    detail = {"created": bool(saved.get("created")), "changed": [str(f)[:20] for f in saved.get("changed") or []]}
    return "estate_saved", "estate", str(code).upper()[:64], detail | {"active": saved.get("active")}


# endpoint -> what its success means; the change itself happened in a service
AUDITED = {
    "case_actions.act": _case_action,
    "console_case_actions.act": _case_action,
    "sla.save_policy": _sla_saved,
    "console_sla_settings.save": _sla_saved,
    "dashboard.export": _exported,
    "routing_rules.save_rules": _routing_saved,
    "console_routing_settings.save": _routing_saved,
    "staff_contacts.save_contacts": _contacts_saved,
    "console_alert_settings.save": _contacts_saved,
    "duty_roster.save_roster": _duty_saved,
    "console_duty_settings.save": _duty_saved,
    "notify_templates.save_template": _templates("templates_saved"),
    "notify_templates.delete_template": _templates("templates_reset"),
    "console_template_settings.save": _templates("templates_saved"),
    "console_template_settings.reset": _templates("templates_reset"),
    "digest_settings.save_settings": _digest_saved,
    "console_alert_settings.save_digest": _digest_saved,
    "estates.create_estate": _estate_saved,
    "estates.update_estate": _estate_saved,
    "console_estates.create": _estate_saved,
    "console_estates.update": _estate_saved,
}


def after_request(response):
    """Record a successful audited route (2xx, or the console's redirect after a POST)."""
    describe = AUDITED.get(request.endpoint or "")
    principal = g.get("principal")
    if describe is None or principal is None or response.status_code >= 400:
        return response
    try:
        action, kind, target, detail = describe(request.view_args)
        with current_app.extensions["db"].begin() as conn:
            record(conn, principal.tenant_id, action, target_kind=kind, target_id=target, detail=detail)
    except Exception:  # the change is done and answered: never turn it into an error; the log keeps the miss
        log.exception("audit entry for %s not written", request.endpoint)
    return response


def init_app(app) -> None:
    app.after_request(after_request)
