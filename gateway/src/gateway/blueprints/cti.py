"""``POST /api/v1/cti/calls``: the telephone system (CTI) reports a hotline call's events; the answer is the
screen pop the agent's softphone shows.

Authenticated by a per-tenant API key with the ``cti`` scope (``api_keys.require_api_key``): the key decides
the tenant, nothing in the body does. Body ``{"call_id", "event": ringing|answered|ended, "caller", "called",
"agent"?, "estate"?}``; ``agent`` is the gateway username of the agent who took the call (unknown names are
kept as given, and the agent who records the complaint then owns the call); ``estate`` the estate a hotline
number belongs to, when the CTI knows it (else intake takes the known caller's only estate, or none).

Each event is recorded once (the same ``call_id`` + ``event`` again is a no-op, ``"duplicate": true``) and
every answer carries the pop: owner candidates (earlier complainants with this phone: name, unit, estate and
a masked phone; the CTI already knows the number), their open and recent complaints, and ``record_url``, the
console form that records the call's complaint linked to the call.
"""
from __future__ import annotations

import re

from flask import Blueprint, current_app, g, url_for
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import rpc
from ..api_keys import require_api_key
from ..tables import users
from . import load_json
from .console_lookup import screen_pop

bp = Blueprint("cti", __name__)

CALL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,99}$"
NUMBER = r"^(\+?[0-9][0-9 -]{0,30})?$"
_OWNER_FIELDS = ("name", "phone_masked", "unit", "estate", "estate_name", "complaints", "last_complaint_at")
_COMPLAINT_FIELDS = ("id", "reference", "status", "estate_code", "estate_name", "channel", "category", "severity",
                     "received_at", "summary", "url")


class CallEventSchema(Schema):
    call_id = fields.String(required=True, validate=validate.Regexp(CALL_ID, error="Not a call id."))
    event = fields.String(required=True, validate=validate.OneOf(("ringing", "answered", "ended")))
    caller = fields.String(load_default="", validate=[validate.Length(max=32), validate.Regexp(NUMBER)])
    called = fields.String(load_default="", validate=[validate.Length(max=32), validate.Regexp(NUMBER)])
    agent = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=150))
    estate = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))


@bp.post("/cti/calls")
@require_api_key("cti")
def call_event():
    body = load_json(CallEventSchema())
    tenant_id = g.public_tenant_id
    event = {key: body[key] for key in ("call_id", "event", "caller", "called", "agent", "estate")}
    event["agent_user_id"] = _agent_user(tenant_id, body.get("agent"))
    recorded = rpc.client().call("intake", "record_call_event", event)
    call = recorded["call"]
    pop = screen_pop(recorded.get("caller"))
    return {
        "call": {key: call.get(key) for key in ("call_id", "state", "caller", "called", "estate", "started_at",
                                                 "answered_at", "ended_at", "complaint_id")}
        | {"agent": body.get("agent"), "agent_known": call.get("agent_user_id") is not None},
        "duplicate": recorded["duplicate"],
        "owners": [{key: o.get(key) for key in _OWNER_FIELDS} for o in pop["owners"]],
        "open_complaints": [_complaint(c) for c in pop["open"]],
        "recent_complaints": [_complaint(c) for c in pop["recent"]],
        "record_url": url_for("console_complaints.new_complaint", call=call["call_id"], _external=True),
    }


def _complaint(item: dict) -> dict:
    return {key: item.get(key) for key in _COMPLAINT_FIELDS}


_USERNAME = re.compile(r"^\S{1,150}$")


def _agent_user(tenant_id: str, agent: str | None) -> str | None:
    """The id of the active user of this tenant whose username is ``agent``; None for anything else."""
    if not agent or not _USERNAME.match(agent.strip()):
        return None
    with current_app.extensions["db"].connect() as conn:
        row = conn.execute(select(users.c.id).where(users.c.tenant_id == tenant_id,
                                                    users.c.username == agent.strip(),
                                                    users.c.active.is_(True))).first()
    return None if row is None else row.id
