"""Head office dashboard in the console: ``/dashboard`` (KPIs, league table, hot spots, two charts),
``/dashboard/drilldown`` (the cases behind a figure) and ``/dashboard/export.<csv|xlsx>`` (the API's export for
the session user), all from reporting's read model.

Which estates a user sees is reporting's rule, from the roles in the call context: head office and group
admins every estate, site managers and supervisors theirs. Every figure links to its drill-down list; the
charts are inline SVG drawn here (``dashboard_charts``), no JavaScript. A period defaults to the current month
up to today (Asia/Shanghai); reporting refuses a bad period and the page says so in the user's language.
"""
from __future__ import annotations

import base64
import datetime as dt
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import rpc
from ..web import select_locale
from .console import page, page_error
from .dashboard import DASHBOARD_ROLES, EXPORT_TYPES, _safe_name
from .dashboard_charts import bars

bp = Blueprint("console_dashboard", __name__)

SORTS = {"received": _l("Complaints received"), "on_time_pct": _l("First contact on time"),
         "resolved_within_limit_pct": _l("Resolved within the limit")}
# drill-down metrics offered (reporting.queries.METRIC_FILTERS) and their names
METRICS = {
    "received": _l("Complaints received"), "first_contact_on_time": _l("First contact on time"),
    "first_contact_late": _l("First contact late"), "overdue_now": _l("First contact overdue now"),
    "resolved": _l("Resolved"), "resolved_on_time": _l("Resolved within the limit"),
    "resolved_late": _l("Resolved late"), "resolution_overdue_now": _l("Resolution overdue now"),
    "called_back": _l("Called back"), "not_called_back": _l("Not called back"), "satisfied": _l("Satisfied"),
    "dissatisfied": _l("Dissatisfied"), "reopened": _l("Reopened"), "breached": _l("Deadline missed"),
    "escalated": _l("Escalated"), "repeat": _l("Repeat complaints"),
    "nonconformity_required": _l("Nonconformity record needed"), "reclassified": _l("Reclassified"),
    "handling_measured": _l("Handling time measured (slowest first)"),
    "handling_unmeasured": _l("Resolved without working hours"),
    "extensions_requested": _l("Extension requested"), "extensions_approved": _l("Extension approved"),
    "escalated_level_1": _l("Escalated to level %(n)d", n=1), "escalated_level_2": _l("Escalated to level %(n)d", n=2),
    "escalated_level_3": _l("Escalated to level %(n)d", n=3),
    "nonconformity_records": _l("Nonconformity records opened"),
    "nonconformity_approved": _l("Nonconformity records approved"),
    "nonconformity_rejected": _l("Nonconformity records rejected"),
    "capa_open": _l("CAPA open now"), "capa_overdue": _l("CAPA overdue now"), "capa_opened": _l("CAPA opened"),
    "capa_closed": _l("CAPA closed"),
}
# figures about quality records: their list is the records' cases, the period is the records' (not the receipt day)
QUALITY_METRICS = ("nonconformity_records", "nonconformity_approved", "nonconformity_rejected", "capa_open",
                   "capa_overdue", "capa_opened", "capa_closed")
QUALITY_NOTE = _l("The cases of the quality records this figure counts: the period is when a record was opened, "
                  "decided or closed, not when the complaint came in; CAPA open / overdue are as of now.")
OUTCOMES = {"on_time": _l("On time"), "late": _l("Late"), "overdue": _l("Overdue"), "pending": _l("Pending"),
            "cancelled": _l("Cancelled"), "unknown": _l("Unknown")}
PERIOD_ERROR = _l("Choose a valid period: both dates, the first not after the second.")
NOT_FOUND = _l("That estate is not in your scope.")
PAGE_SIZE = 50
ZONE = ZoneInfo("Asia/Shanghai")


@bp.app_context_processor
def _globals() -> dict:
    return {"drill_url": drill_url, "outcome_label": lambda code: str(OUTCOMES.get(code, code or "—"))}


def drill_url(metric: str, period: dict, **filters) -> str:
    """The drill-down list behind a figure, for the same period (and estate/category when given)."""
    return url_for("console_dashboard.drilldown", metric=metric, **{"from": period["from"], "to": period["to"]},
                   **{k: v for k, v in filters.items() if v is not None})


def _period() -> dict:
    """``from``/``to`` of the query (YYYY-MM-DD), else this month up to today; reporting validates them."""
    today = dt.datetime.now(ZONE).date()
    date_from = (request.args.get("from") or today.replace(day=1).isoformat())[:10]
    date_to = (request.args.get("to") or today.isoformat())[:10]
    return {"from": date_from, "to": date_to}


def _text(name: str, limit: int = 40) -> str | None:
    value = (request.args.get(name) or "").strip()[:limit]
    return value or None


def _refusal(exc: RemoteError) -> tuple[int, str]:
    """A reporting 4xx as (status, message for the page); anything else is a page error."""
    found = parse_remote(exc.value)
    if found is None or not 400 <= int(found.get("status", 500)) < 500:
        raise exc
    status = int(found["status"])
    return status, str(NOT_FOUND if status == 404 else PERIOD_ERROR)


@bp.get("/dashboard")
@page(*DASHBOARD_ROLES)
def dashboard():
    period = _period()
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "received"
    region = _text("region")
    client = rpc.client()
    estates = client.call("intake", "list_estates")
    regions = sorted({e["region"] for e in estates if e.get("region")})
    try:
        kpis, league, hot = client.call_many([
            ("reporting", "kpis", (period["from"], period["to"], None)),
            ("reporting", "league_table", (period["from"], period["to"], sort, region)),
            ("reporting", "hot_spots", (period["from"], period["to"]))])
    except RemoteError as exc:
        status, message = _refusal(exc)
        return render_template("dashboard.html", period=period, sort=sort, region=region, regions=regions,
                               sorts=SORTS, error=message, kpis=None, league=None, hot=None, charts={}), status
    charts = {
        "categories": bars([(c["key"], c["received"]) for c in kpis["by_category"]], unit="", kind="category"),
        "on_time": bars([(r["estate_name"], r["on_time_pct"]) for r in league["rows"]], unit="%", maximum=100,
                        kind="estate"),
    }
    return render_template("dashboard.html", period=period, sort=sort, region=region, regions=regions, sorts=SORTS,
                           error=None, kpis=kpis, league=league, hot=hot, charts=charts)


@bp.get("/dashboard/drilldown")
@page(*DASHBOARD_ROLES)
def drilldown():
    period = _period()
    metric = request.args.get("metric") if request.args.get("metric") in METRICS else "received"
    filters = {"estate": _text("estate"), "category": _text("category"), "channel": _text("channel", 20),
               "building": _text("building"), "facility": _text("facility")}
    if request.args.get("category") == "":  # reporting's "" = not classified
        filters["category"] = ""
    try:
        page_no = max(1, min(int(request.args.get("page", 1)), 10**6))
    except ValueError:
        page_no = 1
    args = (metric, period["from"], period["to"], filters["estate"], filters["category"], filters["channel"],
            PAGE_SIZE, (page_no - 1) * PAGE_SIZE, filters["building"], filters["facility"])
    try:
        result = rpc.client().call("reporting", "drilldown", *args)
    except RemoteError as exc:
        status, message = _refusal(exc)
        return render_template("dashboard_drilldown.html", period=period, metric=metric, metrics=METRICS,
                               filters=filters, result=None, error=message, page_no=1, pages=1), status
    pages = max(1, -(-result["total"] // PAGE_SIZE))
    return render_template("dashboard_drilldown.html", period=period, metric=metric, metrics=METRICS,
                           filters=filters, result=result, error=None, page_no=page_no, pages=pages,
                           note=QUALITY_NOTE if metric in QUALITY_METRICS else None)


@bp.get("/dashboard/export.<fmt>")
@page(*DASHBOARD_ROLES)
def export(fmt: str):
    """The API's export (``GET /api/v1/reports/export.<fmt>``) for the session user, in the page's language."""
    if fmt not in EXPORT_TYPES:
        abort(404)
    period = _period()
    report = request.args.get("report") if request.args.get("report") in ("league_table", "kpis") else "league_table"
    sort = request.args.get("sort") if request.args.get("sort") in SORTS else "received"
    try:
        out = rpc.client().call("reporting", "export", report, fmt, period["from"], period["to"], _text("estate"),
                                sort, _text("region"), select_locale())
    except RemoteError as exc:
        status, message = _refusal(exc)
        return Response(message, status=status, mimetype="text/plain")
    response = Response(base64.b64decode(out["content_base64"]), mimetype=EXPORT_TYPES[fmt])
    response.headers["Content-Disposition"] = f'attachment; filename="{_safe_name(out["filename"], fmt)}"'
    response.headers["Cache-Control"] = "no-store"
    return response


bp.register_error_handler(Exception, page_error)
