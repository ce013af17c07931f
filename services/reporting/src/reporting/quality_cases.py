"""The cases behind the quality figures (drill-down): the case ids of the nonconformity / CAPA records a figure
counts, with the same conditions as ``queries._quality_statements`` (records opened / decided / closed within the
period in the group's zone, CAPA records open or overdue now), tenant- and estate-scoped.

A record names its case(s) (``case_id``; a CAPA record the union ``case_ids``), so the list is of cases, not of
records: a case with two records is listed once, a record whose case reporting never saw lists nothing (the
record counts in the figure all the same).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, select

from .domain.scope import Scope
from .tables import quality_capa, quality_nonconformities

n, c = quality_nonconformities.c, quality_capa.c


def _within(col, lo, hi):
    return and_(col >= lo, col < hi)


NONCONFORMITY = {  # metric -> condition(lo, hi, now)
    "nonconformity_records": lambda lo, hi, now: _within(n.opened_at, lo, hi),
    "nonconformity_approved": lambda lo, hi, now: and_(_within(n.decided_at, lo, hi), n.status == "approved"),
    "nonconformity_rejected": lambda lo, hi, now: and_(_within(n.decided_at, lo, hi), n.status == "rejected"),
}
CAPA = {
    "capa_open": lambda lo, hi, now: c.status == "open",
    "capa_overdue": lambda lo, hi, now: and_(c.status == "open", c.due_at < now),
    "capa_opened": lambda lo, hi, now: _within(c.opened_at, lo, hi),
    "capa_closed": lambda lo, hi, now: _within(c.closed_at, lo, hi),
}
METRICS = tuple(NONCONFORMITY) + tuple(CAPA)


def case_ids(conn, tenant_id: str, metric: str, lo: dt.datetime, hi: dt.datetime, scope: Scope,
             now: dt.datetime) -> set[str]:
    if metric in NONCONFORMITY:
        table, column, condition = quality_nonconformities, n.case_id, NONCONFORMITY[metric](lo, hi, now)
    else:
        table, column, condition = quality_capa, c.case_ids, CAPA[metric](lo, hi, now)
    q = select(column).where(table.c.tenant_id == tenant_id, table.c.estate_code.is_not(None), condition)
    if not scope.everything:
        q = q.where(table.c.estate_code.in_(sorted(scope.estates)))
    found: set[str] = set()
    for (value,) in conn.execute(q):
        if isinstance(value, str):
            found.add(value)
        elif isinstance(value, (list, tuple)):
            found.update(v for v in value if isinstance(v, str))
    return found
