"""Rollup reads: a date range split into whole months, whole ISO weeks and edge days (``month_parts``,
``week_parts``, ``_bounds``), each read from the smallest table that has the dimensions asked for, one statement per
shape (``_rollup_statement``: ``rollup``, ``rollup_periods``; ``_breakdown_statement``: ``rollup_breakdowns``)."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import String, bindparam, func, literal, select, union_all

from estatedesk_common import prepared

from ..domain.facts import COUNTS
from ..domain.scope import Scope
from ..tables import daily_by_estate
from ._common import DAY_TABLES, MONTH_TABLES, WEEK_TABLES, _col, _pick, _typed_null, d

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


def week_parts(lo: dt.date, hi: dt.date, sign: int = 1) -> list[tuple[str, dt.date, dt.date, int]]:
    """``[(grain, lo, hi, sign)]``: the day range ``lo..hi`` (``sign`` as ``month_parts`` gave it) as the whole ISO
    weeks (Monday .. Sunday) inside it, grain ``week`` (``lo``/``hi`` their first and last Monday), and the days
    before and after them, grain ``day``; one ``day`` range when no whole week lies inside. A week is read only when
    it lies wholly inside the range, so the parts sum to ``lo..hi`` exactly."""
    first = lo + dt.timedelta(days=-lo.weekday() % 7)  # the first Monday on or after lo
    last = hi - dt.timedelta(days=(hi.weekday() + 1) % 7)  # the last Sunday on or before hi
    if (last - first).days < 6:
        return [("day", lo, hi, sign)]
    parts = [("day", lo, first - dt.timedelta(days=1), sign)] if lo < first else []
    parts.append(("week", first, last - dt.timedelta(days=6), sign))
    return parts + ([("day", last + dt.timedelta(days=1), hi, sign)] if last < hi else [])


def _month_table(by: tuple[str, ...], scope: Scope | None = None):
    return _pick(MONTH_TABLES, by, scope or Scope(None))


def _week_table(by: tuple[str, ...], everything: bool):
    """The smallest of ``WEEK_TABLES`` that has the ``by`` dimensions (and the estate, unless the caller sees
    ``everything``); None if none has: the edge ranges are then read as days alone."""
    return _pick(WEEK_TABLES, by, Scope(None) if everything else Scope(frozenset()))


def _part(table, period_col: str, prefix: str, by: tuple[str, ...], everything: bool, sign: int = 1,
          counts: tuple[str, ...] = COUNTS, label: int | None = None, columns: tuple[str, ...] = COUNTS):
    """One table's rows (ungrouped: ``label`` as ``period`` if given, the by-columns, NULL for those ``table`` lacks,
    and the ``columns`` of ``COUNTS``, times ``sign``; 0 for those not in ``counts``) of tenant ``:tenant_id``
    between ``:<prefix>_lo`` and ``:<prefix>_hi``, in the estates ``:estates`` unless the caller sees
    ``everything``."""
    def count(c):
        if c not in counts:
            return literal(0).label(c)
        return (table.c[c] if sign > 0 else -table.c[c]).label(c)
    cols = [literal(label).label("period")] if label is not None else []
    cols += [(table.c[_col(name)] if _col(name) in table.c else _typed_null(String)).label(name) for name in by]
    q = select(*cols, *[count(c) for c in columns]).where(
        table.c.tenant_id == bindparam("tenant_id"), table.c[period_col] >= bindparam(f"{prefix}_lo"),
        table.c[period_col] <= bindparam(f"{prefix}_hi"))
    return q if everything else q.where(table.c.estate_code.in_(bindparam("estates", expanding=True)))


@functools.lru_cache(maxsize=512)
def _rollup_statement(month_table, day_table, by: tuple[str, ...], shape: tuple, everything: bool,
                      columns: tuple[str, ...] = COUNTS):
    """The statement for one shape of ``rollup_periods`` (built once: building it costs more than running it), summing
    the ``columns`` of ``COUNTS``.
    ``shape``: per period, ``(whole months read or not, ((grain, sign) of each edge range, ..))``, grain ``week``
    (read from ``_week_table``) or ``day``; each period's parts (its months, then its edge ranges) are labelled with
    its index and summed per ``(period, *by)``."""
    week_table = _week_table(by, everything)
    parts = []
    for i, (has_months, edges) in enumerate(shape):
        if has_months:
            parts.append(_part(month_table, "month", f"p{i}_m", by, everything, label=i, columns=columns))
        parts += [_part(week_table if grain == "week" else day_table, grain, f"p{i}_e{k}", by, everything, sign,
                        label=i, columns=columns) for k, (grain, sign) in enumerate(edges)]
    src = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [src.c.period, *[src.c[name] for name in by]]
    return select(*keys, *[func.coalesce(func.sum(src.c[c]), 0).label(c) for c in columns]).group_by(*keys)


def _edge_parts(edges, weeks: bool) -> list[tuple[str, dt.date, dt.date, int]]:
    """``month_parts``' signed edge day ranges as ``(grain, lo, hi, sign)``: the whole weeks inside each and the days
    left (``week_parts``), or with ``weeks`` false each range as days."""
    return [part for lo, hi, sign in edges for part in (week_parts(lo, hi, sign) if weeks else [("day", lo, hi, sign)])]


def _bounds(periods, month_table, weeks: bool = True) -> tuple[tuple, dict]:
    """``(shape, parameters)`` of ``_rollup_statement`` for ``periods`` (``[(start, end)]``): each period's whole
    months (when ``month_table`` is given) and signed edge ranges (``month_parts``), their whole weeks apart unless
    not ``weeks`` (``_edge_parts``; no week table has the dimensions). Without ``month_table``: the days alone."""
    shape, params = [], {}
    for i, (start, end) in enumerate(periods):
        months, edges = month_parts(start, end) if month_table is not None else (None, [(start, end, 1)])
        if months is not None:
            params.update({f"p{i}_m_lo": months[0], f"p{i}_m_hi": months[1]})
        edges = _edge_parts(edges, weeks and month_table is not None)
        for k, (_, lo, hi, _) in enumerate(edges):
            params.update({f"p{i}_e{k}_lo": lo, f"p{i}_e{k}_hi": hi})
        shape.append((months is not None, tuple((grain, sign) for grain, _, _, sign in edges)))
    return tuple(shape), params


def _run_rollup(conn, month_table, day_table, periods, tenant_id, scope, by) -> list[list[dict]]:
    """Per period of ``periods``, the rows of counts summed per ``by`` key (one statement)."""
    shape, params = _bounds(periods, month_table, _week_table(tuple(by), scope.everything) is not None)
    params["tenant_id"] = tenant_id
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    q = _rollup_statement(month_table if any(m for m, _ in shape) else None, day_table, tuple(by), shape,
                          scope.everything)
    out: list[list[dict]] = [[] for _ in periods]
    for r in prepared.execute(conn, q, params).mappings():
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
                for r in prepared.execute(conn, q, params).mappings()]
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
def _breakdown_statement(month_table, names: tuple[str, ...], edges: tuple[tuple[str, int], ...], has_months: bool):
    """Head office's KPI rows in one statement, ``kind`` 0: the whole months from ``month_table`` and the edge ranges'
    whole weeks (``edges``: ``(grain, sign)`` as in ``_rollup_statement``) from ``_week_table`` with every count per
    ``names`` key; 1: the edge days' totals from ``complaint_daily_estate`` (every count); 2: the edge days'
    ``received`` per ``names`` key from ``complaint_daily`` (its covering index ``ix_complaint_daily_received``:
    the breakdowns need no other count, so no heap page is read)."""
    parts = [_part(month_table, "month", "p0_m", names, True, label=0)] if has_months else []
    for k, (grain, sign) in enumerate(edges):
        if grain == "week":
            parts.append(_part(_week_table(names, True), "week", f"p0_e{k}", names, True, sign, label=0))
            continue
        parts.append(_part(daily_by_estate, "day", f"p0_e{k}", names, True, sign, label=1))
        parts.append(_part(d, "day", f"p0_e{k}", names, True, sign, counts=("received",), label=2))
    src = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [src.c.period, *[src.c[name] for name in names]]
    return select(*keys, *[func.coalesce(func.sum(src.c[c]), 0).label(c) for c in COUNTS]).group_by(*keys)


def rollup_breakdowns(conn, tenant_id: str, start: dt.date, end: dt.date, scope: Scope,
                      names: tuple[str, ...]) -> tuple[dict, dict[str, list[dict]]]:
    """``(totals, {name: rows by name with ``received``})`` over ``start..end``. Head office (a month table has all
    ``names`` and no estate filter is needed: ``complaint_monthly_tenant``): one statement, whose edge ranges' whole
    weeks come from ``complaint_weekly_tenant`` and whose other edge days give the totals from
    ``complaint_daily_estate`` and the breakdowns' ``received`` from ``complaint_daily``'s covering index
    (``_breakdown_statement``). Otherwise the totals and each breakdown as their own ``rollup``."""
    table = _month_table(names, scope)
    if table is None or not scope.everything:
        (totals,) = rollup(conn, tenant_id, start, end, scope)
        return totals, {name: rollup(conn, tenant_id, start, end, scope, (name,)) for name in names}
    (shape,), params = _bounds([(start, end)], table, _week_table(tuple(names), True) is not None)
    params["tenant_id"] = tenant_id
    q = _breakdown_statement(table, tuple(names), shape[1], shape[0])
    totals = dict.fromkeys(COUNTS, 0)
    per: dict[str, dict] = {name: {} for name in names}
    for row in prepared.execute(conn, q, params).mappings():
        if row["period"] in (0, 1):
            for c in COUNTS:
                totals[c] += int(row[c])
        if row["period"] in (0, 2):
            for name in names:
                target = per[name].setdefault(row[name], {name: row[name], "received": 0})
                target["received"] += int(row["received"])
    return totals, {name: list(per[name].values()) for name in names}
