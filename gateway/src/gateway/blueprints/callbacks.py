"""Callbacks (回访), owned by notify: ``GET /api/v1/callbacks``, ``POST /api/v1/callbacks/<id>/claim``,
``POST /api/v1/callbacks/<id>/attempts``.

The gateway checks shape only (marshmallow, 422 naming the field); notify decides who may claim (not the person
who resolved the case; site roles only in their estates, from the call context's ``roles``), whether the attempt
fits (satisfaction required when the owner was reached) and what follows (retries, SMS survey, case closed or
reopened).
"""
from __future__ import annotations

import uuid

from flask import Blueprint, request
from marshmallow import Schema, ValidationError, fields, validate

from estatedesk_common import i18n

from .. import rpc
from ..auth import current_principal, require_roles
from ..errors import ApiError
from ..schemas import first_field
from . import load_json

bp = Blueprint("callbacks", __name__)

i18n.register({
    "error.callback_not_found": {"zh_CN": "没有这条回访任务", "en": "No such callback"},
    "error.resolver_cannot_claim": {"zh_CN": "处理该投诉的人员不能回访自己处理的案件",
                                    "en": "The person who resolved the case cannot call the owner back"},
    "error.callback_conflict": {"zh_CN": "这条回访已被他人领取或已完成",
                                "en": "Someone else claimed this callback, or it is finished"},
    "error.survey_not_found": {"zh_CN": "问卷不存在或已提交", "en": "No such survey, or it was already answered"},
})

CALLBACK_ROLES = ("agent", "cs_supervisor", "site_manager", "department_head", "head_office", "group_admin")
OUTCOMES = ("no_answer", "wrong_number", "refused", "reached")
SATISFACTIONS = ("very_satisfied", "satisfied", "neutral", "dissatisfied")
STATUSES = ("open", "claimed", "done", "escalated")


class ListArgs(Schema):
    estate = fields.String(validate=validate.Length(min=1, max=40))
    status = fields.String(validate=validate.OneOf(STATUSES))
    complaint_id = fields.UUID()
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100_000))
    # due_at | resolved_at | estate | status, asc | desc: checked by notify's query (unknown: 400 invalid_sort)
    sort = fields.String(validate=validate.Length(max=40), metadata={
        "description": "due_at (default: earliest due or retry first), resolved_at, estate or status; "
                       "another key is 400 invalid_sort"})
    order = fields.String(validate=validate.Length(max=10), metadata={"description": "asc or desc"})


class AttemptSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(OUTCOMES))
    satisfaction = fields.String(allow_none=True, validate=validate.OneOf(SATISFACTIONS))
    words = fields.String(allow_none=True, validate=validate.Length(max=2000))
    valid = fields.Boolean(allow_none=True, truthy={True}, falsy={False})
    solved = fields.Boolean(allow_none=True, truthy={True}, falsy={False})


def callback_id_of(value: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, "callback_not_found", details={"field": "id"}) from None


@bp.get("/callbacks")
@require_roles(*CALLBACK_ROLES)
def list_callbacks():
    current_principal()
    schema = ListArgs()
    try:
        args = schema.load(request.args.to_dict())
    except ValidationError as exc:
        field = first_field(exc.messages, schema)
        raise ApiError(422, "validation_failed", details={"field": field, "fields": exc.messages},
                       field=field) from None
    complaint_id = str(args["complaint_id"]) if args.get("complaint_id") else None
    return rpc.client().call("notify", "list_callbacks", args.get("estate"), args.get("status"), args["limit"],
                             args["offset"], complaint_id, sort=args.get("sort"), order=args.get("order"))


@bp.post("/callbacks/<callback_id>/claim")
@require_roles(*CALLBACK_ROLES)
def claim(callback_id: str):
    current_principal()
    return rpc.client().call("notify", "claim_callback", callback_id_of(callback_id))


@bp.post("/callbacks/<callback_id>/attempts")
@require_roles(*CALLBACK_ROLES)
def attempt(callback_id: str):
    current_principal()
    callback_id = callback_id_of(callback_id)
    body = load_json(AttemptSchema())
    if body["outcome"] == "reached" and not body.get("satisfaction"):
        raise ApiError(422, "validation_failed", details={"field": "satisfaction"}, field="satisfaction")
    return rpc.client().call("notify", "log_callback_attempt", callback_id, body["outcome"],
                             body.get("satisfaction"), body.get("words"), body.get("valid"), body.get("solved"))
