"""Queries on workflow's tables. Every query filters by tenant."""
from __future__ import annotations

from sqlalchemy import and_, case, exists, func, or_, select

from estatedesk_common.sorting import SEVERITY_RANK

from .domain.actions import RANK
from .tables import case_deadlines, case_deferrals, case_extensions, case_timeline, cases, sla_policies


def effective_policies(conn, tenant_id: str, scopes: list[str], at) -> dict:
    """{scope: row} for each scope that has a version in force at ``at``: the latest ``effective_from`` not
    after ``at`` (the higher version wins a tie)."""
    q = select(sla_policies).where(sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope.in_(scopes),
                                   sla_policies.c.effective_from <= at)
    q = q.order_by(sla_policies.c.scope, sla_policies.c.effective_from.desc(), sla_policies.c.version.desc())
    found: dict = {}
    for row in conn.execute(q).mappings():
        found.setdefault(row["scope"], row)
    return found


def add_policy(conn, tenant_id: str, scope: str, document: dict, effective_from, created_at,
               created_by: str | None = None) -> int:
    """Store ``document`` as the next version of ``scope``; returns the version."""
    current = conn.execute(select(func.max(sla_policies.c.version)).where(
        sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == scope)).scalar_one()
    version = (current or 0) + 1
    conn.execute(sla_policies.insert().values(tenant_id=tenant_id, scope=scope, version=version,
                                              effective_from=effective_from, document=document,
                                              created_at=created_at, created_by=created_by))
    return version


def case_exists(conn, tenant_id: str, case_id: str) -> bool:
    return conn.execute(select(cases.c.id).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)).first() is not None


def add_case(conn, row: dict) -> None:
    conn.execute(cases.insert().values(**row))


def add_deadline(conn, tenant_id: str, case_id: str, row: dict) -> None:
    conn.execute(case_deadlines.insert().values(tenant_id=tenant_id, case_id=case_id, **({"met_at": None} | row)))


def add_timeline(conn, tenant_id: str, case_id: str, at, kind: str, actor: str, text: str) -> None:
    """The case's next entry: ``seq`` one past its last, found by the INSERT itself (one statement; the timer loop
    writes one or two per fired timer)."""
    seq = select(func.coalesce(func.max(case_timeline.c.seq), 0) + 1).where(
        case_timeline.c.tenant_id == tenant_id, case_timeline.c.case_id == case_id).scalar_subquery()
    conn.execute(case_timeline.insert().values(tenant_id=tenant_id, case_id=case_id, seq=seq, at=at, kind=kind,
                                               actor=actor, text=text))


def get_case(conn, tenant_id: str, case_id: str):
    return conn.execute(select(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)).mappings().first()


def deadlines(conn, tenant_id: str, case_id: str):
    q = select(case_deadlines).where(case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id == case_id)
    return conn.execute(q.order_by(case_deadlines.c.due_at)).mappings().all()


def timeline(conn, tenant_id: str, case_id: str):
    q = select(case_timeline).where(case_timeline.c.tenant_id == tenant_id, case_timeline.c.case_id == case_id)
    return conn.execute(q.order_by(case_timeline.c.seq)).mappings().all()


QUEUE_DONE = ("resolved", "closed", "cancelled")


QUEUE_SORTS = ("due_at", "received_at", "severity", "estate", "status", "extension_requested_at")


def list_cases(conn, tenant_id: str, estates, now, status=None, overdue=False, escalated=False, user_id=None,
               complaint_ids=None, limit=50, offset=0, extension_pending=False,
               assignee_names=(), sort: str = "due_at", descending: bool = False) -> tuple[int, list]:
    """``(total, rows)`` of the tenant's cases in ``estates`` (None = all), each with ``next_due_at`` (the
    earliest deadline not met yet, none once resolved, closed or cancelled); soonest deadline first, cases without one last. ``status`` "active" means
    not resolved, closed or cancelled; ``user_id`` keeps the cases that user received or is assigned (by id, or by
    one of ``assignee_names``: routing rules and the duty roster assign usernames); ``overdue``
    leaves out deferred cases (their clocks are paused until they resume). ``sort`` (one of
    ``QUEUE_SORTS``) reorders in the query (see ``_queue_order``)."""
    soonest = (select(func.min(case_deadlines.c.due_at))
               .where(case_deadlines.c.tenant_id == cases.c.tenant_id, case_deadlines.c.case_id == cases.c.id,
                      case_deadlines.c.met_at.is_(None))
               .scalar_subquery())
    pending = case((cases.c.status.in_(QUEUE_DONE), None), else_=soonest)  # a finished case waits for nothing
    where = [cases.c.tenant_id == tenant_id]
    if estates is not None:
        where.append(cases.c.estate_code.in_(sorted(estates)))
    if status == "active":
        where.append(cases.c.status.not_in(QUEUE_DONE))
    elif status:
        where.append(cases.c.status == status)
    if overdue:
        where.append(and_(pending.is_not(None), pending <= now, cases.c.status != "deferred"))
    if escalated:
        where.append(cases.c.escalation_level > 0)
    if user_id:
        names = [n for n in assignee_names or () if n]
        where.append(or_(cases.c.owner_user_id == user_id, cases.c.assignee.in_([user_id, *names])))
    if complaint_ids is not None:
        where.append(cases.c.id.in_(list(complaint_ids)))
    if extension_pending:  # an extension (延期) request waiting for a decision
        where.append(exists().where(case_extensions.c.tenant_id == cases.c.tenant_id,
                                    case_extensions.c.case_id == cases.c.id, case_extensions.c.status == "pending"))
    total = conn.execute(select(func.count()).select_from(cases).where(*where)).scalar_one()
    q = (select(cases, pending.label("next_due_at")).where(*where)
         .order_by(*_queue_order(sort, descending, pending))
         .limit(limit).offset(offset))
    return total, conn.execute(q).mappings().all()


def _queue_order(sort: str, descending: bool, pending) -> list:
    """ORDER BY for the queue: the chosen key (cases without a pending deadline last whichever the direction;
    severity by weight, status by lifecycle), then newest received and the id, so equal keys keep one order
    across pages on both databases."""
    status_rank = case(RANK, value=cases.c.status, else_=len(RANK))
    severity_rank = case(SEVERITY_RANK, value=cases.c.severity, else_=-1)
    asked = (select(func.min(case_extensions.c.requested_at))  # the oldest request waiting for a decision
             .where(case_extensions.c.tenant_id == cases.c.tenant_id, case_extensions.c.case_id == cases.c.id,
                    case_extensions.c.status == "pending").correlate(cases).scalar_subquery())
    primary = {"due_at": [pending], "received_at": [cases.c.received_at], "severity": [severity_rank],
               "estate": [cases.c.estate_name, cases.c.estate_code], "status": [status_rank],
               "extension_requested_at": [asked]}[sort]
    ordered = [c.desc() if descending else c.asc() for c in primary]
    if sort == "due_at":
        ordered.insert(0, pending.is_(None))
    if sort == "received_at":
        return [*ordered, cases.c.id.desc() if descending else cases.c.id]
    return [*ordered, cases.c.received_at.desc(), cases.c.id]


def open_deferrals(conn, tenant_id: str, case_ids) -> dict:
    """{case id: until} of the deferrals not resumed yet (the end the clocks wait for)."""
    if not case_ids:
        return {}
    q = select(case_deferrals.c.case_id, case_deferrals.c.until).where(
        case_deferrals.c.tenant_id == tenant_id, case_deferrals.c.case_id.in_(list(case_ids)),
        case_deferrals.c.resumed_at.is_(None))
    return {row.case_id: row.until for row in conn.execute(q)}


def pending_extensions(conn, tenant_id: str, case_ids) -> dict:
    """{case id: [{request, stage, due_at, new_due_at, reason, requested_by, requested_at}, ...]} of the extension
    requests waiting for a decision, oldest first."""
    if not case_ids:
        return {}
    q = (select(case_extensions).where(case_extensions.c.tenant_id == tenant_id,
                                       case_extensions.c.case_id.in_(list(case_ids)),
                                       case_extensions.c.status == "pending")
         .order_by(case_extensions.c.case_id, case_extensions.c.seq))
    found: dict = {}
    for r in conn.execute(q).mappings():
        found.setdefault(r["case_id"], []).append({
            "request": r["seq"], "stage": r["stage"], "due_at": r["due_at"].isoformat(),
            "new_due_at": r["new_due_at"].isoformat(), "reason": r["reason"], "requested_by": r["requested_by"],
            "requested_at": r["requested_at"].isoformat()})
    return found


def pending_stages(conn, tenant_id: str, case_ids) -> dict:
    """{case id: [(due_at, stage), ...]} of the deadlines not met yet, soonest first."""
    if not case_ids:
        return {}
    q = (select(case_deadlines.c.case_id, case_deadlines.c.due_at, case_deadlines.c.stage)
         .where(case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id.in_(list(case_ids)),
                case_deadlines.c.met_at.is_(None))
         .order_by(case_deadlines.c.due_at, case_deadlines.c.stage))
    found: dict = {}
    for row in conn.execute(q):
        found.setdefault(row.case_id, []).append((row.due_at, row.stage))
    return found
