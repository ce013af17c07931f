"""Dashboard reads. Every query filters by tenant and by the caller's estates (``Scope``).

Figures that events decide come from the rollups: whole months from a month table (a calendar quarter is a
few hundred rows per tenant), the days around them from ``complaint_daily``, each a range scan of a primary key
that starts ``(tenant_id, month|day, ...)``; what changes with the clock ("overdue now") is counted from the
facts through the partial index of cases still waiting for first contact.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, literal, or_, select

from .domain.facts import COUNTS, SATISFIED, TOP_LEVEL
from .domain.scope import Scope
from .domain.stats import percentile_cont
from .tables import (complaint_daily, complaint_facts, estate_names, monthly_by_category,
                     monthly_by_channel_severity, quality_capa, quality_nonconformities)

d, f, e = complaint_daily, complaint_facts, estate_names
DIMENSIONS = {"estate": d.c.estate_code, "channel": d.c.channel, "category": d.c.category,
              "severity": d.c.severity, "day": d.c.day}


def _scoped(q, column, scope: Scope):
    return q if scope.everything else q.where(column.in_(sorted(scope.estates)))


def estate_exists(conn, tenant_id: str, estate_code: str) -> bool:
    q = select(literal(1)).where(e.c.tenant_id == tenant_id, e.c.estate_code == estate_code)
    return conn.execute(q).first() is not None


def estates(conn, tenant_id: str, scope: Scope, region: str | None = None) -> list[dict]:
    q = _scoped(select(e.c.estate_code, e.c.name, e.c.kind, e.c.region, e.c.units).where(e.c.tenant_id == tenant_id),
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


def _month_table(by: tuple[str, ...]):
    for table in (monthly_by_category, monthly_by_channel_severity):
        if all(name == "estate" or name in table.c for name in by):
            return table
    return None


def _sum_rows(conn, table, period_col, lo, hi, tenant_id, scope, by) -> list[dict]:
    cols = [table.c["estate_code" if name == "estate" else name].label(name) for name in by]
    sums = [func.coalesce(func.sum(table.c[c]), 0).label(c) for c in COUNTS]
    q = select(*cols, *sums).where(table.c.tenant_id == tenant_id, table.c[period_col] >= lo,
                                   table.c[period_col] <= hi)
    q = _scoped(q, table.c.estate_code, scope)
    if cols:
        q = q.group_by(*cols)
    return [dict(r) for r in conn.execute(q).mappings()]


def rollup(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope, by: tuple[str, ...] = ()) -> list[dict]:
    """Summed rollup counts over ``start..end`` grouped by ``by`` (names in ``DIMENSIONS``): whole months from
    the month table that has those dimensions, the remaining days from ``complaint_daily``."""
    table = None if "day" in by else _month_table(by)
    months, edges = month_split(start, end) if table is not None else (None, [(start, end)])
    parts = []
    if months is not None:
        parts += _sum_rows(conn, table, "month", months[0], months[1], tenant_id, scope, by)
    for lo, hi in edges:
        parts += _sum_rows(conn, d, "day", lo, hi, tenant_id, scope, by)
    merged: dict[tuple, dict] = {}
    for row in parts:
        key = tuple(row[name] for name in by)
        bucket = merged.setdefault(key, {**dict(zip(by, key)), **dict.fromkeys(COUNTS, 0)})
        for c in COUNTS:
            bucket[c] += int(row[c])
    if not by and not merged:
        return [dict.fromkeys(COUNTS, 0)]
    return list(merged.values())


def rollup_periods(conn, tenant_id: str, periods: list[tuple[dt.date, dt.date]], scope: Scope,
                   by: tuple[str, ...]) -> list[dict]:
    """``received`` per period index and ``by`` key. Periods of whole months: one grouped query on the month
    table over their span; otherwise one ``rollup`` per period."""
    table = _month_table(by)
    splits = [month_split(start, end) for start, end in periods]
    if table is None or any(months is None or edges for months, edges in splits):
        return [{"period": i, **{name: r[name] for name in by}, "received": r["received"]}
                for i, (start, end) in enumerate(periods) for r in rollup(conn, tenant_id, start, end, scope, by)
                if r["received"]]
    cols = [table.c["estate_code" if name == "estate" else name].label(name) for name in by]
    q = select(table.c.month, *cols, func.sum(table.c.received).label("received")).where(
        table.c.tenant_id == tenant_id, table.c.month >= min(m[0] for m, _ in splits),
        table.c.month <= max(m[1] for m, _ in splits))
    q = _scoped(q, table.c.estate_code, scope).group_by(table.c.month, *cols)
    out = []
    for r in conn.execute(q).mappings():
        for i, (months, _) in enumerate(splits):
            if months[0] <= r["month"] <= months[1] and r["received"]:
                out.append({"period": i, **{name: r[name] for name in by}, "received": int(r["received"])})
                break
    return out


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
