"""Group settings, alert recipients: ``/settings/alerts`` (提醒接收人) — whom notify e-mails when a case runs late.

- ``GET /settings/alerts`` — the tenant's staff alert recipients (``notify.list_staff_contacts``) as rows of
  role, estate (or every estate), name, e-mail, phone and language, plus two empty rows (``settings_rows.js``
  adds more), and which alert reaches which role (notify's ``domain.staff``).
- ``POST /settings/alerts`` — checks every row here (the rules of notify's ``clean_contacts``, estates against
  intake's directory) so each bad field is shown next to itself in the user's language, then
  ``notify.set_staff_contacts`` replaces the whole list; the audit log records it (``audit.AUDITED``). A row with
  no e-mail, name or phone, or ticked "remove", is dropped.
- ``POST /settings/alerts/digest`` — the managers' daily digest (每日摘要, notify's ``set_digest_settings``): on or
  off, the local hour and zone it goes at, and the addresses that get none; each field checked here, shown next to
  itself; audited (``digest_settings_saved``).

group_admin and head_office only (the list holds staff addresses; notify refuses anyone else's save as well).
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from .console import page, page_error, save_rows
from .digest_settings import MAX_OPT_OUTS, ZONES, valid_zone
from .staff_contacts import ALERT_ROLES, LOCALES, MANAGERS, MAX_CONTACTS

bp = Blueprint("console_alert_settings", __name__)
bp.register_error_handler(Exception, page_error)

FIELDS = ("role", "estate", "name", "email", "phone", "locale")
LANGUAGES = {"zh_CN": "中文", "en": "English"}
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")  # notify's domain.staff._EMAIL
EMPTY_ROWS = 2
# which alert reaches which role (notify.domain.staff ALERT_ROLE; escalations: the ladder rung's role)
ALERTS = (
    (_l("Deadline warning (three quarters of the time used)"), ("cs_supervisor",)),
    (_l("Deadline missed"), ("site_manager",)),
    (_l("Escalation"), ("cs_supervisor", "site_manager", "head_office")),
    (_l("Major complaint (a special team is formed)"), ("site_manager",)),
    (_l("Callback overdue"), ("cs_supervisor",)),
)
MESSAGES = {
    "role": _l("Choose a role."),
    "estate": _l("Choose one of the group's estates, or every estate."),
    "name": _l("At most 100 characters."),
    "email": _l("Enter a valid e-mail address."),
    "phone": _l("At most 40 characters."),
    "locale": _l("Choose a language."),
    "contacts": _l("At most 200 recipients."),
    "other": _l("The recipients could not be saved; check them and try again."),
}
DIGEST_ROLES = ("cs_supervisor", "site_manager", "head_office")  # notify's domain.digest.ROLES
DIGEST_MESSAGES = {
    "hour": _l("Choose an hour from 0 to 23."),
    "timezone": _l("Choose a time zone."),
    "opt_outs": _l("One valid e-mail address per line, at most 200."),
    "other": _l("The daily digest settings could not be saved; check them and try again."),
}


def _estates() -> list[dict]:
    return sorted(rpc.client().call("intake", "list_estates"), key=lambda e: e.get("code") or "")


@bp.get("/settings/alerts")
@page(*MANAGERS)
def settings():
    rows = [{k: (c.get(k) or "") for k in FIELDS} for c in rpc.client().call("notify", "list_staff_contacts")]
    return _render(rows, _estates(), {}, 200)


def _render(rows, estates, errors, status, digest=None, digest_errors=None):
    blank = {k: "" for k in FIELDS} | {"role": "cs_supervisor", "locale": "zh_CN"}
    if digest is None:
        saved = rpc.client().call("notify", "get_digest_settings")
        digest = saved | {"opt_outs": "\n".join(saved.get("opt_outs") or [])}
    zones = list(ZONES) + ([digest["timezone"]] if digest.get("timezone") not in ZONES else [])
    return render_template("settings_alerts.html", rows=rows + [blank] * EMPTY_ROWS, estates=estates,
                           errors=errors, role_codes=ALERT_ROLES, languages=LANGUAGES, alerts=ALERTS,
                           digest=digest, digest_errors=digest_errors or {}, zones=zones,
                           digest_roles=DIGEST_ROLES), status


def _rows_from_form() -> list[dict]:
    """The submitted rows, in order, without the empty and the removed ones."""
    removed = set(request.form.getlist("remove"))
    columns = [request.form.getlist(name) for name in FIELDS]
    rows = []
    for i, values in enumerate(zip(*columns)):
        row = dict(zip(FIELDS, (v.strip()[:300] for v in values)))
        if str(i) not in removed and (row["email"] or row["name"] or row["phone"]):
            rows.append(row)
    return rows


def _check(rows: list[dict], estates: set[str]) -> dict:
    """``{"<row>.<field>": message}`` for every bad field (nothing: the rows are what notify takes)."""
    errors = {"contacts": str(MESSAGES["contacts"])} if len(rows) > MAX_CONTACTS else {}
    for i, row in enumerate(rows):
        bad = {"role": row["role"] not in ALERT_ROLES, "estate": bool(row["estate"]) and row["estate"] not in estates,
               "name": len(row["name"]) > 100, "email": not EMAIL.match(row["email"]) or len(row["email"]) > 254,
               "phone": len(row["phone"]) > 40, "locale": row["locale"] not in LOCALES}
        errors |= {f"{i}.{field}": str(MESSAGES[field]) for field, wrong in bad.items() if wrong}
    return errors


@bp.post("/settings/alerts")
@page(*MANAGERS)
def save():
    estates = _estates()
    rows = _rows_from_form()
    errors = _check(rows, {e["code"] for e in estates})
    if errors:
        return _render(rows, estates, errors, 422)
    contacts = [row | {"estate": row["estate"] or None} for row in rows]
    refused = save_rows("notify", "set_staff_contacts", (contacts,), "contacts", MESSAGES)
    if refused:
        return _render(rows, estates, refused, 422)
    flash(_("Saved %(count)d alert recipients.", count=len(contacts)))
    return redirect(url_for("console_alert_settings.settings"))


def _digest_from_form() -> tuple[dict, dict]:
    """The submitted digest setting (as the form shows it) and ``{field: message}`` for each bad field."""
    form = {"enabled": request.form.get("enabled") == "1", "hour": (request.form.get("hour") or "").strip()[:4],
            "timezone": (request.form.get("timezone") or "").strip()[:64],
            "opt_outs": (request.form.get("opt_outs") or "")[:60000]}
    addresses = [a.strip().lower() for a in form["opt_outs"].replace(",", "\n").split() if a.strip()]
    errors = {}
    if not form["hour"].isdigit() or not 0 <= int(form["hour"]) <= 23:
        errors["hour"] = str(DIGEST_MESSAGES["hour"])
    if not valid_zone(form["timezone"]):
        errors["timezone"] = str(DIGEST_MESSAGES["timezone"])
    if len(addresses) > MAX_OPT_OUTS or any(not EMAIL.match(a) or len(a) > 254 for a in addresses):
        errors["opt_outs"] = str(DIGEST_MESSAGES["opt_outs"])
    return form | {"addresses": addresses}, errors


@bp.post("/settings/alerts/digest")
@page(*MANAGERS)
def save_digest():
    form, errors = _digest_from_form()
    if not errors:
        settings = {"enabled": form["enabled"], "hour": int(form["hour"]), "timezone": form["timezone"],
                    "opt_outs": form["addresses"]}
        errors = _save_digest(settings)
        if not errors:
            flash(_("Daily digest settings saved."))
            return redirect(url_for("console_alert_settings.settings") + "#digest")
    rows = [{k: (c.get(k) or "") for k in FIELDS} for c in rpc.client().call("notify", "list_staff_contacts")]
    shown = {k: form[k] for k in ("enabled", "hour", "timezone", "opt_outs")}
    return _render(rows, _estates(), {}, 422, digest=shown, digest_errors=errors)


def _save_digest(settings: dict) -> dict:
    """notify's ``set_digest_settings``: no errors once saved, else its 4xx on the field it names; 403 aborts."""
    try:
        rpc.client().call("notify", "set_digest_settings", settings)
    except RemoteError as exc:
        found = parse_remote(exc.value)
        if found is None or not 400 <= int(found.get("status", 500)) < 500:
            raise
        if int(found["status"]) == 403:
            abort(403)
        field = str((found.get("details") or {}).get("field") or "").split("[")[0].split(".")[0]
        return {field if field in ("hour", "timezone", "opt_outs") else "other":
                str(DIGEST_MESSAGES.get(field, DIGEST_MESSAGES["other"]))}
    return {}
