"""The residents' committee channel (居委会/业委会转达) over the API, and what its pages share.

A committee member (role ``committee_member``, bound to one estate) submits complaints on behalf of owners,
singly or as a sheet, and sees the status of what they forwarded. Everything goes to intake with channel
``committee``; intake scopes the estate from the roles in the call context and stamps ``committee_received_at``
(when the owner told the committee: ``reported_at``) for workflow's 2-hour forwarding clock.

| route | what |
|---|---|
| ``GET /api/v1/committee/complaints?limit=&offset=`` | what I forwarded, newest first, with workflow's status |
| ``POST /api/v1/committee/complaints`` (JSON) | one complaint: the API's complaint body (``reported_at`` optional) |
| ``POST /api/v1/committee/batch`` (multipart ``file``) | a CSV/XLSX sheet: 201 with the references, or 422 with |
| | every row's problem (nothing is imported then) |
"""
from __future__ import annotations

import hashlib

from flask import Blueprint, request, url_for
from marshmallow import fields
from nameko.exceptions import RemoteError

from estatedesk_common import i18n
from estatedesk_common.db import utcnow
from estatedesk_common.errors import parse_remote

from .. import committee_upload, privacy, rpc
from ..auth import current_principal, require_roles
from ..errors import ApiError
from ..schemas import ComplaintSchema
from . import load_json

bp = Blueprint("committee", __name__)

ROLE = "committee_member"
CHANNEL = "committee"
BATCH_RPC_TIMEOUT = 60  # 500 rows classified and stored in one transaction
i18n.register({
    "error.batch_rejected": {"zh_CN": "文件中有错误，未导入任何投诉", "en": "The file has errors; nothing was imported"},
    "error.batch_already_imported": {"zh_CN": "该文件已导入过，未重复导入", "en": "This file was imported before"},
})


class CommitteeComplaintSchema(ComplaintSchema):
    """The API's complaint body; the channel is always ``committee`` and the estate defaults to the member's."""

    estate = fields.String(load_default=None, allow_none=True)
    reported_at = fields.String(load_default=None, allow_none=True)


STAFF_ROLES = ("agent", "cs_supervisor", "site_manager", "department_head", "head_office", "group_admin")


def committee_only(principal) -> bool:
    """A committee member and nothing else: on the general complaint API it may read only what it forwarded
    (and registers through ``/committee/complaints``, so the channel is always ``committee``)."""
    return principal.has_role(ROLE) and not principal.has_role(*STAFF_ROLES)


def member_estates(principal) -> dict:
    """``{code: timezone}`` of the estates the member holds the committee role for."""
    codes = {estate for role, estate in principal.roles if role == ROLE and estate}
    return {e["code"]: e["timezone"] for e in rpc.client().call("intake", "list_estates") if e["code"] in codes}


def body_for(data: dict, estates: dict) -> dict:
    """The complaint as intake takes it: channel ``committee``, the member's estate when there is only one."""
    estate = data.get("estate") or (next(iter(estates)) if len(estates) == 1 else None)
    if estate not in estates:
        raise ApiError(422, "validation_failed", details={"field": "estate"}, field="estate")
    body = {k: v for k, v in data.items() if v is not None} | {"estate": estate, "channel": CHANNEL}
    if data.get("reported_at"):
        try:
            body["reported_at"] = committee_upload.reported_at(data["reported_at"], estates[estate], utcnow())
        except ValueError:
            raise ApiError(422, "validation_failed", details={"field": "reported_at"}, field="reported_at") from None
    return body


def forwarded(principal, limit: int = 20, offset: int = 0) -> dict:
    """What the caller forwarded (intake: channel committee, received by me), with workflow's status; contacts
    masked as ``privacy`` decides for a committee member."""
    from .console_complaints import with_case_status

    result = rpc.client().call("intake", "list_complaints", channel=CHANNEL, limit=limit, offset=offset, mine=True)
    result = privacy.complaint_list(principal, result)
    result["items"] = with_case_status(result["items"])
    return result


def import_sheet(content: bytes, filename: str, estates: dict) -> tuple[dict | None, list]:
    """``(intake's result, [])`` when every row was imported, ``(None, row errors)`` when nothing was."""
    default = next(iter(estates)) if len(estates) == 1 else None
    parsed = committee_upload.parse(content, filename, estates, default, utcnow())
    errors = list(parsed.errors)
    if errors and not parsed.rows:
        return None, errors
    digest = hashlib.sha256(content).hexdigest()
    try:
        result = rpc.client().call("intake", "register_batch", parsed.rows, file_sha256=digest,
                                   filename=filename[:200], validate_only=bool(errors), timeout=BATCH_RPC_TIMEOUT)
    except RemoteError as exc:
        data = parse_remote(exc.value)
        if data is None or data.get("status") not in (409, 422):
            raise
        details = data.get("details") or {}
        if data.get("status") == 409:
            raise ApiError(409, "batch_already_imported", details={"field": "file"}) from None
        errors += details.get("rows") or [{"row": 0, "field": details.get("field") or "rows",
                                           "message": data.get("message")}]
        return None, sorted(errors, key=lambda e: (e.get("row") or 0, str(e.get("field"))))
    return (None, errors) if errors else (result, [])


@bp.get("/committee/complaints")
@require_roles(ROLE)
def list_forwarded():
    from .complaints import _int_arg

    return forwarded(current_principal(), _int_arg("limit", 20, 1, 200), _int_arg("offset", 0, 0, 10**9))


@bp.post("/committee/complaints")
@require_roles(ROLE)
def create():
    principal = current_principal()
    data = load_json(CommitteeComplaintSchema())
    created = privacy.complaint_view(principal, rpc.client().call("intake", "register_complaint",
                                                                  body_for(data, member_estates(principal))))
    return created, 201, {"Location": url_for("complaints.get_complaint", complaint_id=created["id"])}


@bp.post("/committee/batch")
@require_roles(ROLE)
def batch():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "validation_failed", details={"field": "file"}, field="file")
    content = upload.read(committee_upload.MAX_FILE_BYTES + 1)
    result, errors = import_sheet(content, upload.filename, member_estates(current_principal()))
    if errors:
        raise ApiError(422, "batch_rejected", details={"field": "rows", "rows": errors, "error_count": len(errors)})
    return result, 201
