"""Reads from the facts and the estates: the estates in scope (``estates``, ``estate_exists``), the p90 of
handling minutes (``handling_p90``), one page of the facts behind a metric (``facts_page``, ``METRIC_FILTERS``)
and received counts per estate and channel (``counts_by_estate_channel``)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, literal, or_, select

from ..domain.facts import SATISFIED, TOP_LEVEL
from ..domain.scope import Scope
from ..domain.stats import percentile_cont
from ._common import _scoped, d, e, f
from .overdue_now import _open_first_contact, _open_resolution

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
