""""Overdue now": the cases still open past a deadline (``OPEN``), counted from the facts (``overdue``) or from
the overdue ledger and its watermark (``_overdue_statement``, ``_overdue_bounds``, ``watermark``,
``_same_watermark``) for the league table and the KPIs."""
from __future__ import annotations

import datetime as dt
import functools

from sqlalchemy import BigInteger, Integer, and_, bindparam, case, cast, func, literal, select, union_all

from estatedesk_common.db import UTCDateTime

from ..domain.scope import Scope
from ..tables import overdue_monthly, overdue_watermark
from ._common import _scoped, f
from .periods import month_parts


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
def _overdue_statement(shape: tuple, by_estate: bool, everything: bool):
    """"Overdue now" for several ``(stage, period)`` parts at once (``league``'s and ``kpi_context``'s), from the
    overdue ledger (revision r19o1v2e3r4d; ``_overdue_bounds`` gives ``shape`` and the parameters): per part ``k``,
    the ledger's whole months (``o<k>_m_lo`` .. ``o<k>_m_hi``), plus or minus its edge days' open cases with a
    deadline before the watermark ``w`` (``o<k>_e<j>_lo`` ..: the partial indexes by day), plus or minus
    (``w_sign``) the period's open cases whose deadline lies between the watermark and now (``w_lo`` .. ``w_hi``:
    the partial indexes by deadline; a second's worth when the merger loop runs). Columns ``part``, ``estate_code``
    (if ``by_estate``), ``n``."""
    parts = []

    def scoped(q, column):
        return q if everything else q.where(column.in_(bindparam("estates", expanding=True)))

    def facts_part(k, sign, is_open, *where):
        estate = [func.coalesce(f.c.estate_code, "").label("estate_code")] if by_estate else []
        q = scoped(select(literal(k).label("part"), *estate, (sign * func.count()).label("n")).where(
            f.c.tenant_id == bindparam("tenant_id"), is_open(), *where), f.c.estate_code)
        return q.group_by(estate[0]) if by_estate else q

    for k, (stage, has_months, signs) in enumerate(shape):
        is_open, due = OPEN[stage]
        if has_months:
            o = overdue_monthly.c
            q = scoped(select(literal(k).label("part"), *([o.estate_code] if by_estate else []),
                              func.sum(o.cases).label("n")).where(
                o.tenant_id == bindparam("tenant_id"), o.stage == stage, o.month >= bindparam(f"o{k}_m_lo"),
                o.month <= bindparam(f"o{k}_m_hi")), o.estate_code)
            parts.append(q.group_by(o.estate_code) if by_estate else q)
        for j, sign in enumerate(signs):
            parts.append(facts_part(k, sign, is_open, f.c.day >= bindparam(f"o{k}_e{j}_lo"),
                                    f.c.day <= bindparam(f"o{k}_e{j}_hi"), due < bindparam("w", type_=UTCDateTime)))
        parts.append(facts_part(k, bindparam("w_sign", type_=Integer), is_open,
                                due >= bindparam("w_lo", type_=UTCDateTime), due < bindparam("w_hi", type_=UTCDateTime),
                                f.c.day >= bindparam(f"lo{k}"), f.c.day <= bindparam(f"hi{k}")))
    src = union_all(*parts).subquery()
    keys = [src.c.part, *([src.c.estate_code] if by_estate else [])]
    return select(*keys, cast(func.sum(src.c.n), BigInteger).label("n")).group_by(*keys)


def _overdue_bounds(parts, now: dt.datetime, watermark: dt.datetime) -> tuple[tuple, dict]:
    """``(shape, parameters)`` of ``_overdue_statement`` for ``parts`` (``[(stage, (start, end))]``) at ``now``,
    against the ledger's ``watermark``: each period's whole months and signed edge days (``month_parts``, as the
    rollups), and the deadlines between the watermark and now, counted in (now later) or out (now earlier)."""
    shape, params = [], {"w": watermark, "w_lo": min(watermark, now), "w_hi": max(watermark, now),
                         "w_sign": 1 if now >= watermark else -1}
    for k, (stage, (start, end)) in enumerate(parts):
        months, edges = month_parts(start, end)
        if months is not None:
            params.update({f"o{k}_m_lo": months[0], f"o{k}_m_hi": months[1]})
        for j, (lo, hi, _) in enumerate(edges):
            params.update({f"o{k}_e{j}_lo": lo, f"o{k}_e{j}_hi": hi})
        params.update({f"lo{k}": start, f"hi{k}": end})
        shape.append((stage, months is not None, tuple(sign for _, _, sign in edges)))
    return tuple(shape), params


_WATERMARK_Q = select(overdue_watermark.c.at).where(overdue_watermark.c.id == 1)


def watermark(conn) -> dt.datetime:
    """The overdue ledger's watermark (``tables.overdue_watermark``)."""
    return conn.execute(_WATERMARK_Q).scalar_one()


def _same_watermark():
    """1 if the ledger's watermark is still ``:w`` in the statement's snapshot, else 0 (it moved after it was read:
    the caller reads it again and repeats the statement)."""
    return select(case((overdue_watermark.c.at == bindparam("w", type_=UTCDateTime), 1), else_=0)).where(
        overdue_watermark.c.id == 1).scalar_subquery()
