"""The duty roster (值班表) of an estate (``/api/v1/duty-roster``), owned by workflow (workflow.duty).

``GET /duty-roster?estate=CODE``: the estate's entries and who is on duty now (``off_hours_now``,
``on_duty_now``) — group_admin / head_office any estate, the estate's site_manager or cs_supervisor their own
(another estate is 404 like an unknown one). ``PUT /duty-roster`` body ``{"estate": CODE, "entries": [{"person",
"post"?, "weekdays"?: [1..7], "date_from"?, "date_to"?, "note"?}]}`` replaces the roster: group_admin,
head_office or the estate's site_manager. People are usernames of the tenant's active users (checked here, as
for routing rules: workflow stores strings); an unknown one is 422 naming ``entries.<i>.person``. A case opened
outside the estate's business hours goes to the person on duty that night.
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

bp = Blueprint("duty_roster", __name__)

GROUP_ROLES = ("group_admin", "head_office")
READ_ROLES = ("site_manager", "cs_supervisor")
WRITE_ROLES = ("site_manager",)
ESTATE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="Must be an estate code.")


class EntrySchema(Schema):
    person = fields.String(required=True, validate=validate.Length(min=1, max=100))
    post = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60),
                         metadata={"description": "what the person stands for, e.g. 消防监控中心 "
                                                  "(default 值班)"})
    weekdays = fields.List(fields.Integer(validate=validate.Range(min=1, max=7)), load_default=list,
                           metadata={"description": "ISO weekdays 1 (Monday) to 7 (Sunday) whose night it covers; "
                                                    "empty: every night"})
    date_from = fields.Date(load_default=None, allow_none=True, metadata={"description": "estate-local, inclusive"})
    date_to = fields.Date(load_default=None, allow_none=True, metadata={"description": "estate-local, inclusive"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class SaveRosterSchema(Schema):
    estate = fields.String(required=True, validate=ESTATE)
    entries = fields.List(fields.Nested(EntrySchema), required=True, validate=validate.Length(max=100))


class RosterArgs(Schema):
    estate = fields.String(required=True, validate=ESTATE)


def _may(principal, estate: str, site_roles) -> bool:
    return any(role in GROUP_ROLES or (role in site_roles and scope == estate) for role, scope in principal.roles)


@bp.get("/duty-roster")
def get_roster():
    principal = current_principal()
    estate = request.args.get("estate") or ""
    if not any(role in GROUP_ROLES + READ_ROLES for role, _ in principal.roles):
        raise ApiError(403, "forbidden")
    if not estate:
        raise ApiError(422, "validation_failed", details={"field": "estate", "fields": {
            "estate": ["Missing data for required field."]}}, field="estate")
    if not _may(principal, estate, READ_ROLES) or estate not in _tenant_estates():
        raise ApiError(404, "estate_not_found", details={"field": "estate"})
    return rpc.client().call("workflow", "get_duty_roster", estate)


def _tenant_estates() -> set:
    """The caller's tenant's estate codes (intake's directory): another tenant's estate is as unknown as none."""
    return {e.get("code") for e in rpc.client().call("intake", "list_estates")}


@bp.put("/duty-roster")
def save_roster():
    principal = current_principal()
    data = load_json(SaveRosterSchema())
    if not _may(principal, data["estate"], WRITE_ROLES):
        raise ApiError(403, "forbidden")
    if data["estate"] not in _tenant_estates():
        raise ApiError(422, "validation_failed", details={"field": "estate", "fields": {
            "estate": ["Unknown estate."]}}, field="estate")
    _check_people(principal.tenant_id, data["entries"])
    entries = [e | {"date_from": e["date_from"] and e["date_from"].isoformat(),
                    "date_to": e["date_to"] and e["date_to"].isoformat()} for e in data["entries"]]
    return rpc.client().call("workflow", "save_duty_roster", data["estate"], entries)


def _check_people(tenant_id: str, entries: list[dict]) -> None:
    wanted = sorted({e["person"].strip() for e in entries})
    with current_app.extensions["db"].connect() as conn:
        known = set(conn.execute(select(users.c.username).where(
            users.c.tenant_id == tenant_id, users.c.active.is_(True), users.c.username.in_(wanted))).scalars())
    for i, entry in enumerate(entries):
        if entry["person"].strip() not in known:
            field = f"entries.{i}.person"
            raise ApiError(422, "validation_failed", details={"field": field, "fields": {
                field: [f"Unknown user: {entry['person']}."]}}, field=field)
