"""What every part of ``queries`` shares: the table aliases ``d, f, e``, the dimensions, the estate filter
(``_scoped``, ``_in_scope``), typed NULLs and the choice of the smallest rollup table (``_pick``) among
``MONTH_TABLES`` / ``DAY_TABLES`` / ``WEEK_TABLES``."""
from __future__ import annotations

from sqlalchemy import cast, null

from ..domain.scope import Scope
from ..tables import (complaint_daily, complaint_facts, daily_by_estate, estate_names, monthly_by_category,
                      monthly_by_channel_severity, monthly_by_estate, monthly_by_tenant, weekly_by_category,
                      weekly_by_estate, weekly_by_tenant)

d, f, e = complaint_daily, complaint_facts, estate_names
DIMENSIONS = {"estate": d.c.estate_code, "channel": d.c.channel, "category": d.c.category,
              "severity": d.c.severity, "day": d.c.day}


def _scoped(q, column, scope: Scope):
    return q if scope.everything else q.where(column.in_(sorted(scope.estates)))


MONTH_TABLES = (monthly_by_tenant, monthly_by_estate, monthly_by_category, monthly_by_channel_severity)
DAY_TABLES = (daily_by_estate, d)  # smallest first
# the whole weeks inside edge day ranges (revision r20w1e2e3k4s), smallest first
WEEK_TABLES = (weekly_by_estate, weekly_by_tenant, weekly_by_category)


def _typed_null(type_):
    return cast(null(), type_)


def _col(name: str) -> str:
    return "estate_code" if name == "estate" else name


def _pick(tables, by: tuple[str, ...], scope: Scope):
    """The first (smallest) of ``tables`` that has the ``by`` dimensions and, unless the caller sees every
    estate, the estate to filter on; None if none has."""
    for table in tables:
        if (scope.everything or "estate_code" in table.c) and all(_col(name) in table.c for name in by):
            return table
    return None


def _in_scope(q, table, scope: Scope):
    return q if scope.everything else q.where(table.c.estate_code.in_(sorted(scope.estates)))
