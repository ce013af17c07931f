"""Team workload (团队工作量): per estate and assignee, the cases still being handled, in one SQL query.

``team_workload`` counts, for each (estate, assignee) with at least one case not resolved, closed or cancelled:
``open`` (all of them, deferred ones included), ``overdue`` (the earliest unmet deadline has passed), ``due_24h``
(it falls within the next 24 hours) and ``deferred`` (paused with the owner's consent). A deferred case's clocks
stand still, so it counts in ``deferred`` and ``open`` but never as overdue or due soon. Unassigned cases are the
row with ``assignee`` None. Estate scope from the caller's roles (``estates_from_roles``); an ``estate`` outside
it gives no rows, as ``list_cases`` does.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, func, select

from estatedesk_common.tenant import estates_from_roles

from .domain.deferrals import STATUS as DEFERRED
from .repository import QUEUE_DONE
from .tables import case_deadlines, cases

DUE_SOON = dt.timedelta(hours=24)


def team_workload(conn, tenant_id: str, roles, estate, now: dt.datetime) -> dict:
    """``{"as_of", "items": [{estate, estate_name, assignee, open, overdue, due_24h, deferred}]}``, by estate
    then busiest assignee first."""
    scope = estates_from_roles(roles)
    if estate:
        scope = frozenset({estate}) if scope is None or estate in scope else frozenset()
    if scope is not None and not scope:
        return {"as_of": now.isoformat(), "items": []}
    soonest = (select(func.min(case_deadlines.c.due_at))
               .where(case_deadlines.c.tenant_id == cases.c.tenant_id, case_deadlines.c.case_id == cases.c.id,
                      case_deadlines.c.met_at.is_(None))
               .scalar_subquery())
    where = [cases.c.tenant_id == tenant_id, cases.c.status.not_in(QUEUE_DONE)]
    if scope is not None:
        where.append(cases.c.estate_code.in_(sorted(scope)))
    per_case = select(cases.c.estate_code, cases.c.estate_name, cases.c.assignee, cases.c.status,
                      soonest.label("due_at")).where(*where).subquery()
    running = per_case.c.status != DEFERRED
    overdue = and_(running, per_case.c.due_at <= now)
    soon = and_(running, per_case.c.due_at > now, per_case.c.due_at <= now + DUE_SOON)
    counted = func.count().label("open")
    q = (select(per_case.c.estate_code, func.max(per_case.c.estate_name).label("estate_name"),
                per_case.c.assignee, counted,
                func.sum(case((overdue, 1), else_=0)).label("overdue"),
                func.sum(case((soon, 1), else_=0)).label("due_24h"),
                func.sum(case((per_case.c.status == DEFERRED, 1), else_=0)).label("deferred"))
         .group_by(per_case.c.estate_code, per_case.c.assignee)
         .order_by(per_case.c.estate_code, counted.desc(), per_case.c.assignee))
    items = [{"estate": r.estate_code, "estate_name": r.estate_name, "assignee": r.assignee, "open": int(r.open),
              "overdue": int(r.overdue or 0), "due_24h": int(r.due_24h or 0), "deferred": int(r.deferred or 0)}
             for r in conn.execute(q)]
    return {"as_of": now.isoformat(), "items": items}
