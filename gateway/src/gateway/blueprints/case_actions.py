"""Acting on a case (``POST /api/v1/complaints/<id>/actions``), owned by workflow.

Body: ``{"action": "contact"|"assign"|"plan"|"progress"|"resolve"|"accept"|"cancel", ...fields}`` (assign:
``assignee``; resolve: ``cause``, ``remedy``, ``loss_amount``; cancel: ``reason``; any: ``note``;
request_extension: ``new_due_at``, ``reason``, ``stage`` (default resolution); decide_extension: ``approve``,
``note`` (required to reject), ``stage`` — by the next level up, never the requester: otherwise 403
``extension_not_allowed``; approving an extension longer than the decider's rung of the policy's
``extensions.approval`` allows: 403 ``extension_needs_higher_approval`` (``details.required_role``); decide_nonconformity: ``approve``, ``note`` (required to reject) — the estate's
site manager or head office, otherwise 403 ``nonconformity_not_allowed``; defer: ``consented_by``, ``until``
(default the estate's next working period), ``note`` — not for the top/urgent severity: 422
``deferral_not_allowed`` on ``severity``; resume: ``note``). The request
must carry ``If-Match`` with the case version from the complaint's ``ETag``: without it 428
``precondition_required``, with a stale one 409 ``version_conflict`` (two agents cannot overwrite each other).
The answer carries the new ``ETag``. A case outside the caller's estate scope is 404 (``scope.require``).
"""
from __future__ import annotations

import re
import uuid

from flask import Blueprint, request
from marshmallow import Schema, fields, validate

from estatedesk_common import i18n

from .. import audit, rpc, scope
from ..auth import current_principal, require_roles
from ..errors import ApiError
from . import load_json

bp = Blueprint("case_actions", __name__)

ACTING_ROLES = ("agent", "cs_supervisor", "site_manager", "department_head", "head_office", "group_admin")
_ETAG = re.compile(r'^\s*(?:W/)?"?(\d{1,9})"?\s*$')

i18n.register({
    "error.precondition_required": {"zh_CN": "请带上 If-Match（案件版本），以免覆盖他人的修改",
                                    "en": "Send If-Match with the case version so no one's change is overwritten"},
    "error.version_conflict": {"zh_CN": "案件已被他人更新，请刷新后再操作",
                               "en": "Someone else updated the case; reload it and try again"},
    "error.nonconformity_not_allowed": {"zh_CN": "不合格服务记录须由本项目经理或总部审批",
                                        "en": "A nonconformity record is decided by the estate's site manager or head office"},
    "error.deferral_not_allowed": {"zh_CN": "紧急/重大投诉不能延后处理，须立即处理",
                                   "en": "An urgent or major complaint cannot be deferred; it is handled at once"},
    "error.extension_not_allowed": {"zh_CN": "延期须由上一级审批，申请人不能审批自己的申请",
                                    "en": "An extension is decided by the next level up, never by its requester"},
    "error.extension_needs_higher_approval": {
        "zh_CN": "延期时长超出您的审批权限（见时限策略 extensions.approval），须由更高一级审批",
        "en": "This extension is longer than your rung may approve (policy extensions.approval); a higher level decides"},
})


class ActionSchema(Schema):
    """Shape only; which fields an action needs is workflow's rule (its 422 names the field)."""

    action = fields.String(required=True, validate=validate.OneOf(
        ["contact", "assign", "plan", "progress", "resolve", "accept", "cancel", "request_extension",
         "decide_extension", "decide_nonconformity", "defer", "resume"]))
    note = fields.String(validate=validate.Length(max=2000))
    assignee = fields.String(validate=validate.Length(max=100))
    cause = fields.String(validate=validate.Length(max=40))
    remedy = fields.String(validate=validate.Length(max=2000))
    loss_amount = fields.Float(validate=validate.Range(min=0, max=10_000_000))
    reason = fields.String(validate=validate.Length(max=500))
    # extensions (延期): request_extension {stage?, new_due_at, reason}; decide_extension {approve, note, stage?}
    stage = fields.String(validate=validate.Length(min=1, max=40))
    new_due_at = fields.String(validate=validate.Length(max=40))  # ISO 8601 with offset; workflow checks it
    approve = fields.Boolean()
    # deferral with the owner's consent: defer {consented_by, until?, note?}; resume {note?}
    consented_by = fields.String(validate=validate.Length(min=1, max=100),
                                 metadata={"description": "who agreed to wait: the owner's name, or 业主（电话确认）"})
    until = fields.String(validate=validate.Length(max=40), metadata={
        "description": "ISO 8601 with offset; default the start of the estate's next working period"})


def etag(version) -> str:
    return f'"{int(version)}"'


@bp.post("/complaints/<complaint_id>/actions")
@require_roles(*ACTING_ROLES)
def act(complaint_id: str):
    principal = current_principal()
    try:
        complaint_id = str(uuid.UUID(complaint_id))
    except ValueError:
        raise ApiError(404, "complaint_not_found", details={"field": "id"}) from None
    match = _ETAG.match(request.headers.get("If-Match", ""))
    if not match:
        raise ApiError(428, "precondition_required", details={"field": "If-Match"})
    body = load_json(ActionSchema())
    data = {k: v for k, v in body.items() if k != "action"}
    client = rpc.client()
    case = scope.require(principal, client.call("workflow", "get_case", complaint_id))  # 404 outside the scope
    result = client.call("workflow", "act", complaint_id, body["action"], data, int(match.group(1)))
    audit.keep_case(case, body["action"], data, result)  # state before -> after for the audit row
    return result, 200, {"ETag": etag(result["version"])}
