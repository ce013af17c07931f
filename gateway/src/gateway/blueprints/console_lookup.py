"""The hotline desk in the console: who is calling, and which calls wait to be recorded.

- ``GET /complaints/lookup?phone=&unit=&estate=`` (agents, session): JSON for the recording form's live lookup
  (``console.js`` asks 300 ms after the agent stops typing): the owners matching the phone or unit (earlier
  complainants, ``intake.lookup_caller``, scoped to the agent's estates by intake) with their **open**
  complaints (workflow's case not resolved/closed/cancelled, or no case yet) and **recent** finished ones.
- ``GET /calls/panel`` (agents): the "calls" panel of the home page as an HTML fragment, which ``console.js``
  loads into the home page's placeholder at once and every 10 s (so the home page itself makes no extra call): ringing/answered calls and calls ended in the last two hours that nobody recorded yet,
  each with a link to ``/complaints/new?call=<call id>`` (``intake.list_calls``, same estate scope).

``screen_pop`` is shared with the CTI endpoint (``blueprints/cti.py``): the same owners and complaints the
agent's form shows are what the telephone system pops up.
"""
from __future__ import annotations

import datetime as dt
import functools
import logging

from flask import Blueprint, abort, current_app, g, jsonify, render_template, request, url_for
from nameko.exceptions import RemoteError

from estatedesk_common.db import utcnow
from estatedesk_common.errors import parse_remote

from .. import accounts, labels, privacy, rpc
from ..errors import UNAVAILABLE

bp = Blueprint("console_lookup", __name__)
log = logging.getLogger(__name__)

CASE_DONE = ("resolved", "closed", "cancelled")
RECENT_DAYS = 90
AGENT_ROLES = ("agent",)


def _json_page(view):
    """Console JSON: 401/403 as JSON (a fetch cannot follow the login redirect), principal from the session."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        principal = g.get("principal")
        if principal is None:
            return jsonify({"error": "unauthenticated"}), 401
        if not principal.has_role(*AGENT_ROLES):
            return jsonify({"error": "forbidden"}), 403
        return view(*args, **kwargs)
    return wrapper


@bp.get("/complaints/lookup")
@_json_page
def lookup():
    args = request.args
    try:
        found = rpc.client().call("intake", "lookup_caller", phone=args.get("phone") or None,
                                  unit=args.get("unit") or None, estate=args.get("estate") or None)
    except RemoteError as exc:
        data = parse_remote(exc.value)
        if data is None or int(data.get("status", 500)) != 422:
            raise
        field = (data.get("details") or {}).get("field")
        return jsonify({"error": "validation_failed", "details": {"field": field}, "owners": [], "open": [],
                        "recent": []}), 422
    pop = screen_pop(found, with_labels=True)
    pop["owners"] = [_contacts_for(g.principal, o) for o in pop["owners"]]
    return jsonify(pop)


def _contacts_for(principal, owner: dict) -> dict:
    """An owner as this agent may see them (``privacy``: full only where they hold a contact role)."""
    if privacy.sees_contacts(principal, owner.get("estate")):
        return owner
    return owner | {"name": privacy.mask_name(owner.get("name")), "phone": owner.get("phone_masked"),
                    "email": privacy.mask_email(owner.get("email"))}


def screen_pop(found: dict | None, with_labels: bool = False, now: dt.datetime | None = None) -> dict:
    """``intake.lookup_caller``'s answer as ``{"owners", "open", "recent"}``: each complaint with workflow's
    status (intake's when workflow cannot answer) and its console URL; recent = finished in the last 90 days."""
    if not found:
        return {"owners": [], "open": [], "recent": []}
    from .console_complaints import with_case_status  # the list page's merge, reused

    items = with_case_status(list(found.get("complaints") or []))
    since = (now or utcnow()) - dt.timedelta(days=RECENT_DAYS)
    open_, recent = [], []
    for item in items:
        item = dict(item, url=url_for("console_complaints.case_page", complaint_id=item["id"], _external=True))
        if with_labels:
            item.update(status_label=labels.status(item["status"]), channel_label=labels.channel(item["channel"]),
                        received_local=labels.local_time(item["received_at"]))
        if item["status"] not in CASE_DONE:
            open_.append(item)
        elif (labels.parse_instant(item["received_at"]) or since) >= since:
            recent.append(item)
    return {"owners": list(found.get("owners") or []), "open": open_, "recent": recent}


@bp.get("/calls/panel")
@_json_page
def calls_panel():
    return render_template("_calls_panel.html", calls=active_calls())


def active_calls() -> list[dict] | None:
    """The calls waiting for the agent, with who answered by name; None when intake cannot answer: the panel is
    an extra on the home page, so any failure (intake down, an intake without ``list_calls`` during a rolling
    upgrade) leaves it out and is logged, and the page still shows."""
    principal = g.get("principal")
    if principal is None or not principal.has_role(*AGENT_ROLES):
        return []
    try:
        found = rpc.client().call("intake", "list_calls", 20)
    except UNAVAILABLE as exc:
        log.warning("calls panel without calls: %s", exc)
        return None
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("calls panel without calls")
        return None
    with current_app.extensions["db"].connect() as conn:
        names = accounts.display_names(conn, principal.tenant_id, [c["agent_user_id"] for c in found])
    return [c | {"agent_name": names.get(c["agent_user_id"]) or c.get("agent_ref") or "",
                 "started_local": labels.local_time(c["started_at"])} for c in found]


def call_for_form(call_id: str | None) -> dict | None:
    """The call ``/complaints/new?call=`` records (None without one); 404 when intake does not know it or it
    belongs to an estate outside the agent's (``intake.get_call`` answers both alike)."""
    if not call_id:
        return None
    try:
        return rpc.client().call("intake", "get_call", call_id[:100])
    except RemoteError as exc:
        data = parse_remote(exc.value)
        if data is not None and int(data.get("status", 500)) == 404:
            abort(404)
        raise


def local_number(caller: str | None) -> str:
    """A CTI caller number as the complaint form accepts it: digits only, without +86/0086 or a trunk 0."""
    digits = "".join(ch for ch in caller or "" if ch.isdigit())
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) == len(prefix) + 11 and digits[len(prefix)] == "1":
            return digits[len(prefix):]
    if len(digits) == 12 and digits.startswith("01"):
        return digits[1:]
    return digits[:20]
