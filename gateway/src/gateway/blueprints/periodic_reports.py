"""Periodic reports (周报/月报/季报) e-mailed to subscribed managers: ``/api/v1/report-subscriptions`` and
``/api/v1/report-runs``, for head office and group admins; owned by reporting (made on schedule, sent by notify).

``GET /report-runs/<id>?format=html`` answers the report page itself (self-contained HTML: inline styles and
SVG, no scripts), ready to open in a browser or print to PDF; without it the JSON carries the same page in
``html``. ``GET /report-runs/<id>/export.<csv|xlsx>`` downloads the run's figures (KPIs, league table, trend;
``?locale=zh_CN|en``, default the subscription's). Another tenant's subscription or report is 404 like an unknown one. Subscribing and ending a
subscription are audited (``report_subscribed``, ``report_unsubscribed``) once reporting answered.
"""
from __future__ import annotations

import uuid

import base64

from flask import Blueprint, Response, request, url_for
from marshmallow import Schema, fields, validate

from estatedesk_common import i18n

from .. import audit, rpc
from ..auth import current_principal, require_roles
from ..errors import ApiError
from . import load_json
from .dashboard import EXPORT_TYPES, _safe_name

bp = Blueprint("periodic_reports", __name__)
MANAGERS = ("head_office", "group_admin")

i18n.register({
    "error.report_subscription_not_found": {"zh_CN": "找不到该报表订阅", "en": "No such report subscription"},
})


class SubscriptionSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(["weekly", "monthly", "quarterly"]))
    estate = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    recipients = fields.List(fields.Email(validate=validate.Length(max=254)), required=True,
                             validate=validate.Length(min=1, max=20))
    locale = fields.String(load_default="zh_CN", validate=validate.OneOf(["zh_CN", "en"]))


def audit_subscribed(tenant_id: str, created: dict) -> None:
    """The audit row of a new subscription: kind, estate and how many recipients (not their addresses)."""
    audit.record_now(tenant_id, "report_subscribed", target_kind="report_subscription", target_id=created["id"],
                     detail={"kind": created.get("kind"), "estate": created.get("estate"),
                             "recipients": len(created.get("recipients") or [])})


def audit_unsubscribed(tenant_id: str, ended: dict) -> None:
    audit.record_now(tenant_id, "report_unsubscribed", target_kind="report_subscription", target_id=ended["id"])


def _id(value: str, code: str = "report_subscription_not_found") -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise ApiError(404, code, details={"field": "id"}) from None


@bp.get("/report-subscriptions")
@require_roles(*MANAGERS)
def list_subscriptions():
    current_principal()
    return {"items": rpc.client().call("reporting", "list_report_subscriptions")}


@bp.post("/report-subscriptions")
@require_roles(*MANAGERS)
def subscribe():
    principal = current_principal()
    created = rpc.client().call("reporting", "subscribe_report", load_json(SubscriptionSchema()))
    audit_subscribed(principal.tenant_id, created)
    return created, 201, {"Location": url_for("periodic_reports.list_subscriptions")}


@bp.delete("/report-subscriptions/<subscription_id>")
@require_roles(*MANAGERS)
def unsubscribe(subscription_id: str):
    principal = current_principal()
    ended = rpc.client().call("reporting", "unsubscribe_report", _id(subscription_id))
    audit_unsubscribed(principal.tenant_id, ended)
    return ended


@bp.post("/report-subscriptions/<subscription_id>/run")
@require_roles(*MANAGERS)
def run_now(subscription_id: str):
    """The last complete period's report, made now if it is not yet (and then e-mailed)."""
    current_principal()
    return rpc.client().call("reporting", "run_report_now", _id(subscription_id), timeout=60)


@bp.get("/report-runs")
@require_roles(*MANAGERS)
def list_runs():
    current_principal()
    return {"items": rpc.client().call("reporting", "list_report_runs")}


@bp.get("/report-runs/<run_id>")
@require_roles(*MANAGERS)
def get_run(run_id: str):
    current_principal()
    run = rpc.client().call("reporting", "get_report_run", _id(run_id, "not_found"))
    if request.args.get("format") == "html":
        return Response(run["html"], content_type="text/html; charset=utf-8",
                        headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
                                 "X-Content-Type-Options": "nosniff"})
    return run


@bp.get("/report-runs/<run_id>/export.<fmt>")
@require_roles(*MANAGERS)
def export_run(run_id: str, fmt: str):
    current_principal()
    if fmt not in EXPORT_TYPES:
        raise ApiError(404, "not_found")
    locale = request.args.get("locale") if request.args.get("locale") in ("zh_CN", "en") else None
    out = rpc.client().call("reporting", "export_report_run", _id(run_id, "not_found"), fmt, locale)
    return export_response(out, fmt)


def export_response(out: dict, fmt: str) -> Response:
    """reporting's ``{filename, content_base64}`` as a download (also for the console's page)."""
    response = Response(base64.b64decode(out["content_base64"]), mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe_name(out["filename"], fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response
