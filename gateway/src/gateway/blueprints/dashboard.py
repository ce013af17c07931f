"""Head-office and site dashboard (``/api/v1/reports/...``): KPIs, estate league table, hot spots, drill-down
and CSV/XLSX exports, all answered by the reporting service's read model.

The gateway checks the shape of the query (dates, integers) and the role; which estates the caller may see is
decided by reporting from the roles in the call context (an estate outside them is a 404 from reporting).
"""
from __future__ import annotations

import base64

from flask import Blueprint, Response, request

from estatedesk_common.i18n import negotiate

from .. import rpc
from ..auth import require_roles
from ..errors import ApiError
from ..schemas import parse_date

bp = Blueprint("dashboard", __name__)

DASHBOARD_ROLES = ("head_office", "group_admin", "site_manager", "cs_supervisor")
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _invalid(field: str, message: str) -> ApiError:
    return ApiError(422, "validation_failed", details={"field": field, "fields": {field: [message]}}, field=field)


def _dates() -> tuple[str | None, str | None]:
    out = []
    for name in ("from", "to"):
        try:
            value = parse_date(request.args.get(name))
        except ValueError:
            raise _invalid(name, "Not a valid date (YYYY-MM-DD).") from None
        out.append(value.isoformat() if value else None)
    return out[0], out[1]


def _text(name: str) -> str | None:
    return request.args.get(name) or None


def _int(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError:
        raise _invalid(name, "Not a valid integer.") from None


@bp.get("/reports/kpis")
@require_roles(*DASHBOARD_ROLES)
def kpis():
    return rpc.client().call("reporting", "kpis", *_dates(), _text("estate"))


@bp.get("/reports/league-table")
@require_roles(*DASHBOARD_ROLES)
def league_table():
    return rpc.client().call("reporting", "league_table", *_dates(), request.args.get("sort") or "received",
                             _text("region"))


@bp.get("/reports/hot-spots")
@require_roles(*DASHBOARD_ROLES)
def hot_spots():
    return rpc.client().call("reporting", "hot_spots", *_dates())


@bp.get("/reports/drilldown")
@require_roles(*DASHBOARD_ROLES)
def drilldown():
    return rpc.client().call("reporting", "drilldown", request.args.get("metric") or "received", *_dates(),
                             _text("estate"), _text("category"), _text("channel"), _int("limit", 50),
                             _int("offset", 0), _text("building"), _text("facility"))


@bp.get("/reports/export.<fmt>")
@require_roles(*DASHBOARD_ROLES)
def export(fmt: str):
    if fmt not in EXPORT_TYPES:
        raise ApiError(404, "not_found")
    date_from, date_to = _dates()
    out = rpc.client().call("reporting", "export", request.args.get("report") or "league_table", fmt, date_from,
                            date_to, _text("estate"), request.args.get("sort") or "received", _text("region"),
                            negotiate(request.headers.get("Accept-Language")))
    response = Response(base64.b64decode(out["content_base64"]), mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe_name(out["filename"], fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_name(name: str, fmt: str) -> str:
    cleaned = "".join(ch for ch in str(name) if ch.isascii() and (ch.isalnum() or ch in "._-"))
    return cleaned if cleaned.endswith("." + fmt) else f"report.{fmt}"
