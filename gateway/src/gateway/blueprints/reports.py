"""Reports (``/api/v1/reports``): figures come from the reporting service's read model.

Estate scoping for site roles is the reporting service's job: it receives the caller's roles in the context.
"""
from __future__ import annotations

from flask import Blueprint, request

from .. import rpc
from ..auth import require_roles
from ..errors import ApiError
from ..schemas import parse_date

bp = Blueprint("reports", __name__)

REPORT_ROLES = ("head_office", "group_admin", "site_manager", "cs_supervisor")


@bp.get("/reports/complaint-counts")
@require_roles(*REPORT_ROLES)
def complaint_counts():
    date_from, date_to = _date("from"), _date("to")
    if date_from and date_to and date_from > date_to:
        raise ApiError(422, "validation_failed", details={"field": "from", "fields": {
            "from": ["Must not be after 'to'."]}}, field="from")
    return rpc.client().call("reporting", "complaint_counts",
                             date_from.isoformat() if date_from else None,
                             date_to.isoformat() if date_to else None)


def _date(name: str):
    try:
        return parse_date(request.args.get(name))
    except ValueError:
        raise ApiError(422, "validation_failed", details={"field": name, "fields": {
            name: ["Not a valid date (YYYY-MM-DD)."]}}, field=name) from None
