"""Nonconformity records and CAPA (``/api/v1/nonconformities``, ``/api/v1/capa``), owned by workflow
(workflow.quality).

``GET /nonconformities?estate=&status=open|approved|rejected``: the 《不合格品/服务记录处理单》 records (a loss of 500
yuan or more), newest first; ``GET /capa?estate=&status=open|closed``: the corrective/preventive action records,
soonest due first, each with ``overdue``. Group roles (head_office, group_admin) read every estate; a
site_manager or cs_supervisor their own (another estate is 404 like an unknown one). Workflow scopes the rows by
the same roles from the call context, so the query string cannot widen them. The site manager decides a record
with the case action ``decide_nonconformity``; the effectiveness check of a CAPA record is on the ``/quality``
page (workflow ``check_capa``).
"""
from __future__ import annotations

from flask import Blueprint
from marshmallow import Schema, fields, validate

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from .users import load_args

bp = Blueprint("quality", __name__)

READ_ROLES = ("group_admin", "head_office", "site_manager", "cs_supervisor")
GROUP_ROLES = ("group_admin", "head_office")
NONCONFORMITY_STATUSES = ("open", "approved", "rejected")
CAPA_STATUSES = ("open", "closed")
ESTATE = validate.Regexp(r"^[A-Za-z0-9_\-]{1,40}$", error="Must be an estate code.")


class NonconformityArgs(Schema):
    estate = fields.String(validate=ESTATE)
    status = fields.String(validate=validate.OneOf(NONCONFORMITY_STATUSES),
                           metadata={"description": "open = waiting for the site manager's decision"})


class CapaArgs(Schema):
    estate = fields.String(validate=ESTATE)
    status = fields.String(validate=validate.OneOf(CAPA_STATUSES))


def reach(principal) -> set | None:
    """None: every estate; else the estates where the caller may read quality records (empty: none)."""
    if any(role in GROUP_ROLES for role, _ in principal.roles):
        return None
    return {estate for role, estate in principal.roles if role in READ_ROLES and estate}


def _args(schema: Schema) -> dict:
    principal = current_principal()
    allowed = reach(principal)
    if allowed is not None and not allowed:
        raise ApiError(403, "forbidden")
    args = load_args(schema)
    if args.get("estate") and allowed is not None and args["estate"] not in allowed:
        raise ApiError(404, "estate_not_found", details={"field": "estate"})
    return args


@bp.get("/nonconformities")
def list_nonconformities():
    args = _args(NonconformityArgs())
    return rpc.client().call("workflow", "list_nonconformities", args.get("estate"), args.get("status"))


@bp.get("/capa")
def list_capa():
    args = _args(CapaArgs())
    return rpc.client().call("workflow", "list_capa", args.get("estate"), args.get("status"))
