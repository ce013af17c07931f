"""Figures for notify's managers' daily digest (RPC ``digest_figures``), read in four SQL queries.

Per estate: the cases received and resolved in a window (notify asks for "yesterday" in the tenant's zone), and as
of now the cases still open (not resolved, closed or cancelled), overdue (the earliest unmet deadline has passed;
a deferred case never is), due before ``due_before`` (notify: the end of today, local), escalated (level > 0) and
waiting for an extension (延期) decision. Then the cases that most need a manager, at most ``worst`` per estate:
overdue first (the longest overdue first), then escalated (highest level first), extension requests, due today.

Estate scope: the caller's roles (``estates_from_roles``), or every estate for a service-to-service call (notify's
digest runs as a service: no person's roles in the context), as ``case_summaries`` does.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, case, exists, func, select

from estatedesk_common.tenant import estates_from_roles

from . import repository
from .domain.deferrals import STATUS as DEFERRED
from .exceptions import ValidationFailed
from .policies import parse_instant
from .repository import QUEUE_DONE
from .tables import case_deadlines, case_extensions, cases

MAX_WORST = 50
MAX_ITEMS = 5000  # flagged cases read for the lists (a tenant with more late cases has bigger problems)
COUNTS = ("new", "resolved", "open", "overdue", "due_today", "escalated", "extensions_pending")


def digest_figures(conn, tenant_id: str, caller_roles, since, until, due_before, now: dt.datetime,
                   worst: int = 10) -> dict:
    """``{"as_of", "since", "until", "due_before", "estates": [{estate, estate_name, new, resolved, open, overdue,
    due_today, escalated, extensions_pending}], "items": [...]}``; estates by code, items worst first."""
    since, until = parse_instant(since, "since"), parse_instant(until, "until")
    due_before = parse_instant(due_before, "due_before")
    if since >= until:
        raise ValidationFailed("since must be before until", field="since")
    try:
        worst = max(0, min(int(worst), MAX_WORST))
    except (TypeError, ValueError):
        raise ValidationFailed("worst must be a number", field="worst") from None
    scope = None if caller_roles is None else estates_from_roles(caller_roles)
    answer = {"as_of": now.isoformat(), "since": since.isoformat(), "until": until.isoformat(),
              "due_before": due_before.isoformat(), "estates": [], "items": []}
    if scope is not None and not scope:
        return answer
    where = [cases.c.tenant_id == tenant_id]
    if scope is not None:
        where.append(cases.c.estate_code.in_(sorted(scope)))
    estates: dict[str, dict] = {}

    def row(code, name):
        found = estates.setdefault(code, {"estate": code, "estate_name": name or code} | dict.fromkeys(COUNTS, 0))
        found["estate_name"] = found["estate_name"] or name or code
        return found

    for column, key in ((cases.c.received_at, "new"), (cases.c.resolved_at, "resolved")):
        q = (select(cases.c.estate_code, func.max(cases.c.estate_name).label("name"), func.count().label("n"))
             .where(*where, column >= since, column < until).group_by(cases.c.estate_code))
        for r in conn.execute(q):
            row(r.estate_code, r.name)[key] = int(r.n)
    per_case = _active(where, now, due_before)
    q = (select(per_case.c.estate_code, func.max(per_case.c.estate_name).label("name"), func.count().label("n"),
                *(func.sum(case((per_case.c[k], 1), else_=0)).label(k)
                  for k in ("overdue", "due_today", "escalated", "extension_pending")))
         .group_by(per_case.c.estate_code))
    for r in conn.execute(q):
        found = row(r.estate_code, r.name)
        found.update(open=int(r.n), overdue=int(r.overdue or 0), due_today=int(r.due_today or 0),
                     escalated=int(r.escalated or 0), extensions_pending=int(r.extension_pending or 0))
    answer["estates"] = [estates[code] for code in sorted(estates)]
    answer["items"] = _worst(conn, tenant_id, per_case, worst) if worst else []
    return answer


def _active(where: list, now: dt.datetime, due_before: dt.datetime):
    """The open cases with their flags, one row each (a subquery)."""
    soonest = (select(func.min(case_deadlines.c.due_at))
               .where(case_deadlines.c.tenant_id == cases.c.tenant_id, case_deadlines.c.case_id == cases.c.id,
                      case_deadlines.c.met_at.is_(None))
               .scalar_subquery())
    waiting = exists().where(case_extensions.c.tenant_id == cases.c.tenant_id,
                             case_extensions.c.case_id == cases.c.id, case_extensions.c.status == "pending")
    running = cases.c.status != DEFERRED
    return (select(cases.c.id, cases.c.reference, cases.c.estate_code, cases.c.estate_name, cases.c.status,
                   cases.c.severity, cases.c.assignee, cases.c.escalation_level, cases.c.received_at,
                   soonest.label("due_at"),
                   case((and_(running, soonest <= now), True), else_=False).label("overdue"),
                   case((and_(running, soonest > now, soonest <= due_before), True), else_=False).label("due_today"),
                   case((cases.c.escalation_level > 0, True), else_=False).label("escalated"),
                   case((waiting, True), else_=False).label("extension_pending"))
            .where(*where, cases.c.status.not_in(QUEUE_DONE)).subquery())


def _worst(conn, tenant_id: str, per_case, worst: int) -> list[dict]:
    c = per_case.c
    rank = case((c.overdue, 0), (c.escalated, 1), (c.extension_pending, 2), else_=3)
    q = (select(per_case).where(c.overdue | c.due_today | c.escalated | c.extension_pending)
         .order_by(rank, c.escalation_level.desc(), c.due_at.is_(None), c.due_at, c.received_at, c.id)
         .limit(MAX_ITEMS))
    kept, per_estate = [], {}
    for r in conn.execute(q).mappings():
        if per_estate.get(r["estate_code"], 0) < worst:
            per_estate[r["estate_code"]] = per_estate.get(r["estate_code"], 0) + 1
            kept.append(r)
    stages = repository.pending_stages(conn, tenant_id, [r["id"] for r in kept if r["due_at"] is not None])
    return [{"complaint_id": r["id"], "reference": r["reference"], "estate": r["estate_code"],
             "estate_name": r["estate_name"], "status": r["status"], "severity": r["severity"],
             "assignee": r["assignee"], "escalation_level": int(r["escalation_level"] or 0),
             "received_at": r["received_at"].isoformat(), "overdue": bool(r["overdue"]),
             "due_today": bool(r["due_today"]), "escalated": bool(r["escalated"]),
             "extension_pending": bool(r["extension_pending"]),
             "next_deadline": ({"stage": stages[r["id"]][0][1], "due_at": stages[r["id"]][0][0].isoformat()}
                               if stages.get(r["id"]) else None)} for r in kept]
