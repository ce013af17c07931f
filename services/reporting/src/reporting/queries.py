"""Dashboard reads. Every query filters by tenant and by the caller's estates (``Scope``).

Figures that events decide come from the rollups, one statement per figure set: whole months from the smallest
month table that has the dimensions asked for (per estate for the league table, per tenant for head office's
KPIs: a calendar quarter is 3 x estates or a few hundred rows per tenant), the days around them from the smallest
daily table that has them (``complaint_daily_estate`` for totals and per-estate figures), each a range scan of a
primary key that starts ``(tenant_id, month|day, ...)``; what changes with the clock ("overdue now") is counted from the
facts through the partial index of cases still waiting for first contact.
"""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import String, and_, bindparam, case, func, literal, or_, select, union_all

from .domain import hotspots
from .domain.facts import COUNTS, SATISFIED, TOP_LEVEL
from .domain.scope import Scope
from .domain.stats import percentile_cont
from .tables import (complaint_daily, complaint_facts, daily_by_estate, estate_names, location_daily,
                     location_monthly, monthly_by_category, monthly_by_channel_severity, monthly_by_estate,
                     monthly_by_tenant, quality_capa, quality_nonconformities)

d, f, e = complaint_daily, complaint_facts, estate_names
DIMENSIONS = {"estate": d.c.estate_code, "channel": d.c.channel, "category": d.c.category,
              "severity": d.c.severity, "day": d.c.day}


def _scoped(q, column, scope: Scope):
    return q if scope.everything else q.where(column.in_(sorted(scope.estates)))


def estate_exists(conn, tenant_id: str, estate_code: str) -> bool:
    q = select(literal(1)).where(e.c.tenant_id == tenant_id, e.c.estate_code == estate_code)
    return conn.execute(q).first() is not None


def estates(conn, tenant_id: str, scope: Scope, region: str | None = None) -> list[dict]:
    q = _scoped(select(e.c.estate_code, e.c.name, e.c.kind, e.c.region, e.c.units, e.c.active)
                .where(e.c.tenant_id == tenant_id),
                e.c.estate_code, scope)
    if region is not None:
        q = q.where(e.c.region == region)
    return [dict(r) for r in conn.execute(q.order_by(e.c.estate_code)).mappings()]


def month_split(start: dt.date, end: dt.date):
    """``((first month, last month) or None, [edge day ranges])``: the whole months inside ``start..end`` are
    read from a month table, the days before and after them from ``complaint_daily``."""
    first = start if start.day == 1 else (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    after_end = end + dt.timedelta(days=1)
    last_end = end if after_end.day == 1 else end.replace(day=1) - dt.timedelta(days=1)
    if first > last_end:
        return None, [(start, end)]
    edges = ([(start, first - dt.timedelta(days=1))] if start < first else []) + (
        [(last_end + dt.timedelta(days=1), end)] if last_end < end else [])
    return (first, last_end.replace(day=1)), edges


MONTH_TABLES = (monthly_by_tenant, monthly_by_estate, monthly_by_category, monthly_by_channel_severity)
DAY_TABLES = (daily_by_estate, d)  # smallest first


def _col(name: str) -> str:
    return "estate_code" if name == "estate" else name


def _pick(tables, by: tuple[str, ...], scope: Scope):
    """The first (smallest) of ``tables`` that has the ``by`` dimensions and, unless the caller sees every
    estate, the estate to filter on; None if none has."""
    for table in tables:
        if (scope.everything or "estate_code" in table.c) and all(_col(name) in table.c for name in by):
            return table
    return None


def _month_table(by: tuple[str, ...], scope: Scope | None = None):
    return _pick(MONTH_TABLES, by, scope or Scope(None))


def _in_scope(q, table, scope: Scope):
    return q if scope.everything else q.where(table.c.estate_code.in_(sorted(scope.estates)))


def _part(table, period_col: str, prefix: str, by: tuple[str, ...], everything: bool):
    """One table's rows (ungrouped: the by-columns and the counts) of tenant ``:tenant_id`` between ``:<prefix>_lo``
    and ``:<prefix>_hi``, in the estates ``:estates`` unless the caller sees ``everything``."""
    q = select(*[table.c[_col(name)].label(name) for name in by], *[table.c[c] for c in COUNTS]).where(
        table.c.tenant_id == bindparam("tenant_id"), table.c[period_col] >= bindparam(f"{prefix}_lo"),
        table.c[period_col] <= bindparam(f"{prefix}_hi"))
    return q if everything else q.where(table.c.estate_code.in_(bindparam("estates", expanding=True)))


@functools.lru_cache(maxsize=512)
def _rollup_statement(month_table, day_table, by: tuple[str, ...], edges: int, everything: bool):
    """The statement for one shape of ``rollup`` (built once: building it costs more than running it); the
    ``parts`` (the whole months, then each edge range) are summed per ``by`` key."""
    parts = [_part(month_table, "month", "m", by, everything)] if month_table is not None else []
    parts += [_part(day_table, "day", f"e{k}", by, everything) for k in range(edges)]
    src = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    q = select(*[src.c[name] for name in by], *[func.coalesce(func.sum(src.c[c]), 0).label(c) for c in COUNTS])
    return q.group_by(*[src.c[name] for name in by]) if by else q


def _run_rollup(conn, month_table, months, day_table, edges, tenant_id, scope, by) -> list[dict]:
    params = {"tenant_id": tenant_id}
    if months is not None:
        params.update(m_lo=months[0], m_hi=months[1])
    for k, (lo, hi) in enumerate(edges):
        params.update({f"e{k}_lo": lo, f"e{k}_hi": hi})
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    q = _rollup_statement(month_table if months is not None else None, day_table, tuple(by), len(edges),
                          scope.everything)
    return [{**{name: r[name] for name in by}, **{c: int(r[c]) for c in COUNTS}}
            for r in conn.execute(q, params).mappings()]


def _sum_rows(conn, table, period_col, lo, hi, tenant_id, scope, by) -> list[dict]:
    """``table``'s counts over ``lo..hi`` alone, grouped by ``by``."""
    if period_col == "month":
        return _run_rollup(conn, table, (lo, hi), None, [], tenant_id, scope, by)
    return _run_rollup(conn, None, None, table, [(lo, hi)], tenant_id, scope, by)


def rollup(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope, by: tuple[str, ...] = ()) -> list[dict]:
    """Summed rollup counts over ``start..end`` grouped by ``by`` (names in ``DIMENSIONS``), in one statement:
    the whole months from the smallest month table that has those dimensions, the remaining days from the
    smallest daily table that has them (``daily_by_estate`` for totals and per-estate figures)."""
    table = _month_table(by, scope)
    months, edges = month_split(start, end) if table is not None else (None, [(start, end)])
    rows = _run_rollup(conn, table, months, _pick(DAY_TABLES, by, scope), edges, tenant_id, scope, by)
    if not by and not rows:
        return [dict.fromkeys(COUNTS, 0)]
    return rows


def rollup_breakdowns(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope,
                      names: tuple[str, ...]) -> tuple[dict, dict[str, list[dict]]]:
    """``(totals, {name: rollup rows by name})`` over ``start..end``: one statement grouped by all ``names`` when a
    month table has them all for this caller (head office: ``complaint_monthly_tenant``), summed here; otherwise
    the totals and each breakdown as their own ``rollup``."""
    if _month_table(names, scope) is None:
        (totals,) = rollup(conn, tenant_id, start, end, scope)
        return totals, {name: rollup(conn, tenant_id, start, end, scope, (name,)) for name in names}
    totals = dict.fromkeys(COUNTS, 0)
    per: dict[str, dict] = {name: {} for name in names}
    for row in rollup(conn, tenant_id, start, end, scope, names):
        for target in (totals, *[per[name].setdefault(row[name], {name: row[name], **dict.fromkeys(COUNTS, 0)})
                                 for name in names]):
            for c in COUNTS:
                target[c] += row[c]
    return totals, {name: list(per[name].values()) for name in names}


def _labelled(month_table, day_table, periods: list[tuple[dt.date, dt.date]], tenant_id: str, scope: Scope,
              cols: dict[str, str]):
    """A subquery of ``(period, *cols, received)``: the periods' whole months from ``month_table``, their edge
    days from ``day_table``, each row labelled with its period's index by a CASE over the ranges."""
    months, days = [], []
    for i, (start, end) in enumerate(periods):
        whole, edges = month_split(start, end)
        if whole is not None:
            months.append((i, *whole))
        days += [(i, lo, hi) for lo, hi in edges]
    parts = []
    for table, col, ranges in ((month_table, "month", months), (day_table, "day", days)):
        if not ranges:
            continue
        t = table.c
        within = [and_(t[col] >= lo, t[col] <= hi) for _, lo, hi in ranges]
        period = case(*[(w, i) for w, (i, _, _) in zip(within, ranges)]).label("period")
        q = select(period, *[t[c].label(name) for name, c in cols.items()], t.received).where(
            t.tenant_id == tenant_id, t[col] >= min(r[1] for r in ranges), t[col] <= max(r[2] for r in ranges),
            or_(*within))
        parts.append(_in_scope(q, table, scope))
    return (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()


def _candidates(family: str, src, estate, name, periods: int, where=None):
    """Per key of ``family`` (``estate`` / ``name`` columns of ``src`` or None), the count of each period
    (``c0`` current .. oldest), only for keys the hot-spot rule could flag: ``c0 >= MIN_COUNT`` and
    ``c0 >= RATIO x mean of the baseline`` (necessary conditions; ``domain.hotspots`` decides)."""
    counts = [func.coalesce(func.sum(case((src.c.period == k, src.c.received), else_=0)), 0) for k in range(periods)]
    keys = [col for col in (estate, name) if col is not None]
    q = select(literal(family).label("family"),
               (estate if estate is not None else literal(None, String)).label("estate"),
               (name if name is not None else literal(None, String)).label("name"),
               *[c.label(f"c{k}") for k, c in enumerate(counts)]).group_by(*keys)
    if where is not None:
        q = q.where(where)
    return q.having(and_(counts[0] >= hotspots.MIN_COUNT,
                         counts[0] * (periods - 1) >= hotspots.RATIO * sum(counts[1:], literal(0))))


def hot_spot_candidates(conn, tenant_id: str, periods: list[tuple[dt.date, dt.date]], scope: Scope) -> list[dict]:
    """``[{family, estate, name, counts: [current, 1 back, .., n back]}]`` for the hot-spot families
    (``categories``, ``estates``, ``estate_categories``, ``buildings``, ``facilities``), one statement: each
    family's counts are summed in SQL from the smallest rollup that has its key, and only the keys that can be
    hot come back (a few rows instead of estates x categories x periods)."""
    n = len(periods)
    by_category = _labelled(_month_table(("category",), scope), _pick(DAY_TABLES, ("category",), scope), periods,
                            tenant_id, scope, {"category": "category"})
    by_estate = _labelled(monthly_by_estate, daily_by_estate, periods, tenant_id, scope, {"estate": "estate_code"})
    pairs = _labelled(monthly_by_category, d, periods, tenant_id, scope,
                      {"estate": "estate_code", "category": "category"})
    places = _labelled(location_monthly, location_daily, periods, tenant_id, scope,
                       {"estate": "estate_code", "building": "building", "facility": "facility"})
    q = union_all(
        _candidates("categories", by_category, None, by_category.c.category, n, by_category.c.category != ""),
        _candidates("estates", by_estate, by_estate.c.estate, None, n),
        _candidates("estate_categories", pairs, pairs.c.estate, pairs.c.category, n),
        _candidates("buildings", places, places.c.estate, places.c.building, n, places.c.building != ""),
        _candidates("facilities", places, places.c.estate, places.c.facility, n, places.c.facility != ""))
    return [{"family": r["family"], "estate": r["estate"], "name": r["name"],
             "counts": [int(r[f"c{k}"]) for k in range(n)]} for r in conn.execute(q).mappings()]


def _open_first_contact():
    return and_(f.c.acknowledged_at.is_(None), f.c.first_contact_met_at.is_(None),
                f.c.first_contact_due_at.is_not(None))


def _open_resolution():
    return and_(f.c.resolved_at.is_(None), f.c.cancelled_at.is_(None), f.c.resolution_due_at.is_not(None))


OPEN = {"first_contact": (_open_first_contact, f.c.first_contact_due_at),
        "resolution": (_open_resolution, f.c.resolution_due_at)}


def overdue(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope, now: dt.datetime,
            by_estate: bool = False, stage: str = "first_contact"):
    """Cases received in the period whose ``stage`` (first_contact | resolution) deadline has passed unmet."""
    is_open, due = OPEN[stage]
    q = select(func.count().label("n")).where(f.c.tenant_id == tenant_id, is_open(), due < now,
                                              f.c.day >= start, f.c.day <= end)
    q = _scoped(q, f.c.estate_code, scope)
    if not by_estate:
        return int(conn.execute(q).scalar_one())
    q = q.add_columns(f.c.estate_code).group_by(f.c.estate_code)
    return {r.estate_code: int(r.n) for r in conn.execute(q)}


def handling_p90(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope) -> float | None:
    """The 90th percentile of the period's handling minutes (``percentile_cont``: in SQL on PostgreSQL, over the
    values read through the partial index on SQLite, which has no percentile function)."""
    where = [f.c.tenant_id == tenant_id, f.c.day >= start, f.c.day <= end, f.c.handling_minutes.is_not(None),
             f.c.resolved_at.is_not(None)]
    if conn.dialect.name == "postgresql":
        q = _scoped(select(func.percentile_cont(0.9).within_group(f.c.handling_minutes)).where(*where),
                    f.c.estate_code, scope)
        value = conn.execute(q).scalar_one()
        return float(value) if value is not None else None
    q = _scoped(select(f.c.handling_minutes).where(*where), f.c.estate_code, scope)
    return percentile_cont([r[0] for r in conn.execute(q)], 0.9)


def _resolved():
    return f.c.resolved_at.is_not(None)


METRIC_FILTERS = {
    "received": lambda now: None,
    "first_contact_on_time": lambda now: and_(f.c.first_contact_due_at.is_not(None),
                                              _contacted() <= f.c.first_contact_due_at),
    "first_contact_late": lambda now: and_(f.c.first_contact_due_at.is_not(None),
                                           _contacted() > f.c.first_contact_due_at),
    "first_contact_by_proxy": lambda now: and_(f.c.first_contact_due_at.is_not(None),
                                               f.c.first_contact_met_at.is_(None), f.c.acknowledged_at.is_not(None)),
    "overdue_now": lambda now: and_(_open_first_contact(), f.c.first_contact_due_at < now),
    "pending_first_contact": lambda now: and_(_open_first_contact(), f.c.first_contact_due_at >= now),
    "reclassified": lambda now: f.c.reclassified.is_(True),
    "resolved": lambda now: _resolved(),
    "resolved_on_time": lambda now: and_(_resolved(), f.c.resolution_due_at.is_not(None),
                                         f.c.resolved_at <= f.c.resolution_due_at),
    "resolved_late": lambda now: and_(_resolved(), f.c.resolution_due_at.is_not(None),
                                      f.c.resolved_at > f.c.resolution_due_at),
    "resolution_overdue_now": lambda now: and_(_open_resolution(), f.c.resolution_due_at < now),
    "called_back": lambda now: and_(_resolved(), f.c.callback_at.is_not(None)),
    "not_called_back": lambda now: and_(_resolved(), f.c.callback_at.is_(None)),
    "satisfied": lambda now: f.c.satisfaction.in_(SATISFIED),
    "dissatisfied": lambda now: f.c.satisfaction == "dissatisfied",
    "reopened": lambda now: and_(_resolved(), f.c.reopened_at.is_not(None)),
    # as facts.breached: a breach event, or a recorded first contact / resolution late against the original
    # deadline
    "breached": lambda now: or_(f.c.breached_at.is_not(None),
                                and_(f.c.first_contact_due_at.is_not(None), f.c.first_contact_met_at.is_not(None),
                                     f.c.first_contact_met_at > f.c.first_contact_due_at),
                                and_(_resolved(), f.c.resolution_due_at.is_not(None),
                                     f.c.resolved_at > f.c.resolution_due_at)),
    "escalated": lambda now: f.c.escalated_levels.is_not(None),
    "repeat": lambda now: f.c.repeat_of.is_not(None),
    "nonconformity_required": lambda now: f.c.nonconformity_required.is_(True),
    # handling time: the resolved cases the average / p90 measure (slowest first), and those without working hours
    "handling_measured": lambda now: and_(_resolved(), f.c.handling_minutes.is_not(None)),
    "handling_unmeasured": lambda now: and_(_resolved(), f.c.handling_minutes.is_(None)),
    "extensions_requested": lambda now: f.c.extension_requested_at.is_not(None),
    "extensions_approved": lambda now: f.c.extension_approved_at.is_not(None),
    "escalated_level_1": lambda now: _reached(1),
    "escalated_level_2": lambda now: _reached(2),
    "escalated_level_3": lambda now: _reached(TOP_LEVEL),
}
# metrics whose list is not newest first
METRIC_ORDER = {"handling_measured": lambda: (f.c.handling_minutes.desc(), f.c.received_at.desc(), f.c.complaint_id)}


def _reached(level: int):
    """Cases that reached ``level`` of the ladder (``escalated_levels`` is "1,2,3"; above the top counts as the
    top, as in ``domain.facts.contribution``)."""
    if level >= TOP_LEVEL:
        return f.c.escalation_level >= TOP_LEVEL
    return (literal(",") + f.c.escalated_levels + literal(",")).like(f"%,{level},%")


def _contacted():
    """The contact recorded, else the acknowledgement sent (the proxy); NULL when neither."""
    return func.coalesce(f.c.first_contact_met_at, f.c.acknowledged_at)


def facts_page(conn, tenant_id: str, metric: str, start: dt.date, end: dt.date, scope: Scope, now: dt.datetime,
               filters: dict, limit: int, offset: int, case_ids=None) -> tuple[int, list[dict]]:
    """One page of the facts behind ``metric`` received in ``start..end``; with ``case_ids`` (the cases of quality
    records, whose period is the record's) the facts of those cases instead, whatever their day."""
    q = select(f, e.c.name.label("estate_name")).select_from(
        f.outerjoin(e, (e.c.tenant_id == f.c.tenant_id) & (e.c.estate_code == f.c.estate_code)))
    q = q.where(f.c.tenant_id == tenant_id)
    q = _scoped(q, f.c.estate_code, scope)
    if case_ids is None:
        q = q.where(f.c.day >= start, f.c.day <= end)
        condition = METRIC_FILTERS[metric](now)
        if condition is not None:
            q = q.where(condition)
    else:
        ids = sorted(case_ids)
        q = q.where(or_(f.c.case_id.in_(ids), f.c.complaint_id.in_(ids)))
    for name, value in filters.items():
        if value is not None:
            q = q.where(f.c[name] == value) if value != "" else q.where(f.c[name].is_(None))
    total = conn.execute(select(func.count()).select_from(q.subquery())).scalar_one()
    order = METRIC_ORDER[metric]() if metric in METRIC_ORDER else (f.c.received_at.desc(), f.c.complaint_id)
    rows = conn.execute(q.order_by(*order).limit(limit).offset(offset))
    return int(total), [dict(r) for r in rows.mappings()]


def counts_by_estate_channel(conn, tenant_id: str, start: dt.date | None, end: dt.date | None,
                             scope: Scope | None = None) -> list[dict]:
    """``[{"estate","estate_name","channel","count"}]`` over ``start..end`` (inclusive; None = open)."""
    q = (
        select(d.c.estate_code, e.c.name, d.c.channel, func.sum(d.c.received).label("count"))
        .select_from(d.outerjoin(e, (e.c.tenant_id == d.c.tenant_id) & (e.c.estate_code == d.c.estate_code)))
        .where(d.c.tenant_id == tenant_id)
        .group_by(d.c.estate_code, e.c.name, d.c.channel)
        .having(func.sum(d.c.received) != 0)
        .order_by(d.c.estate_code, d.c.channel)
    )
    if scope is not None:
        q = _scoped(q, d.c.estate_code, scope)
    if start is not None:
        q = q.where(d.c.day >= start)
    if end is not None:
        q = q.where(d.c.day <= end)
    return [{"estate": r.estate_code, "estate_name": r.name or r.estate_code, "channel": r.channel,
             "count": int(r.count)} for r in conn.execute(q)]


def _count_if(condition):
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def quality_counts(conn, tenant_id: str, lo: dt.datetime, hi: dt.datetime, scope: Scope,
                   now: dt.datetime) -> tuple[dict, dict]:
    """``(nonconformity, capa)``, each ``{estate: counts}`` (``domain.quality`` names): records opened / approved /
    rejected within ``[lo, hi)``; CAPA records open and overdue now, opened and closed within ``[lo, hi)``."""
    n, c = quality_nonconformities.c, quality_capa.c

    def within(col):
        return and_(col >= lo, col < hi)

    decided = within(n.decided_at)
    q = _scoped(select(n.estate_code, _count_if(within(n.opened_at)).label("opened"),
                       _count_if(and_(decided, n.status == "approved")).label("approved"),
                       _count_if(and_(decided, n.status == "rejected")).label("rejected"))
                .where(n.tenant_id == tenant_id, n.estate_code.is_not(None),
                       or_(within(n.opened_at), decided)), n.estate_code, scope).group_by(n.estate_code)
    nonconformity = {r["estate_code"]: {k: int(r[k]) for k in ("opened", "approved", "rejected")}
                     for r in conn.execute(q).mappings()}
    is_open = c.status == "open"
    q = _scoped(select(c.estate_code, _count_if(is_open).label("open_now"),
                       _count_if(and_(is_open, c.due_at < now)).label("overdue_now"),
                       _count_if(within(c.opened_at)).label("opened"),
                       _count_if(within(c.closed_at)).label("closed"))
                .where(c.tenant_id == tenant_id, c.estate_code.is_not(None),
                       or_(is_open, within(c.opened_at), within(c.closed_at))), c.estate_code, scope)
    capa = {r["estate_code"]: {k: int(r[k]) for k in ("open_now", "overdue_now", "opened", "closed")}
            for r in conn.execute(q.group_by(c.estate_code)).mappings()}
    return nonconformity, capa
