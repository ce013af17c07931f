"""Site settings, night duty: ``/settings/duty`` (夜间值班表) — who takes the cases opened outside an estate's
business hours (workflow.duty; the API is ``blueprints/duty_roster.py``).

- ``GET /settings/duty?estate=`` — one estate in the caller's scope: whether it is out of hours now and who is
  on duty now, the roster (``workflow.get_duty_roster``), and a form of entry rows: person (an active user,
  suggested from the estate's staff), post (default 值班), the weekdays whose night it covers (none = every
  night) and an optional date range. Two empty rows are always offered; ``settings_rows.js`` adds more. A row
  without a person, date, weekday or note, or ticked "remove", is dropped.
- ``POST /settings/duty`` — checks the rows here (the rules of workflow's ``domain.duty`` and the API's check
  that people are active users) so every bad field is shown next to itself in the user's language; workflow's
  own refusal (``entries[i].person`` or ``entries.i.person``) lands on its row too. ``workflow.save_duty_roster``
  replaces the roster; the audit log records it (``audit.AUDITED``).

Who may do what is the API's rule: group_admin and head_office edit every estate, a site_manager its own; a
cs_supervisor reads its own estates' rosters.
"""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import select

from .. import rpc
from ..tables import users
from .console import page, page_error, save_rows
from .console_routing_settings import _display_names, _staff

bp = Blueprint("console_duty_settings", __name__)
bp.register_error_handler(Exception, page_error)

GROUP_ROLES = ("group_admin", "head_office")
PAGE_ROLES = ("site_manager", "cs_supervisor", *GROUP_ROLES)
DEFAULT_POST = "值班"  # workflow's domain.duty.DEFAULT_POST: stored data, not a UI string
MAX_ENTRIES, EMPTY_ROWS = 100, 2
FIELDS = ("person", "post", "date_from", "date_to", "note")
WEEKDAYS = {1: _l("Mon"), 2: _l("Tue"), 3: _l("Wed"), 4: _l("Thu"), 5: _l("Fri"), 6: _l("Sat"), 7: _l("Sun")}
MESSAGES = {
    "person": _l("Choose the person on duty (a username)."),
    "post": _l("The post has at most 60 characters."),
    "weekdays": _l("Tick weekdays from Monday to Sunday."),
    "date_from": _l("Enter a date as YYYY-MM-DD."),
    "date_to": _l("Enter a date as YYYY-MM-DD, not before the first date."),
    "note": _l("The note has at most 200 characters."),
    "entries": _l("At most 100 entries per estate."),
    "other": _l("The roster could not be saved; check it and try again."),
}


def estates_for(principal, estates: list[dict]) -> list[dict]:
    """``[{code, label, timezone, editable}]`` the principal may see, by code."""
    group = any(role in GROUP_ROLES for role, _e in principal.roles)
    managed = {e for role, e in principal.roles if role == "site_manager" and e}
    read = managed | {e for role, e in principal.roles if role == "cs_supervisor" and e}
    return [{"code": e["code"], "label": e.get("name") or e["code"], "timezone": e.get("timezone"),
             "editable": group or e["code"] in managed}
            for e in sorted(estates, key=lambda e: e.get("code") or "") if group or e["code"] in read]


def _context(code: str | None) -> tuple[dict, list[dict]]:
    estates = estates_for(g.principal, rpc.client().call("intake", "list_estates"))
    if not estates:
        abort(403)
    return next((e for e in estates if e["code"] == code), estates[0]), estates


@bp.get("/settings/duty")
@page(*PAGE_ROLES)
def settings():
    chosen, estates = _context(request.args.get("estate"))
    return _render(chosen, estates, rows=None, errors={}, status=200)


def _render(chosen, estates, rows, errors, status):
    roster = rpc.client().call("workflow", "get_duty_roster", chosen["code"])
    if rows is None:
        rows = [{"person": e["person"], "post": e["post"], "weekdays": [str(d) for d in e["weekdays"]],
                 "date_from": e["date_from"] or "", "date_to": e["date_to"] or "", "note": e["note"] or ""}
                for e in roster["entries"]]
    with current_app.extensions["db"].connect() as conn:
        staff = _staff(conn, g.principal.tenant_id, chosen["code"])
        named = {e["person"] for e in roster["entries"]} | {r["person"] for r in rows}
        people = _display_names(conn, g.principal.tenant_id, named - {s["username"] for s in staff})
        editor = _editor(conn, g.principal.tenant_id, roster.get("updated_by"))
    people |= {s["username"]: s["display_name"] for s in staff}
    blank = {"person": "", "post": DEFAULT_POST, "weekdays": [], "date_from": "", "date_to": "", "note": ""}
    return render_template(
        "settings_duty.html", chosen=chosen, estates=estates, roster=roster, errors=errors, staff=staff,
        people=people, editor=editor, weekdays=WEEKDAYS, rows=rows + [blank] * (EMPTY_ROWS if chosen["editable"] else 0)), status


def _editor(conn, tenant_id: str, user_id: str | None) -> str:
    """Who saved the roster last: workflow keeps the caller's user id (an API key's saves have none)."""
    if not user_id:
        return "—"
    name = conn.execute(select(users.c.display_name).where(users.c.tenant_id == tenant_id,
                                                          users.c.id == str(user_id))).scalar()
    return name or str(user_id)


def _rows_from_form() -> list[dict]:
    """The submitted rows, in order, without the empty and the removed ones (weekdays: ``weekdays-<row>``)."""
    removed = set(request.form.getlist("remove"))
    rows = []
    for i, values in enumerate(zip(*[request.form.getlist(name) for name in FIELDS])):
        row = {name: value.strip()[:300] for name, value in zip(FIELDS, values)}
        row["weekdays"] = request.form.getlist(f"weekdays-{i}")[:7]
        if str(i) in removed or not (row["person"] or row["date_from"] or row["date_to"] or row["note"]
                                     or row["weekdays"]):
            continue
        rows.append(row)
    return rows


def _date(value: str):
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return False


def _check(rows: list[dict]) -> tuple[list[dict], dict]:
    """The entries workflow takes, and ``{"<row>.<field>": message}`` for every bad field."""
    errors, entries = {}, []
    if len(rows) > MAX_ENTRIES:
        errors["entries"] = str(MESSAGES["entries"])
    for i, row in enumerate(rows):
        if not row["person"] or len(row["person"]) > 100:
            errors[f"{i}.person"] = str(MESSAGES["person"])
        if len(row["post"]) > 60:
            errors[f"{i}.post"] = str(MESSAGES["post"])
        if len(row["note"]) > 200:
            errors[f"{i}.note"] = str(MESSAGES["note"])
        if any(d not in {str(k) for k in WEEKDAYS} for d in row["weekdays"]):
            errors[f"{i}.weekdays"] = str(MESSAGES["weekdays"])
        start, end = _date(row["date_from"]), _date(row["date_to"])
        if start is False:
            errors[f"{i}.date_from"] = str(MESSAGES["date_from"])
        if end is False or (start and end and end < start):
            errors[f"{i}.date_to"] = str(MESSAGES["date_to"])
        entries.append({"person": row["person"], "post": row["post"] or DEFAULT_POST,
                        "weekdays": sorted({int(d) for d in row["weekdays"] if d.isdigit()}),
                        "date_from": row["date_from"] or None, "date_to": row["date_to"] or None,
                        "note": row["note"] or None})
    return entries, errors


def _unknown_people(tenant_id: str, entries: list[dict], errors: dict) -> None:
    wanted = {e["person"] for i, e in enumerate(entries) if f"{i}.person" not in errors}
    if not wanted:
        return
    with current_app.extensions["db"].connect() as conn:
        known = set(conn.execute(select(users.c.username).where(
            users.c.tenant_id == tenant_id, users.c.active.is_(True), users.c.username.in_(sorted(wanted))))
            .scalars())
    for i, entry in enumerate(entries):
        if f"{i}.person" not in errors and entry["person"] not in known:
            errors[f"{i}.person"] = _("Not an active user of the group: %(names)s.", names=entry["person"])


@bp.post("/settings/duty")
@page(*PAGE_ROLES)
def save():
    chosen, estates = _context(request.form.get("estate"))
    if chosen["code"] != request.form.get("estate") or not chosen["editable"]:
        abort(403)
    rows = _rows_from_form()
    entries, errors = _check(rows)
    _unknown_people(g.principal.tenant_id, entries, errors)
    if errors:
        return _render(chosen, estates, rows, errors, 422)
    refused = save_rows("workflow", "save_duty_roster", (chosen["code"], entries), "entries", MESSAGES)
    if refused:
        return _render(chosen, estates, rows, refused, 422)
    flash(_("Saved %(count)d duty roster entries for %(estate)s.", count=len(entries), estate=chosen["label"]))
    return redirect(url_for("console_duty_settings.settings", estate=chosen["code"]))
