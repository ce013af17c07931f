"""Dashboard use cases for head office and sites: KPIs, estate league table, hot spots, drill-down.

Each takes the caller's tenant and ``Scope`` (from the roles in the context), an engine and ``now``; returns
plain dicts. An estate the caller may not see is ``NotFound``, exactly like one that does not exist.
Percentages are 0-100 with one decimal, or None when there is nothing to divide by.
"""
from __future__ import annotations

import datetime as dt

from estatedesk_common.errors import NotFound
from estatedesk_common.i18n import DEFAULT_LOCALE, LOCALES

from . import exports, quality_cases, queries
from .domain import figures, quality
from .domain.facts import FIELDS, CaseFact, breached, first_contact_status, resolution_status
from .domain.hotspots import BASELINE_PERIODS, hot_spots as find_hot_spots
from .domain.rollup import InvalidRange, earlier_period, parse_closed_range
from .domain.scope import Scope
from .exceptions import ValidationFailed

LEAGUE_SORTS = ("received", "on_time_pct", "resolved_within_limit_pct")
DRILLDOWN_METRICS = tuple(queries.METRIC_FILTERS) + quality_cases.METRICS
DRILLDOWN_LIMIT_MAX = 500
PROXY_NOTE = ("{n} of the decided cases had no contact recorded: their first contact is the acknowledgement "
              "(sent before the deadline or not)")
UNITS_NOTE = ("unit counts not known for every estate in scope: an estate's count comes with intake's estate "
              "snapshot in complaint_received (`units`: its registered units) and stays unknown until one carries it")


def _range(date_from, date_to) -> tuple[dt.date, dt.date]:
    try:
        return parse_closed_range(date_from, date_to)
    except InvalidRange as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None


_pct = figures.pct


def _text(value, field: str, max_len: int = 40) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise ValidationFailed(f"{field} must be text of at most {max_len} characters", field=field)
    return value


def scope_for(conn, tenant_id: str, scope: Scope, estate) -> Scope:
    """Narrow to ``estate`` if given: not found unless it exists in the tenant and the caller may see it."""
    estate = _text(estate, "estate")
    if estate is None:
        return scope
    if not scope.allows(estate) or not queries.estate_exists(conn, tenant_id, estate):
        raise NotFound("no such estate", field="estate")
    return scope.narrow(estate)


first_contact = figures.first_contact


def _breakdown(rows: list[dict], name: str) -> list[dict]:
    out = [{"key": r[name] or None, "received": r["received"]} for r in rows if r["received"]]
    return sorted(out, key=lambda r: (-r["received"], r["key"] or ""))


def kpis(tenant_id: str, scope: Scope, engine, now: dt.datetime, date_from, date_to, estate=None) -> dict:
    start, end = _range(date_from, date_to)
    with engine.connect() as conn:
        scope = scope_for(conn, tenant_id, scope, estate)
        totals, by = queries.rollup_breakdowns(conn, tenant_id, start, end, scope, ("channel", "category", "severity"))
        # "overdue now", the scope's units and quality counts: one statement
        context = queries.kpi_context(conn, tenant_id, start, end, scope, now, quality.period_bounds(start, end))
        p90 = queries.handling_p90(conn, tenant_id, start, end, scope) if totals["handling_count"] else None
        breakdowns = {name: _breakdown(rows, name) for name, rows in by.items()}
    overdue = context["overdue"]
    fc, res = first_contact(totals, overdue), figures.resolution(totals, context["resolution_overdue"])
    handling, calls = figures.handling(totals, p90), figures.callbacks(totals)
    known_units = context["units"]
    nc, cp = context["nonconformity"], context["capa"]
    result = {
        "from": start.isoformat(), "to": end.isoformat(), "estate": _text(estate, "estate"),
        "received": totals["received"],
        "first_contact_on_time_pct": fc["on_time_pct"],
        "acknowledged_within_first_contact_pct": fc["on_time_pct"],  # the earlier name of the same figure
        "overdue_now": overdue,
        "first_contact": fc,
        "resolved_within_limit_pct": res["on_time_pct"],
        "resolution": res,
        "handling_hours_avg": handling["avg_hours"], "handling_hours_p90": handling["p90_hours"],
        "handling": handling,
        "breaches": totals["breached"], "escalated": totals["escalated"],
        "escalations_by_level": figures.escalations(totals),
        "callback_coverage_pct": calls["coverage_pct"], "satisfaction_pct": calls["satisfaction_pct"],
        "callbacks": calls,
        "reopened": totals["reopened"], "reopen_rate_pct": _pct(totals["reopened"], totals["resolved"]),
        "repeat_complaints": totals["repeat"],
        "nonconformity_required": totals["nonconformity_required"],
        # cases with an extension (延期) request / approval; on-time figures stay against the original deadlines
        "extensions_requested": totals["extensions_requested"], "extensions_approved": totals["extensions_approved"],
        "reclassified": totals["reclassified"],
        "per_1000_units": quality.per_1000_units(totals["received"], known_units),
        "units": known_units,
        "by_channel": breakdowns["channel"], "by_category": breakdowns["category"],
        "by_severity": breakdowns["severity"],
        # workflow's quality records: opened / decided in the period; CAPA open and overdue now
        "nonconformity_records": nc["opened"], "nonconformity": nc,
        "capa_open": cp["open_now"], "capa_overdue": cp["overdue_now"], "capa": cp,
    }
    result["notes"] = {k: v for k, v in _notes(fc, handling, known_units).items() if v}
    return result


def _notes(fc: dict, handling: dict, known_units) -> dict:
    return {
        "first_contact_on_time_pct": PROXY_NOTE.format(n=fc["by_proxy"]) if fc["by_proxy"] else None,
        "handling_hours_avg": (f"{handling['unmeasured']} resolved cases without working hours (resolved before "
                               "workflow reported them, or their calendar year is not loaded)"
                               if handling["unmeasured"] else None),
        "per_1000_units": None if known_units else UNITS_NOTE,
    }


def _league_rows(conn, tenant_id, scope, region, start, end, now) -> list[dict]:
    """A row per estate in scope (and region), from one statement (``queries.league``)."""
    rows = []
    for est in queries.league(conn, tenant_id, [(start, end), earlier_period(start, end)], scope, region, now,
                              quality.period_bounds(start, end)):
        code, (cur, prev), (overdue_now, overdue_prev, resolution_overdue) = (est["estate_code"], est["counts"],
                                                                              est["overdue"])
        fc, fc_prev = first_contact(cur, overdue_now), first_contact(prev, overdue_prev)
        rows.append({
            "estate": code, "estate_name": est["name"], "kind": est["kind"], "region": est["region"],
            "units": est["units"], "active": est["active"] is not False, "received": cur["received"], "previous_received": prev["received"],
            "received_change": cur["received"] - prev["received"],
            "received_change_pct": _pct(cur["received"] - prev["received"], prev["received"]),
            "on_time_pct": fc["on_time_pct"], "previous_on_time_pct": fc_prev["on_time_pct"],
            "on_time_pct_change": (round(fc["on_time_pct"] - fc_prev["on_time_pct"], 1)
                                   if fc["on_time_pct"] is not None and fc_prev["on_time_pct"] is not None else None),
            "overdue_now": fc["overdue_now"],
            "resolved_within_limit_pct": figures.resolution(cur, resolution_overdue)["on_time_pct"],
            "per_1000_units": quality.per_1000_units(cur["received"], est["units"]),
            "nonconformity_records": est["nonconformity"]["opened"],
            "capa_open": est["capa"]["open_now"],
            "capa_overdue": est["capa"]["overdue_now"],
        })
    return rows


def league_table(tenant_id: str, scope: Scope, engine, now: dt.datetime, date_from, date_to, sort="received",
                 region=None) -> dict:
    """Estates ranked by ``received`` (most first), ``on_time_pct`` or ``resolved_within_limit_pct`` (best
    first; no figure last), with the
    same figures for the period just before (``earlier_period``: Q3 -> Q2 for whole months, else the same number
    of days)."""
    start, end = _range(date_from, date_to)
    if sort not in LEAGUE_SORTS:
        raise ValidationFailed(f"sort must be one of {', '.join(LEAGUE_SORTS)}", field="sort")
    region = _text(region, "region")
    with engine.connect() as conn:
        rows = _league_rows(conn, tenant_id, scope, region, start, end, now)
    if sort == "received":
        rows.sort(key=lambda r: (-r["received"], r["estate"]))
    else:
        rows.sort(key=lambda r: (r[sort] is None, -(r[sort] or 0), -r["received"], r["estate"]))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    prev_start, prev_end = earlier_period(start, end)
    return {"from": start.isoformat(), "to": end.isoformat(), "previous_from": prev_start.isoformat(),
            "previous_to": prev_end.isoformat(), "sort": sort, "region": region, "rows": rows}


def hot_spots(tenant_id: str, scope: Scope, engine, date_from, date_to) -> dict:
    """Categories, estates, estate x category pairs and locations (estate x building, estate x facility) rising
    against their own previous 4 periods (``earlier_period``; the rule is in ``domain.hotspots``)."""
    start, end = _range(date_from, date_to)
    periods = [(start, end)] + [earlier_period(start, end, k) for k in range(1, BASELINE_PERIODS + 1)]
    result = {"from": start.isoformat(), "to": end.isoformat(),
              "baseline_from": periods[-1][0].isoformat(), "baseline_to": periods[1][1].isoformat()}
    with engine.connect() as conn:
        names = {r["estate_code"]: r["name"] for r in queries.estates(conn, tenant_id, scope)}
        candidates = queries.hot_spot_candidates(conn, tenant_id, periods, scope)
    keys = {"categories": (lambda r: r["name"], ("category",)),
            "estates": (lambda r: r["estate"], ("estate",)),
            "estate_categories": (lambda r: (r["estate"], r["name"] or None), ("estate", "category")),
            "buildings": (lambda r: (r["estate"], r["name"]), ("estate", "building")),
            "facilities": (lambda r: (r["estate"], r["name"]), ("estate", "facility"))}
    for label, (key_of, fields) in keys.items():
        found = _hot([r for r in candidates if r["family"] == label], key_of)
        for item in found:
            key = item.pop("key")
            item.update(zip(fields, key if len(fields) > 1 else (key,)))
            if "estate" in fields:
                item["estate_name"] = names.get(item["estate"], item["estate"])
        result[label] = found
    return result


def _hot(rows: list[dict], key_of) -> list[dict]:
    """The hot keys among ``rows`` (``{"counts": [current, 1 period back, ..]}``) keyed by ``key_of(row)``."""
    current = {key_of(r): r["counts"][0] for r in rows}
    history = {key_of(r): r["counts"][:0:-1] for r in rows}  # baseline oldest first
    return find_hot_spots(current, history)


def _bounded(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{field} must be an integer from {low} to {high}", field=field)
    return value


def drilldown(tenant_id: str, scope: Scope, engine, now: dt.datetime, metric, date_from, date_to, estate=None,
              category=None, channel=None, limit=50, offset=0, building=None, facility=None) -> dict:
    """The cases behind a figure: ``metric`` is one of ``DRILLDOWN_METRICS``; newest first (``handling_measured``:
    slowest first). The quality metrics list the cases of the records the figure counts (``quality_cases``)."""
    if metric not in DRILLDOWN_METRICS:
        raise ValidationFailed(f"metric must be one of {', '.join(DRILLDOWN_METRICS)}", field="metric")
    start, end = _range(date_from, date_to)
    limit, offset = _bounded(limit, "limit", 1, DRILLDOWN_LIMIT_MAX), _bounded(offset, "offset", 0, 10**9)
    filters = {"category": _text(category, "category"), "channel": _text(channel, "channel", 20),
               "building": _text(building, "building"), "facility": _text(facility, "facility")}
    with engine.connect() as conn:
        scope = scope_for(conn, tenant_id, scope, estate)
        ids = (quality_cases.case_ids(conn, tenant_id, metric, *quality.period_bounds(start, end), scope, now)
               if metric in quality_cases.METRICS else None)
        total, rows = queries.facts_page(conn, tenant_id, metric, start, end, scope, now, filters, limit, offset,
                                         case_ids=ids)
    items = []
    for r in rows:
        fact = CaseFact(**{k: r[k] for k in FIELDS})
        items.append({
            "complaint_id": fact.complaint_id, "case_id": fact.case_id, "reference": fact.reference,
            "estate": fact.estate_code, "estate_name": r["estate_name"] or fact.estate_code,
            "channel": fact.channel, "category": fact.category, "severity": fact.severity,
            "received_at": _iso(fact.received_at), "first_contact_due_at": _iso(fact.first_contact_due_at),
            "acknowledged_at": _iso(fact.acknowledged_at), "first_contact_status": first_contact_status(fact, now),
            "reclassified": bool(fact.reclassified),
            "contacted_at": _iso(fact.first_contact_met_at), "resolution_due_at": _iso(fact.resolution_due_at),
            "resolved_at": _iso(fact.resolved_at), "resolution_status": resolution_status(fact, now),
            "handling_hours": round(fact.handling_minutes / 60, 1) if fact.handling_minutes is not None else None,
            "satisfaction": fact.satisfaction, "reopened": fact.reopened_at is not None,
            "escalation_level": fact.escalation_level, "breached": breached(fact),
            "repeat_of": fact.repeat_of, "escalated_levels": sorted(fact.levels),
            "extension_requested": fact.extension_requested_at is not None,
            "extension_approved": fact.extension_approved_at is not None,
            "building": fact.building, "facility": fact.facility,
        })
    return {"metric": metric, "from": start.isoformat(), "to": end.isoformat(), "total": total,
            "limit": limit, "offset": offset, "items": items}


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def export(tenant_id: str, scope: Scope, engine, now: dt.datetime, report, fmt, date_from, date_to, estate=None,
           sort="received", region=None, locale=None) -> dict:
    """``league_table`` or ``kpis`` as CSV/XLSX: ``{"filename", "content_type", "content": bytes}``."""
    if report not in exports.REPORTS:
        raise ValidationFailed(f"report must be one of {', '.join(exports.REPORTS)}", field="report")
    if fmt not in exports.FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(exports.FORMATS)}", field="format")
    if report == "league_table":
        data = league_table(tenant_id, scope, engine, now, date_from, date_to, sort, region)
    else:
        data = kpis(tenant_id, scope, engine, now, date_from, date_to, estate)
    return exports.render(report, fmt, data, locale if locale in LOCALES else DEFAULT_LOCALE)
