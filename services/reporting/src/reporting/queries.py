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

from sqlalchemy import Integer, String, and_, bindparam, case, cast, func, literal, or_, select, union_all

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


def month_parts(start: dt.date, end: dt.date):
    """``((first month, last month) or None, [(lo, hi, sign)])``: the months to read from a month table and the day
    ranges to add (sign 1) or take away (sign -1) from a daily table, summing to ``start..end`` exactly. A month
    the range covers only in part is read as its days in the range, or as the month minus its days outside the
    range when those are fewer (a range that ends today: the rest of the month holds no rows yet)."""
    months, days = [], []
    first = start.replace(day=1)
    while first <= end:
        after = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        lo, hi = max(start, first), min(end, after - dt.timedelta(days=1))
        inside, outside = (hi - lo).days + 1, (after - first).days - (hi - lo).days - 1
        if outside < inside:  # the whole month, less what lies outside the range
            months.append(first)
            days += [(first, lo - dt.timedelta(days=1), -1)] if lo > first else []
            days += [(hi + dt.timedelta(days=1), after - dt.timedelta(days=1), -1)] if hi < after - dt.timedelta(
                days=1) else []
        else:
            days.append((lo, hi, 1))
        first = after
    return ((months[0], months[-1]) if months else None), days


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


def _part(table, period_col: str, prefix: str, by: tuple[str, ...], everything: bool, sign: int = 1,
          counts: tuple[str, ...] = COUNTS, label: int | None = None):
    """One table's rows (ungrouped: ``label`` as ``period`` if given, the by-columns, NULL for those ``table`` lacks,
    and ``COUNTS``, times ``sign``; 0 for those not in ``counts``) of tenant ``:tenant_id`` between ``:<prefix>_lo``
    and ``:<prefix>_hi``, in the estates ``:estates`` unless the caller sees ``everything``."""
    def count(c):
        if c not in counts:
            return literal(0).label(c)
        return (table.c[c] if sign > 0 else -table.c[c]).label(c)
    cols = [literal(label).label("period")] if label is not None else []
    cols += [(table.c[_col(name)] if _col(name) in table.c else literal(None, String)).label(name) for name in by]
    q = select(*cols, *[count(c) for c in COUNTS]).where(
        table.c.tenant_id == bindparam("tenant_id"), table.c[period_col] >= bindparam(f"{prefix}_lo"),
        table.c[period_col] <= bindparam(f"{prefix}_hi"))
    return q if everything else q.where(table.c.estate_code.in_(bindparam("estates", expanding=True)))


@functools.lru_cache(maxsize=512)
def _rollup_statement(month_table, day_table, by: tuple[str, ...], shape: tuple, everything: bool):
    """The statement for one shape of ``rollup_periods`` (built once: building it costs more than running it).
    ``shape``: per period, ``(whole months read or not, (sign of each edge day range, ..))``; each period's parts
    (its months, then its edge ranges) are labelled with its index and summed per ``(period, *by)``."""
    parts = []
    for i, (has_months, signs) in enumerate(shape):
        if has_months:
            parts.append(_part(month_table, "month", f"p{i}_m", by, everything, label=i))
        parts += [_part(day_table, "day", f"p{i}_e{k}", by, everything, sign, label=i) for k, sign in enumerate(signs)]
    src = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [src.c.period, *[src.c[name] for name in by]]
    return select(*keys, *[func.coalesce(func.sum(src.c[c]), 0).label(c) for c in COUNTS]).group_by(*keys)


def _bounds(periods, month_table, split=month_parts) -> tuple[tuple, dict]:
    """``(shape, parameters)`` of ``_rollup_statement`` for ``periods`` (``[(start, end)]``): each period's whole
    months (when ``month_table`` is given) and signed edge day ranges (``month_parts``)."""
    shape, params = [], {}
    for i, (start, end) in enumerate(periods):
        months, edges = split(start, end) if month_table is not None else (None, [(start, end, 1)])
        if months is not None:
            params.update({f"p{i}_m_lo": months[0], f"p{i}_m_hi": months[1]})
        for k, (lo, hi, _) in enumerate(edges):
            params.update({f"p{i}_e{k}_lo": lo, f"p{i}_e{k}_hi": hi})
        shape.append((months is not None, tuple(sign for _, _, sign in edges)))
    return tuple(shape), params


def _run_rollup(conn, month_table, day_table, periods, tenant_id, scope, by) -> list[list[dict]]:
    """Per period of ``periods``, the rows of counts summed per ``by`` key (one statement)."""
    shape, params = _bounds(periods, month_table)
    params["tenant_id"] = tenant_id
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    q = _rollup_statement(month_table if any(m for m, _ in shape) else None, day_table, tuple(by), shape,
                          scope.everything)
    out: list[list[dict]] = [[] for _ in periods]
    for r in conn.execute(q, params).mappings():
        out[r["period"]].append({**{name: r[name] for name in by}, **{c: int(r[c]) for c in COUNTS}})
    return out


def _sum_rows(conn, table, period_col, lo, hi, tenant_id, scope, by) -> list[dict]:
    """``table``'s counts over ``lo..hi`` alone, grouped by ``by``."""
    if period_col == "month":
        shape, params = ((True, ()),), {"p0_m_lo": lo, "p0_m_hi": hi}
        q = _rollup_statement(table, None, tuple(by), shape, scope.everything)
        params["tenant_id"] = tenant_id
        if not scope.everything:
            params["estates"] = sorted(scope.estates)
        return [{**{name: r[name] for name in by}, **{c: int(r[c]) for c in COUNTS}}
                for r in conn.execute(q, params).mappings()]
    return _run_rollup(conn, None, table, [(lo, hi)], tenant_id, scope, by)[0]


def rollup_periods(conn, tenant_id: str, periods: list[tuple[dt.date, dt.date]], scope: Scope,
                   by: tuple[str, ...] = ()) -> list[list[dict]]:
    """``rollup`` of each of ``periods`` (e.g. the league table's period and the one before), in one statement."""
    table = _month_table(by, scope)
    rows = _run_rollup(conn, table, _pick(DAY_TABLES, by, scope), periods, tenant_id, scope, by)
    return [period or [dict.fromkeys(COUNTS, 0)] for period in rows] if not by else rows


def rollup(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope, by: tuple[str, ...] = ()) -> list[dict]:
    """Summed rollup counts over ``start..end`` grouped by ``by`` (names in ``DIMENSIONS``), in one statement:
    the whole months from the smallest month table that has those dimensions, the remaining days (or the days
    of a partly covered month outside the range, taken away: ``month_parts``) from the smallest daily table that
    has them (``daily_by_estate`` for totals and per-estate figures)."""
    return rollup_periods(conn, tenant_id, [(start, end)], scope, by)[0]


@functools.lru_cache(maxsize=256)
def _breakdown_statement(month_table, names: tuple[str, ...], signs: tuple[int, ...], has_months: bool):
    """Head office's KPI rows in one statement, ``kind`` 0: the whole months from ``month_table`` with every count
    per ``names`` key; 1: the edge days' totals from ``complaint_daily_estate`` (every count); 2: the edge days'
    ``received`` per ``names`` key from ``complaint_daily`` (its covering index ``ix_complaint_daily_received``:
    the breakdowns need no other count, so no heap page is read)."""
    parts = [_part(month_table, "month", "p0_m", names, True, label=0)] if has_months else []
    for k, sign in enumerate(signs):
        parts.append(_part(daily_by_estate, "day", f"p0_e{k}", names, True, sign, label=1))
        parts.append(_part(d, "day", f"p0_e{k}", names, True, sign, counts=("received",), label=2))
    src = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [src.c.period, *[src.c[name] for name in names]]
    return select(*keys, *[func.coalesce(func.sum(src.c[c]), 0).label(c) for c in COUNTS]).group_by(*keys)


def rollup_breakdowns(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope,
                      names: tuple[str, ...]) -> tuple[dict, dict[str, list[dict]]]:
    """``(totals, {name: rows by name with ``received``})`` over ``start..end``. Head office (a month table has all
    ``names`` and no estate filter is needed: ``complaint_monthly_tenant``): one statement, whose edge days give
    the totals from ``complaint_daily_estate`` and the breakdowns' ``received`` from ``complaint_daily``'s covering
    index (``_breakdown_statement``). Otherwise the totals and each breakdown as their own ``rollup``."""
    table = _month_table(names, scope)
    if table is None or not scope.everything:
        (totals,) = rollup(conn, tenant_id, start, end, scope)
        return totals, {name: rollup(conn, tenant_id, start, end, scope, (name,)) for name in names}
    (shape,), params = _bounds([(start, end)], table)
    params["tenant_id"] = tenant_id
    q = _breakdown_statement(table, tuple(names), shape[1], shape[0])
    totals = dict.fromkeys(COUNTS, 0)
    per: dict[str, dict] = {name: {} for name in names}
    for row in conn.execute(q, params).mappings():
        if row["period"] in (0, 1):
            for c in COUNTS:
                totals[c] += int(row[c])
        if row["period"] in (0, 2):
            for name in names:
                target = per[name].setdefault(row[name], {name: row[name], "received": 0})
                target["received"] += int(row["received"])
    return totals, {name: list(per[name].values()) for name in names}


def _hot_parts(month_table, day_table, shape: tuple, everything: bool, cols: dict[str, str]):
    """The rows of the periods (``_bounds``' ``shape`` and parameters) as ``(*cols, c0, .., c<n-1>)``, each period's
    count in its own column (``received``, or ``-received`` for the days ``month_parts`` takes away; 0 in the
    others): one branch per period's whole months and per edge range, each a range scan of the table's covering
    index, so the period costs nothing per row (no CASE over the ranges)."""
    n = len(shape)
    parts = []
    for i, (has_months, signs) in enumerate(shape):
        ranges = ([(month_table, "month", f"p{i}_m", 1)] if has_months else []) + [
            (day_table, "day", f"p{i}_e{k}", sign) for k, sign in enumerate(signs)]
        for table, col, prefix, sign in ranges:
            t = table.c
            value = t.received if sign > 0 else -t.received
            q = select(*[t[c].label(name) for name, c in cols.items()],
                       *[(value if k == i else literal(0)).label(f"c{k}") for k in range(n)]).where(
                t.tenant_id == bindparam("tenant_id"), t[col] >= bindparam(f"{prefix}_lo"),
                t[col] <= bindparam(f"{prefix}_hi"))
            parts.append(q if everything else q.where(t.estate_code.in_(bindparam("estates", expanding=True))))
    return parts


def _rule(counts: list, periods: int):
    """The hot-spot rule's necessary conditions on summed counts (``c0`` current): ``c0 >= MIN_COUNT`` and ``c0 >=
    RATIO x mean of the baseline`` (``domain.hotspots`` decides)."""
    return and_(counts[0] >= hotspots.MIN_COUNT,
                counts[0] * (periods - 1) >= hotspots.RATIO * sum(counts[1:], literal(0)))


def _family(family: str, src, estate, name, n: int, where=None, grouped=True):
    """Per key of ``family`` (``estate`` / ``name`` columns of ``src`` or None), the count of each period, only for
    keys the hot-spot rule could flag (``_rule``)."""
    cs = [src.c[f"c{k}"] for k in range(n)]
    counts = [func.sum(c) for c in cs] if grouped else cs
    q = select(literal(family).label("family"),
               (estate if estate is not None else literal(None, String)).label("estate"),
               (name if name is not None else literal(None, String)).label("name"),
               *[c.label(f"c{k}") for k, c in enumerate(counts)])
    if where is not None:
        q = q.where(where)
    if not grouped:
        return q.where(_rule(counts, n))
    return q.group_by(*[col for col in (estate, name) if col is not None]).having(_rule(counts, n))


@functools.lru_cache(maxsize=256)
def _hot_statement(shape: tuple, everything: bool):
    """``hot_spot_candidates``' statement for one shape of periods (built once, like ``_rollup_statement``)."""
    n = len(shape)
    cs = [f"c{k}" for k in range(n)]

    def summed(parts, keys, name):
        src = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        # int, not bigint: the families' sums over these stay bigint instead of numeric (slower to add)
        return (select(*[src.c[k] for k in keys], *[cast(func.sum(src.c[c]), Integer).label(c) for c in cs])
                .group_by(*[src.c[k] for k in keys])).cte(name)

    pairs = summed(_hot_parts(monthly_by_category, d, shape, everything,
                              {"estate": "estate_code", "category": "category"}), ("estate", "category"), "pairs")
    places = summed(_hot_parts(location_monthly, location_daily, shape, everything,
                               {"estate": "estate_code", "building": "building", "facility": "facility"}),
                    ("estate", "building", "facility"), "places")
    return union_all(
        _family("categories", pairs, None, pairs.c.category, n, pairs.c.category != ""),
        _family("estates", pairs, pairs.c.estate, None, n),
        _family("estate_categories", pairs, pairs.c.estate, pairs.c.category, n, grouped=False),
        _family("buildings", places, places.c.estate, places.c.building, n, places.c.building != ""),
        _family("facilities", places, places.c.estate, places.c.facility, n, places.c.facility != ""))


def hot_spot_candidates(conn, tenant_id: str, periods: list[tuple[dt.date, dt.date]], scope: Scope) -> list[dict]:
    """``[{family, estate, name, counts: [current, 1 back, .., n back]}]`` for the hot-spot families
    (``categories``, ``estates``, ``estate_categories``, ``buildings``, ``facilities``), one statement that reads
    two rollups once each over the periods (``_hot_parts``): estate x category (``complaint_monthly_category``,
    edge days from ``complaint_daily``'s covering index) summed per pair into ``pairs``, from which the category
    and estate families are summed as well; estate x building x facility (the location rollups) summed into
    ``places``, from which the building and facility families are summed. Only keys that can be hot come back
    (a few rows instead of estates x categories x periods)."""
    n = len(periods)
    shape, params = _bounds(periods, monthly_by_category)
    params["tenant_id"] = tenant_id
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    return [{"family": r["family"], "estate": r["estate"], "name": r["name"],
             "counts": [int(r[f"c{k}"]) for k in range(n)]}
            for r in conn.execute(_hot_statement(shape, scope.everything), params).mappings()]


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


@functools.lru_cache(maxsize=64)
def _overdue_statement(stages: tuple[str, ...], by_estate: bool, everything: bool):
    """``overdue_many``'s statement: one branch per ``(stage, period)``, each read through its stage's partial
    index (``ix_complaint_facts_open_*``, which INCLUDE ``estate_code``: index-only, revision r17q1u2e3r4y)."""
    parts = []
    for k, stage in enumerate(stages):
        is_open, due = OPEN[stage]
        q = select(literal(k).label("part"), *([f.c.estate_code] if by_estate else []), func.count().label("n")).where(
            f.c.tenant_id == bindparam("tenant_id"), is_open(), due < bindparam("now"),
            f.c.day >= bindparam(f"lo{k}"), f.c.day <= bindparam(f"hi{k}"))
        if not everything:
            q = q.where(f.c.estate_code.in_(bindparam("estates", expanding=True)))
        parts.append(q.group_by(f.c.estate_code) if by_estate else q)
    return parts[0] if len(parts) == 1 else union_all(*parts)


def overdue_many(conn, tenant_id: str, parts: list[tuple[str, dt.date, dt.date]], scope: Scope, now: dt.datetime,
                 by_estate: bool = False) -> list:
    """``overdue`` for each ``(stage, start, end)`` of ``parts``, in one statement: a count each, or with
    ``by_estate`` a ``{estate: count}`` each."""
    params = {"tenant_id": tenant_id, "now": now}
    for k, (_, lo, hi) in enumerate(parts):
        params.update({f"lo{k}": lo, f"hi{k}": hi})
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    out = [{} if by_estate else 0 for _ in parts]
    for r in conn.execute(_overdue_statement(tuple(stage for stage, _, _ in parts), by_estate, scope.everything),
                          params).mappings():
        if by_estate:
            out[r["part"]][r["estate_code"]] = int(r["n"])
        else:
            out[r["part"]] = int(r["n"])
    return out


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
