"""Site settings, routing: ``/settings/routing`` (派单规则) — which department and team a new case goes to.

- ``GET /settings/routing?scope=`` — the rules of one scope (``group`` or ``estate:<code>``; for an estate the
  group's rules are shown too, since they apply where the estate has none) through ``workflow.list_routing_rules``,
  and a form of rule rows: category (none = every category), department, team (usernames) and how a member is
  picked (round robin or least loaded). Two empty rows are always offered for new rules; ``settings_rows.js``
  adds more. A row with neither department nor team, or ticked "remove", is dropped.
- ``POST /settings/routing`` — checks the rows here (the same rules as workflow's ``domain.routing`` and the
  API's team check, ``routing_rules.unknown_members``) so every bad field is shown next to itself in the user's
  language, then ``workflow.save_routing_rules`` replaces the scope's rules; the audit log records it
  (``audit.AUDITED``).

Who may do what is the API's rule (``blueprints/routing_rules.py``): group_admin edits the group and every
estate; a site_manager edits its own estates (and sees the group's rules read-only); head_office reads every
scope and edits none.
"""
from __future__ import annotations

import re

from flask import Blueprint, abort, current_app, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from sqlalchemy import or_, select

from .. import rpc
from ..tables import user_roles, users
from ..web import select_locale
from .console import page, page_error, save_rows
from .routing_rules import unknown_members

bp = Blueprint("console_routing_settings", __name__)
bp.register_error_handler(Exception, page_error)

PAGE_ROLES = ("site_manager", "group_admin", "head_office")
STRATEGIES = {"round_robin": _l("In turn (round robin)"), "least_loaded": _l("Fewest open cases (least loaded)")}
CATEGORY_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
TEAM_SPLIT = re.compile(r"[\s,，、;；]+")
MAX_RULES, MAX_TEAM, EMPTY_ROWS = 100, 50, 2
MESSAGES = {
    "department": _l("Enter the responsible department (at most 100 characters)."),
    "team": _l("List 1 to 50 team members by username."),
    "category": _l("Choose a category from the list."),
    "category_twice": _l("Only one rule per category, and one rule for every category."),
    "strategy": _l("Choose how a member is picked."),
    "rules": _l("At most 100 rules per scope."),
    "other": _l("The rules could not be saved; check them and try again."),
}


def scopes_for(principal, estates: list[dict]) -> list[dict]:
    """``[{scope, label, estate, editable}]`` the principal may see, in the order offered."""
    admin = principal.has_role("group_admin")
    everything = admin or principal.has_role("head_office")
    mine = {estate for role, estate in principal.roles if role == "site_manager" and estate}
    out = [{"scope": "group", "label": _("Group rules (every estate)"), "estate": None, "editable": admin}
           ] if everything else []
    out += [{"scope": f"estate:{e['code']}", "label": e.get("name") or e["code"], "estate": e["code"],
             "editable": admin or e["code"] in mine}
            for e in sorted(estates, key=lambda e: e.get("code") or "") if everything or e["code"] in mine]
    return out


def _context(scope_code: str | None) -> tuple[dict, list[dict]]:
    scopes = scopes_for(g.principal, rpc.client().call("intake", "list_estates"))
    if not scopes:
        abort(403)
    return next((s for s in scopes if s["scope"] == scope_code), scopes[0]), scopes


@bp.get("/settings/routing")
@page(*PAGE_ROLES)
def settings():
    chosen, scopes = _context(request.args.get("scope"))
    return _render(chosen, scopes, rows=None, errors={}, status=200)


def _render(chosen, scopes, rows, errors, status):
    items, categories = rpc.client().call_many([
        ("workflow", "list_routing_rules", (chosen["estate"],)), ("intake", "list_categories", ())])
    own = [r for r in items["items"] if r["scope"] == chosen["scope"]]
    inherited = [r for r in items["items"] if r["scope"] == "group"] if chosen["estate"] else []
    if rows is None:
        rows = [{"category": r["category"] or "", "department": r["department"], "team": ", ".join(r["team"]),
                 "strategy": r["strategy"]} for r in own]
    english = select_locale() == "en"
    names = {c["key"]: (c.get("name_en") if english else c.get("name")) or c["key"] for c in categories}
    with current_app.extensions["db"].connect() as conn:
        staff = _staff(conn, g.principal.tenant_id, chosen["estate"])
        people = _display_names(conn, g.principal.tenant_id,
                                {m for r in own + inherited for m in r["team"]} - {s["username"] for s in staff})
    people |= {s["username"]: s["display_name"] for s in staff}
    blank = {"category": "", "department": "", "team": "", "strategy": "round_robin"}
    return render_template(
        "settings_routing.html", chosen=chosen, scopes=scopes, own=own, inherited=inherited, errors=errors,
        rows=rows + [blank] * (EMPTY_ROWS if chosen["editable"] else 0), categories=names, staff=staff,
        people=people, strategies=STRATEGIES), status


def _staff(conn, tenant_id: str, estate: str | None) -> list[dict]:
    """Active staff who work at ``estate`` (a role there or at every estate); every staff member for the group."""
    where = [users.c.tenant_id == tenant_id, users.c.active.is_(True), user_roles.c.role != "committee_member"]
    if estate:
        where.append(or_(user_roles.c.estate_code == estate, user_roles.c.estate_code.is_(None)))
    q = (select(users.c.username, users.c.display_name).distinct()
         .join(user_roles, (user_roles.c.tenant_id == users.c.tenant_id) & (user_roles.c.user_id == users.c.id))
         .where(*where).order_by(users.c.username))
    return [{"username": r.username, "display_name": r.display_name} for r in conn.execute(q)]


def _display_names(conn, tenant_id: str, usernames: set[str]) -> dict[str, str]:
    if not usernames:
        return {}
    rows = conn.execute(select(users.c.username, users.c.display_name).where(
        users.c.tenant_id == tenant_id, users.c.username.in_(sorted(usernames))))
    return {r.username: r.display_name for r in rows}


def _rows_from_form() -> list[dict]:
    """The submitted rule rows, in order, without the empty and the removed ones."""
    removed = set(request.form.getlist("remove"))
    fields = [request.form.getlist(name) for name in ("category", "department", "team", "strategy")]
    rows = []
    for i, (category, department, team, strategy) in enumerate(zip(*fields)):
        if str(i) in removed or not (department.strip() or team.strip()):
            continue
        rows.append({"category": category.strip()[:40], "department": department.strip()[:101],
                     "team": team.strip()[:2000], "strategy": strategy.strip()[:20]})
    return rows


def _check(rows: list[dict]) -> tuple[list[dict], dict]:
    """The rules workflow takes, and ``{"<row>.<field>": message}`` for every bad field."""
    errors, rules, seen = {}, [], set()
    if len(rows) > MAX_RULES:
        errors["rules"] = str(MESSAGES["rules"])
    for i, row in enumerate(rows):
        category = row["category"] or None
        if category is not None and not CATEGORY_KEY.match(category):
            errors[f"{i}.category"] = str(MESSAGES["category"])
        elif category in seen:
            errors[f"{i}.category"] = str(MESSAGES["category_twice"])
        seen.add(category)
        if not row["department"] or len(row["department"]) > 100:
            errors[f"{i}.department"] = str(MESSAGES["department"])
        team = list(dict.fromkeys(m for m in TEAM_SPLIT.split(row["team"]) if m))
        if not team or len(team) > MAX_TEAM or any(len(m) > 100 for m in team):
            errors[f"{i}.team"] = str(MESSAGES["team"])
        if row["strategy"] not in STRATEGIES:
            errors[f"{i}.strategy"] = str(MESSAGES["strategy"])
        rules.append({"category": category, "department": row["department"], "team": team,
                      "strategy": row["strategy"]})
    return rules, errors


@bp.post("/settings/routing")
@page(*PAGE_ROLES)
def save():
    chosen, scopes = _context(request.form.get("scope"))
    if chosen["scope"] != request.form.get("scope") or not chosen["editable"]:
        abort(403)
    rows = _rows_from_form()
    rules, errors = _check(rows)
    checkable = [r for i, r in enumerate(rules) if f"{i}.team" not in errors]
    index = [i for i, _r in enumerate(rules) if f"{i}.team" not in errors]
    for k, names in unknown_members(g.principal.tenant_id, checkable).items():
        errors[f"{index[k]}.team"] = _("Not an active user of the group: %(names)s.", names=", ".join(names))
    if errors:
        return _render(chosen, scopes, rows, errors, 422)
    refused = save_rows("workflow", "save_routing_rules", (chosen["scope"], rules), "rules", MESSAGES)
    if refused:
        return _render(chosen, scopes, rows, refused, 422)
    flash(_("Saved %(count)d routing rules for %(scope)s.", count=len(rules), scope=chosen["label"]))
    return redirect(url_for("console_routing_settings.settings", scope=chosen["scope"]))
