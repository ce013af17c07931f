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

Before and after: ``detail["changes"]`` is ``{path: {"before": old, "after": new}}`` for each value that
changed (``changes()``: nested documents flattened to paths such as ``severities.major.stages.0.limit`` or
``rules.2.team``, at most ``MAX_CHANGES`` paths, each string cut to ``MAX_VALUE``); a secret (password, token,
AppSecret, key) is ``"changed"`` only, never a value. Where the change happens in a service the gateway reads the
value itself, one read RPC right before the service write (``rpc.client()`` wraps the client while such a
write is pending, so a refused request makes no extra call) and the same read after it succeeded (``SNAPSHOTS``: one mechanism for
every settings route; the read after gives the value as the service stored it, defaults applied). Case actions
need no extra read: their views already read the case for the scope check and keep it (``keep_case``) with the
service's answer (``g.audit_answer``). A failed read leaves ``changes`` out and says so (``before_unread``).

Nothing here updates or deletes a row, and no route does. ``detail`` never holds bodies (no complaint text,
note, remedy, reason or the owner's words): codes, states, assignees, dates and settings only, and every string
passes ``mask_pii`` (phones, e-mails).
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
    "mail_settings_saved", "estate_saved", "region_saved", "building_saved", "building_removed", "unit_saved",
    "unit_removed", "units_imported",
)
MAX_LIMIT = 500
MAX_CHANGES = 40
MAX_VALUE = 200
SECRET_WORDS = ("password", "secret", "token", "aes_key", "api_key", "private_key")
VOLATILE = frozenset({"updated_at", "updated_by", "created_at", "created_by", "last_assignee", "on_duty_now",
                      "now", "version_etag"})
_ABSENT = object()


def is_secret(path: str) -> bool:
    """A value never written down: its key names a password, token, secret or key."""
    last = path.rsplit(".", 1)[-1].lower()
    return any(word in last for word in SECRET_WORDS)


def flatten(value, prefix: str = "") -> dict:
    """``{"a.b.0.c": scalar}`` of a nested document; volatile bookkeeping keys (``VOLATILE``) left out."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if str(key) in VOLATILE:
                continue
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out or ({prefix: {}} if prefix else {})
    if isinstance(value, (list, tuple)):
        out = {}
        for index, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{index}" if prefix else str(index)))
        return out or ({prefix: []} if prefix else {})
    return {prefix: value}


def _short(value):
    return value[:MAX_VALUE] + "…" if isinstance(value, str) and len(value) > MAX_VALUE else value


def changes(before, after) -> dict:
    """``{path: {"before", "after"}}`` of what differs between two snapshots (a path absent on one side is
    None there); secrets as ``"changed"``; at most ``MAX_CHANGES`` paths, then ``"…": <how many more>``."""
    old, new = flatten(before if before is not None else {}), flatten(after if after is not None else {})
    out, more = {}, 0
    for path in sorted(set(old) | set(new)):
        a, b = old.get(path, _ABSENT), new.get(path, _ABSENT)
        if a == b:
            continue
        if len(out) >= MAX_CHANGES:
            more += 1
            continue
        out[path] = "changed" if is_secret(path) else {
            "before": None if a is _ABSENT else _short(a), "after": None if b is _ABSENT else _short(b)}
    return out | ({"…": more} if more else {})


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


def keep_case(case: dict, action: str, data: dict, answer) -> None:
    """A case action's view keeps what it already has for the audit row: the case as read for the scope check,
    the action, the values sent (free text is left out by ``case_changes``) and workflow's answer."""
    g.audit_case = {"case": case, "action": action, "data": data, "answer": answer}


CASE_FIELDS = ("status", "assignee", "cause", "loss_amount")


def _stage_of(items, stage):
    return next((i for i in reversed(items or []) if i.get("stage") == stage), None)


def case_changes(case: dict, action: str, data: dict, answer) -> dict:
    """State before -> after of one action: the status (workflow's answer), the fields it sets (assignee, cause,
    loss), an extension's due time and decision, a deferral, a nonconformity decision. Never a note, remedy,
    reason or the consenting owner's name (bodies and PII: ``consent`` says only that it was recorded)."""
    before, after = {}, {}
    status = answer.get("status") if isinstance(answer, dict) else None
    if status is not None:
        before["status"], after["status"] = case.get("status"), status
    for key in CASE_FIELDS[1:]:
        if key in data:
            before[key], after[key] = case.get(key), data[key]
    stage = data.get("stage") or "resolution"
    if action == "request_extension":
        deadline = _stage_of(case.get("deadlines"), stage) or {}
        before["due_at"], after["requested_due_at"] = deadline.get("due_at"), data.get("new_due_at")
        before["extension"], after["extension"] = None, "pending"
    elif action == "decide_extension":
        pending = next((e for e in reversed(case.get("extensions") or []) if e.get("status") == "pending"
                        and (not data.get("stage") or e.get("stage") == data["stage"])), {})
        before["extension"] = {"stage": pending.get("stage"), "status": pending.get("status"),
                               "new_due_at": pending.get("new_due_at")}
        after["extension"] = dict(before["extension"], status="approved" if data.get("approve") else "rejected")
    elif action == "decide_nonconformity":
        record = next((r for r in reversed(case.get("nonconformities") or []) if r.get("status") == "open"), {})
        before["nonconformity"] = record.get("status")
        after["nonconformity"] = "approved" if data.get("approve") else "rejected"
    elif action in ("defer", "resume"):
        current = next((d for d in reversed(case.get("deferrals") or []) if not d.get("resumed_at")), None)
        before["deferred_until"] = current.get("until") if current else None
        after["deferred_until"] = (data.get("until") or "next_working_period") if action == "defer" else None
        if action == "defer":
            before["consent"], after["consent"] = None, "recorded" if data.get("consented_by") else None
    return changes(before, after)


def _case_action(view_args: dict) -> tuple[str, str, str, dict]:
    action = (view_args or {}).get("action")
    if action is None and request.is_json:
        body = request.get_json(silent=True)
        action = body.get("action") if isinstance(body, dict) else None
    detail = {"action": str(action)[:40]}
    kept = g.get("audit_case")
    if kept:
        detail["changes"] = case_changes(kept["case"] or {}, kept["action"], kept["data"] or {}, kept["answer"])
    return "case_action", "complaint", (view_args or {}).get("complaint_id"), detail


def _extension(action: str):
    """The console's extension forms (their own routes; the API sends them as ``/actions``)."""
    def describe(view_args: dict) -> tuple[str, str, str, dict]:
        kind, target, detail = _case_action(view_args)[1:]
        return "case_action", kind, target, detail | {"action": action}
    return describe


def _classified(view_args: dict) -> tuple[str, str, str, dict]:
    """intake answers the new classification with the ``previous`` one."""
    answer = g.get("audit_answer")
    if answer is None and g.get("audit_response") is not None:
        answer = g.audit_response.get_json(silent=True)
    answer = answer if isinstance(answer, dict) else {}
    keys = ("category", "severity")
    detail = {"action": "classify",
              "changes": changes({k: (answer.get("previous") or {}).get(k) for k in keys},
                                 {k: answer.get(k) for k in keys})}
    return "case_action", "complaint", (view_args or {}).get("complaint_id"), detail


def _form_or_json() -> dict:
    body = request.get_json(silent=True) if request.is_json else None
    return body if isinstance(body, dict) else request.form


def _callback(action: str):
    """Claim, or the outcome of a call (never the owner's words)."""
    def describe(view_args: dict) -> tuple[str, str, str, dict]:
        source = _form_or_json()
        detail = {"action": action}
        if action == "callback_attempt":
            detail |= {k: source.get(k) for k in ("outcome", "satisfaction", "valid", "solved")
                       if source.get(k) not in (None, "")}
        answer = g.audit_response.get_json(silent=True) if g.get("audit_response") is not None else None
        if isinstance(answer, dict) and answer.get("status"):
            detail["changes"] = changes({}, {"status": answer["status"]})
        return "case_action", "callback", (view_args or {}).get("callback_id"), detail
    return describe


def _capa_checked(view_args: dict) -> tuple[str, str, str, dict]:
    effective = {"yes": True, "no": False}.get(request.form.get("effective", ""))
    return "case_action", "capa", (view_args or {}).get("capa_id"), {
        "action": "check_capa", "changes": changes({"effective": None}, {"effective": effective})}


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


def _directory(action: str):
    """Regions, buildings and units (``blueprints.estate_directory`` and its pages): intake's answer in
    ``g.directory_saved``; created or the changed fields, counts for removals and imports (no names). An import
    that was only previewed is no change: no row."""
    def describe(view_args: dict) -> tuple[str, str, str, dict] | None:
        saved = g.get("directory_saved") or {}
        if not saved or (action == "units_imported" and not saved.get("applied")):
            return None
        if action == "region_saved":
            code = (view_args or {}).get("region_code") or saved.get("code") or ""
            detail = {"created": bool(saved.get("created")), "changed": [str(f)[:20] for f in saved.get("changed")
                                                                         or []], "active": saved.get("active")}
            return action, "region", str(code).upper()[:64], detail
        path = [saved.get("estate"), saved.get("building"), saved.get("unit")]
        target = "/".join(str(p)[:40] for p in path if p)[:128]
        keys = {"building_saved": ("created", "changed"), "unit_saved": ("created", "changed", "previous_code"),
                "building_removed": ("removed_units",), "unit_removed": (),
                "units_imported": ("added", "updated", "unchanged")}[action]
        detail = {k: saved.get(k) for k in keys} | {k: saved.get(k) for k in ("units_before", "units_after")
                                                     if k in saved}
        if action == "units_imported":
            detail["buildings_added"] = len(saved.get("buildings_added") or [])
        kind = "estate" if action == "units_imported" else "unit" if "unit" in action else "building"
        return action, kind, target, detail
    return describe


def _wechat_saved(view_args: dict) -> tuple[str, str, str, dict]:
    """Template ids before and after (``SNAPSHOTS``); the AppSecret only as changed (intake's answer)."""
    saved = g.get("audit_answer") or {}
    changed = saved.get("changed") or {}
    detail = {"app_id": saved.get("app_id"), "app_secret_changed": bool(changed.get("app_secret")),
              "templates": {m: (saved.get("templates") or {}).get(m) for m in changed.get("templates") or []}}
    if changed.get("app_secret"):
        detail["changes"] = {"app_secret": "changed"}
    return "wechat_account_updated", "wechat_account", (view_args or {}).get("account_id"), detail


# ---- snapshots: the value a settings route changes, read through the service before and after -----------------

def _call(service: str, method: str, *args):
    return current_app.extensions["rpc"].call(service, method, *args)  # the plain client: no snapshot of a snapshot


# the service writes a snapshot is taken before: the read happens right before the first of them, so a request
# the view refuses (role, validation) makes no extra call
WRITES = frozenset({"save_sla_policy", "save_routing_rules", "set_staff_contacts", "save_duty_roster",
                    "save_template", "delete_template", "set_digest_settings", "create_estate", "update_estate",
                    "update_wechat_account"})


class SnapshotFirst:
    """``rpc.client()`` during an audited settings request: reads the value (``SNAPSHOTS``) before the write."""

    def __init__(self, inner):
        self.inner = inner

    def call(self, service, method, *args, **kwargs):
        if method in WRITES and "audit_before" not in g:
            _read_before()
        return self.inner.call(service, method, *args, **kwargs)

    def call_many(self, calls, **kwargs):
        return self.inner.call_many(calls, **kwargs)


def client(inner):
    """What ``rpc.client()`` hands a view: ``inner``, wrapped while an audited settings write is pending."""
    return SnapshotFirst(inner) if has_request_context() and g.get("audit_read") is not None else inner


def _scope_arg() -> str:
    return str(_form_or_json().get("scope") or "")


def _sla_layer(_view_args: dict):
    """The scope's own layer in force: its version and document."""
    scope = _scope_arg()
    kind, _sep, code = scope.partition(":")
    target = None if kind == "group" else {"code": None, "region": code} if kind == "region" else {
        "code": code, "region": None}
    levels = _call("workflow", "get_sla_policy", target, None).get("levels") or []
    level = next((lv for lv in levels if lv.get("scope") == scope), None)
    return {"version": level.get("version"), "document": level.get("document")} if level else {}


def _routing_rules(_view_args: dict):
    scope = _scope_arg()
    estate = scope[7:] if scope.startswith("estate:") else None
    items = _call("workflow", "list_routing_rules", estate).get("items") or []
    return {"rules": [{k: v for k, v in r.items() if k not in ("scope",)} for r in items if r.get("scope") == scope]}


def _staff_contacts(_view_args: dict):
    found = _call("notify", "list_staff_contacts")
    return {"contacts": found.get("items", found) if isinstance(found, dict) else found}


def _duty_roster(_view_args: dict):
    return {"entries": _call("workflow", "get_duty_roster", _form_or_json().get("estate")).get("entries") or []}


def _template(view_args: dict):
    args = view_args or {}
    if args:
        body = request.get_json(silent=True) if request.is_json else None
        estate = (body or {}).get("estate") if isinstance(body, dict) else request.args.get("estate")
        message, locale = args.get("message"), args.get("locale")
    else:
        message, locale, scope = (request.form.get(k) for k in ("message", "locale", "scope"))
        estate = scope[7:] if scope and scope.startswith("estate:") else None
    return {"parts": _call("notify", "get_template", message, locale, estate or None).get("parts")}


def _digest(_view_args: dict):
    return _call("notify", "get_digest_settings")


def _estate(view_args: dict):
    code = ((view_args or {}).get("code") or _form_or_json().get("code") or "").upper()
    found = next((e for e in _call("intake", "list_estates") if str(e.get("code")).upper() == code), None)
    return found or {}


def _wechat(view_args: dict):
    account = (view_args or {}).get("account_id")
    found = _call("intake", "list_wechat_accounts")
    items = found.get("items", []) if isinstance(found, dict) else found
    return next((a for a in items if a.get("id") == account), {})


SNAPSHOTS = {
    "sla.save_policy": _sla_layer, "console_sla_settings.save": _sla_layer, "console_sla_site.save": _sla_layer,
    "routing_rules.save_rules": _routing_rules, "console_routing_settings.save": _routing_rules,
    "staff_contacts.save_contacts": _staff_contacts, "console_alert_settings.save": _staff_contacts,
    "duty_roster.save_roster": _duty_roster, "console_duty_settings.save": _duty_roster,
    "notify_templates.save_template": _template, "notify_templates.delete_template": _template,
    "console_template_settings.save": _template, "console_template_settings.reset": _template,
    "digest_settings.save_settings": _digest, "console_alert_settings.save_digest": _digest,
    "estates.create_estate": _estate, "estates.update_estate": _estate,
    "console_estates.create": _estate, "console_estates.update": _estate,
    "console_integrations.update_wechat": _wechat,
}


def before_request() -> None:
    """Mark an audited settings write (a signed-in caller's): ``client`` reads the value before the service
    write, once the view has let the request through."""
    read = SNAPSHOTS.get(request.endpoint or "")
    if read is not None and request.method not in ("GET", "HEAD") and g.get("principal") is not None:
        g.audit_read = read


def _read_before() -> None:
    g.audit_before = _ABSENT
    try:
        g.audit_before = g.audit_read(request.view_args)
    except Exception:  # a read that fails must not stop the change: its row says the before is unknown
        log.warning("audit: value before %s not read", request.endpoint, exc_info=True)


def _snapshot_changes(read) -> dict:
    before = g.get("audit_before", _ABSENT)
    try:
        after = read(request.view_args)
    except Exception:
        log.warning("audit: value after %s not read", request.endpoint, exc_info=True)
        after = _ABSENT
    if before is _ABSENT or after is _ABSENT:
        return {"before_unread": True}
    return {"changes": changes(before, after)}


# endpoint -> what its success means; the change itself happened in a service
AUDITED = {
    "case_actions.act": _case_action,
    "console_case_actions.act": _case_action,
    "sla.save_policy": _sla_saved,
    "console_sla_settings.save": _sla_saved,
    "console_sla_site.save": _sla_saved,
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
    "estate_directory.create_region": _directory("region_saved"),
    "estate_directory.update_region": _directory("region_saved"),
    "estate_directory.create_building": _directory("building_saved"),
    "estate_directory.update_building": _directory("building_saved"),
    "estate_directory.delete_building": _directory("building_removed"),
    "estate_directory.create_unit": _directory("unit_saved"),
    "estate_directory.update_unit": _directory("unit_saved"),
    "estate_directory.delete_unit": _directory("unit_removed"),
    "estate_directory.import_units": _directory("units_imported"),
    "console_regions.create": _directory("region_saved"),
    "console_regions.update": _directory("region_saved"),
    "console_units.create_building": _directory("building_saved"),
    "console_units.update_building": _directory("building_saved"),
    "console_units.delete_building": _directory("building_removed"),
    "console_units.create_unit": _directory("unit_saved"),
    "console_units.update_unit": _directory("unit_saved"),
    "console_units.delete_unit": _directory("unit_removed"),
    "console_units.import_units": _directory("units_imported"),
    "console_integrations.update_wechat": _wechat_saved,
    "console_extensions.request_extension": _extension("request_extension"),
    "console_extensions.decide_extension": _extension("decide_extension"),
    "classification.correct": _classified,
    "callbacks.claim": _callback("callback_claimed"),
    "console_callbacks.claim": _callback("callback_claimed"),
    "callbacks.attempt": _callback("callback_attempt"),
    "console_callbacks.attempt": _callback("callback_attempt"),
    "console_quality.check": _capa_checked,
}


def after_request(response):
    """Record a successful audited route (2xx, or the console's redirect after a POST)."""
    describe = AUDITED.get(request.endpoint or "")
    principal = g.get("principal")
    if describe is None or principal is None or response.status_code >= 400:
        return response
    try:
        g.audit_response = response
        described = describe(request.view_args)
        if described is None:  # the describer says this success changed nothing (a units import previewed)
            return response
        action, kind, target, detail = described
        read = g.get("audit_read")
        if read is not None:  # the describer's own changes (a secret marked "changed") win over the snapshot's
            found = _snapshot_changes(read)
            detail = detail | found | ({"changes": found["changes"] | detail["changes"]}
                                       if "changes" in found and "changes" in detail else {})
        with current_app.extensions["db"].begin() as conn:
            record(conn, principal.tenant_id, action, target_kind=kind, target_id=target, detail=detail)
    except Exception:  # the change is done and answered: never turn it into an error; the log keeps the miss
        log.exception("audit entry for %s not written", request.endpoint)
    return response


def init_app(app) -> None:
    """Call after the console's ``before_request`` is registered: the snapshot needs the page's principal."""
    app.before_request(before_request)
    app.after_request(after_request)
