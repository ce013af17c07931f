"""Routing rules (``/api/v1/routing-rules``), owned by workflow (workflow.routing).

``GET /routing-rules[?estate=CODE]``: the rules the caller may read — group roles every scope; a site_manager or
cs_supervisor the group's rules and their estates' (another estate is 404 like an unknown one).
``PUT /routing-rules`` body ``{"scope": "group" | "estate:<code>", "rules": [{"category"?, "department",
"team": [username, ...], "strategy"?: "round_robin" | "least_loaded"}]}`` replaces the scope's rules: group_admin
any scope, a site_manager its own estates. Team members are usernames of the tenant's active users (checked
here: workflow stores strings); an unknown one is 422 naming ``rules[i].team``. A new case at the estate is
assigned by the most specific rule when it opens.
"""
from __future__ import annotations

from flask import Blueprint, current_app, request
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from ..tables import users
from . import load_json

bp = Blueprint("routing_rules", __name__)

READ_ROLES = ("group_admin", "head_office", "site_manager", "cs_supervisor")
WRITE_ROLES = ("group_admin", "site_manager")
GROUP_ROLES = ("group_admin", "head_office")


class RuleSchema(Schema):
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    department = fields.String(required=True, validate=validate.Length(min=1, max=100))
    team = fields.List(fields.String(validate=validate.Length(min=1, max=100)), required=True,
                       validate=validate.Length(min=1, max=50))
    strategy = fields.String(load_default="round_robin", validate=validate.OneOf(["round_robin", "least_loaded"]))


class SaveRoutingSchema(Schema):
    scope = fields.String(required=True, validate=validate.Regexp(
        r"^(group|estate:[A-Za-z0-9_\-]{1,40})$", error="Must be group or estate:<code>."))
    rules = fields.List(fields.Nested(RuleSchema), required=True, validate=validate.Length(max=100))


class RoutingArgs(Schema):
    estate = fields.String(validate=validate.Length(min=1, max=40))


def _estates(principal, roles) -> set | None:
    """None: every estate; else the estates where the caller holds one of ``roles``."""
    if any(role in GROUP_ROLES and role in roles for role, _ in principal.roles):
        return None
    return {estate for role, estate in principal.roles if role in roles and estate}


@bp.get("/routing-rules")
def list_rules():
    principal = current_principal()
    reach = _estates(principal, READ_ROLES)
    if reach is not None and not reach:
        raise ApiError(403, "forbidden")
    estate = request.args.get("estate") or None
    if estate is not None and reach is not None and estate not in reach:
        raise ApiError(404, "estate_not_found", details={"field": "estate"})
    return rpc.client().call("workflow", "list_routing_rules", estate)


@bp.put("/routing-rules")
def save_rules():
    principal = current_principal()
    data = load_json(SaveRoutingSchema())
    kind, _, code = data["scope"].partition(":")
    admin = any(role == "group_admin" for role, _scope in principal.roles)
    manager = kind == "estate" and ("site_manager", code) in {tuple(r) for r in principal.roles}
    if not (admin or manager):
        raise ApiError(403, "forbidden")
    if kind == "estate" and code not in {e.get("code") for e in rpc.client().call("intake", "list_estates")}:
        raise ApiError(422, "validation_failed", details={"field": "scope", "fields": {
            "scope": ["Unknown estate."]}}, field="scope")
    _check_team(principal.tenant_id, data["rules"])
    return rpc.client().call("workflow", "save_routing_rules", data["scope"], data["rules"])


def unknown_members(tenant_id: str, rules: list[dict]) -> dict[int, list[str]]:
    """``{rule index: [team members that are not active users of the tenant]}`` (also the settings page's)."""
    wanted = {m.strip() for r in rules for m in r["team"]}
    with current_app.extensions["db"].connect() as conn:
        known = set(conn.execute(select(users.c.username).where(
            users.c.tenant_id == tenant_id, users.c.active.is_(True), users.c.username.in_(sorted(wanted)))).scalars())
    found = {i: [m for m in rule["team"] if m.strip() not in known] for i, rule in enumerate(rules)}
    return {i: names for i, names in found.items() if names}


def _check_team(tenant_id: str, rules: list[dict]) -> None:
    unknown = unknown_members(tenant_id, rules)
    if unknown:
        i = min(unknown)
        field = f"rules.{i}.team"
        raise ApiError(422, "validation_failed", details={"field": field, "fields": {
            field: [f"Unknown user: {', '.join(unknown[i])}."]}}, field=field)
