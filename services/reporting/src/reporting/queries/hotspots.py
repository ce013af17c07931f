"""Hot-spot candidates (``hot_spot_candidates``): each period as whole quarters, other whole months, whole weeks
and edge days (``hot_ranges``, ``_hot_shape``), two rollup families read once each (``_hot_parts``) and only the
keys the hot-spot rule (``_rule``, the SQL form of ``domain.hotspots``) could flag returned."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import BigInteger, Integer, String, and_, bindparam, case, cast, func, literal, select, union_all

from estatedesk_common import prepared

from ..domain import hotspots
from ..domain.scope import Scope
from ..tables import (monthly_by_category, place_daily, place_monthly, place_quarterly, place_weekly,
                      quarterly_by_category, weekly_by_category)
from ._common import _typed_null, d
from .periods import _edge_parts, month_parts

def _add_months(first: dt.date, k: int) -> dt.date:
    years, month = divmod(first.month - 1 + k, 12)
    return dt.date(first.year + years, month + 1, 1)


def hot_ranges(start: dt.date, end: dt.date) -> list[tuple[str, dt.date, dt.date, int]]:
    """``[(grain, lo, hi, sign)]`` summing to ``start..end`` exactly: ``month_parts``' whole months, of which the
    whole calendar quarters are read from a quarter table (grain ``quarter``, ``lo``/``hi`` their first days), the
    other months from a month table (``month``), and its signed edge day ranges: their whole ISO weeks from a week
    table (``week``, ``lo``/``hi`` their Mondays) and the other days (``day``: ``week_parts``)."""
    months, days = month_parts(start, end)
    parts = []
    if months is not None:
        lo, hi = months
        first = _add_months(lo, -((lo.month - 1) % 3))  # the quarter lo is in
        first = first if first == lo else _add_months(first, 3)  # the first quarter that starts at or after lo
        after = _add_months(hi, 1)
        after = _add_months(after, -((after.month - 1) % 3))  # the quarter after the last whole one
        if first < after:
            parts += [("month", lo, _add_months(first, -1), 1)] if lo < first else []
            parts.append(("quarter", first, _add_months(after, -3), 1))
            parts += [("month", after, hi, 1)] if after <= hi else []
        else:
            parts.append(("month", lo, hi, 1))
    return parts + _edge_parts(days, True)


def _hot_shape(periods) -> tuple[tuple, dict]:
    """``(shape, parameters)`` of ``_hot_statement``: every range of ``hot_ranges`` of every period once, with the
    ``(period, sign)`` it counts for. Consecutive periods share the days around their boundary (the days one adds
    are the days the other takes away from its whole month), so those are read once for both."""
    ranges: dict[tuple, list] = {}
    for i, (start, end) in enumerate(periods):
        for grain, lo, hi, sign in hot_ranges(start, end):
            ranges.setdefault((grain, lo, hi), []).append((i, sign))
    shape = (len(periods), tuple((grain, tuple(parts)) for (grain, _, _), parts in ranges.items()))
    params = {}
    for j, (_, lo, hi) in enumerate(ranges):
        params.update({f"r{j}_lo": lo, f"r{j}_hi": hi})
    return shape, params


HOT_TABLES = {  # family: (its rollup per grain, the columns read as keys)
    "pairs": ({"quarter": quarterly_by_category, "month": monthly_by_category, "week": weekly_by_category, "day": d},
              {"estate": "estate_code", "category": "category"}),
    "places": ({"quarter": place_quarterly, "month": place_monthly, "week": place_weekly, "day": place_daily},
               {"estate": "estate_code", "kind": "kind", "name": "name"}),
}


def _hot_parts(family: str, shape: tuple, everything: bool):
    """The rows of the periods (``_hot_shape``) as ``(*keys, c0, .., c<n-1>)``: one branch per range, each a range
    scan of the covering index of the grain's table, its ``received`` in the column of each period it counts for
    (negated where that period takes the days away; 0 in the others), so the period costs nothing per row."""
    n, ranges = shape
    tables, cols = HOT_TABLES[family]
    parts = []
    for j, (grain, contributions) in enumerate(ranges):
        t = tables[grain].c
        signs = dict(contributions)
        counts = [(t.received if signs[k] > 0 else -t.received) if k in signs else literal(0) for k in range(n)]
        q = select(*[t[c].label(name) for name, c in cols.items()], *[c.label(f"c{k}") for k, c in enumerate(counts)])
        q = q.where(t.tenant_id == bindparam("tenant_id"), t[grain] >= bindparam(f"r{j}_lo"),
                    t[grain] <= bindparam(f"r{j}_hi"))
        parts.append(q if everything else q.where(t.estate_code.in_(bindparam("estates", expanding=True))))
    return parts


def _rule(counts: list, periods: int):
    """The hot-spot rule on summed counts (``c0`` current, ``n = periods - 1`` baseline counts with sum ``S`` and
    sum of squares ``Q``), without square roots or division (bigint products; the constants 1.5 and 4 are exact),
    so that no rounding can drop a key ``domain.hotspots`` (which decides, in floats) would flag: ``c0 >=
    MIN_COUNT``, ``n c0 >= RATIO S`` (``count >= RATIO x mean``) and ``z >= Z``, i.e. ``c0 - mean >= Z x max(std,
    sqrt(mean), 1)``: with ``D = n c0 - S = n (c0 - mean)``, ``D >= Z n``, ``D^2 >= Z^2 n S`` and ``D^2 >= Z^2 (n Q
    - S^2)`` (``n^2 var = n Q - S^2``). Most keys fail it, so few rows come back."""
    counts = [cast(c, BigInteger) for c in counts]  # squares of int4 counts could overflow
    n, baseline = periods - 1, counts[1:]
    total = sum(baseline, literal(0))
    squares = sum([c * c for c in baseline], literal(0))
    d = counts[0] * n - total
    z2 = hotspots.Z * hotspots.Z
    return and_(counts[0] >= hotspots.MIN_COUNT, counts[0] * n >= hotspots.RATIO * total, d >= hotspots.Z * n,
                d * d >= z2 * n * total, d * d >= z2 * (squares * n - total * total))


def _family(family: str, src, estate, name, n: int, where=None, grouped=True):
    """Per key of ``family`` (``estate`` / ``name`` columns of ``src`` or None), the count of each period, only for
    keys the hot-spot rule could flag (``_rule``)."""
    cs = [src.c[f"c{k}"] for k in range(n)]
    counts = [func.sum(c) for c in cs] if grouped else cs
    q = select((family if not isinstance(family, str) else literal(family)).label("family"),
               (estate if estate is not None else _typed_null(String)).label("estate"),
               (name if name is not None else _typed_null(String)).label("name"),
               *[c.label(f"c{k}") for k, c in enumerate(counts)])
    if where is not None:
        q = q.where(where)
    if not grouped:
        return q.where(_rule(counts, n))
    return q.group_by(*[col for col in (estate, name) if col is not None]).having(_rule(counts, n))


@functools.lru_cache(maxsize=256)
def _hot_statement(shape: tuple, everything: bool):
    """``hot_spot_candidates``' statement for one shape of periods (built once, like ``_rollup_statement``)."""
    n = shape[0]
    cs = [f"c{k}" for k in range(n)]

    def summed(family, keys):
        parts = _hot_parts(family, shape, everything)
        src = union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        # int, not bigint: the families' sums over these stay bigint instead of numeric (slower to add)
        return (select(*[src.c[k] for k in keys], *[cast(func.sum(src.c[c]), Integer).label(c) for c in cs])
                .group_by(*[src.c[k] for k in keys])).cte(family)

    pairs = summed("pairs", ("estate", "category"))
    places = summed("places", ("estate", "kind", "name"))
    place_family = case((places.c.kind == "building", literal("buildings")), else_=literal("facilities"))
    return union_all(
        _family("categories", pairs, None, pairs.c.category, n, pairs.c.category != ""),
        _family("estates", pairs, pairs.c.estate, None, n),
        _family("estate_categories", pairs, pairs.c.estate, pairs.c.category, n, grouped=False),
        _family(place_family, places, places.c.estate, places.c.name, n, grouped=False))


def hot_spot_candidates(conn, tenant_id: str, periods: list[tuple[dt.date, dt.date]], scope: Scope) -> list[dict]:
    """``[{family, estate, name, counts: [current, 1 back, .., n back]}]`` for the hot-spot families
    (``categories``, ``estates``, ``estate_categories``, ``buildings``, ``facilities``), one statement that reads
    two rollup families once each over the periods (``_hot_parts``, whole quarters from the quarter tables, other
    whole months from the month tables, edge days from the daily ones, days shared by two periods once):
    estate x category (``complaint_quarterly_category``, ``complaint_monthly_category``, ``complaint_daily``'s
    covering index) summed per pair into ``pairs``, from which the category and estate families are summed as
    well; estate x named building / facility (``complaint_place_*``) summed per key into ``places``, which are the
    building and facility families. Only keys that can be hot come back (a few rows instead of estates x
    categories x periods: ``_rule``)."""
    shape, params = _hot_shape(periods)
    params["tenant_id"] = tenant_id
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    return [{"family": family, "estate": estate, "name": name, "counts": [int(c) for c in counts]}
            for family, estate, name, *counts in prepared.execute(conn, _hot_statement(shape, scope.everything),
                                                                        params)]
