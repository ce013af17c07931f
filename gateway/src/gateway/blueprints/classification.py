"""Classification (owned by intake, seed 003): the live suggestion the console shows while an agent types, and
an agent's correction of a complaint's category/severity (which the tenant's model then learns from).

- ``POST /api/v1/classification/suggest`` ``{"text"}``: any staff role; top-3 categories with scores, the
  suggested severity (a key of the tenant's scheme), matched keywords and urgency hints.
- ``POST /api/v1/complaints/<id>/classification`` ``{"category", "severity"?}``: agent, cs_supervisor,
  site_manager, group_admin; unknown category -> 422 (field ``category``), other tenant's complaint -> 404.
"""
from __future__ import annotations

import uuid

from flask import Blueprint
from marshmallow import Schema, validate

from .. import rpc
from ..auth import require_roles
from ..errors import ApiError
from ..schemas import Stripped
from . import load_json

bp = Blueprint("classification", __name__)

STAFF_ROLES = ("agent", "cs_supervisor", "site_manager", "group_admin", "head_office")
CORRECTING_ROLES = ("agent", "cs_supervisor", "site_manager", "group_admin")


class SuggestSchema(Schema):
    text = Stripped(required=True, validate=validate.Length(min=1, max=5000))


class CorrectionSchema(Schema):
    category = Stripped(required=True, validate=validate.Length(min=1, max=40))
    severity = Stripped(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))


@bp.post("/classification/suggest")
@require_roles(*STAFF_ROLES)
def suggest():
    data = load_json(SuggestSchema())
    return rpc.client().call("intake", "suggest_classification", data["text"])


@bp.post("/complaints/<complaint_id>/classification")
@require_roles(*CORRECTING_ROLES)
def correct(complaint_id: str):
    try:
        complaint_id = str(uuid.UUID(complaint_id))
    except ValueError:
        raise ApiError(404, "complaint_not_found", details={"field": "id"}) from None
    data = load_json(CorrectionSchema())
    return rpc.client().call("intake", "correct_classification", complaint_id, data["category"], data["severity"])
