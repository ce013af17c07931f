"""Queries on workflow's tables. Every query filters by tenant."""
from __future__ import annotations

from sqlalchemy import func, select

from .tables import case_deadlines, case_timeline, cases, sla_limits


def limit_rows(conn, tenant_id: str, estate_code: str) -> list[tuple[str, str, str, int]]:
    q = select(sla_limits.c.estate_code, sla_limits.c.channel, sla_limits.c.stage, sla_limits.c.minutes).where(
        sla_limits.c.tenant_id == tenant_id, sla_limits.c.estate_code.in_([estate_code, "*"]))
    return [tuple(r) for r in conn.execute(q)]


def case_exists(conn, tenant_id: str, case_id: str) -> bool:
    return conn.execute(select(cases.c.id).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)).first() is not None


def add_case(conn, row: dict) -> None:
    conn.execute(cases.insert().values(**row))


def add_deadline(conn, tenant_id: str, case_id: str, deadline) -> None:
    conn.execute(case_deadlines.insert().values(
        tenant_id=tenant_id, case_id=case_id, stage=deadline.stage, due_at=deadline.due_at, met_at=None,
        limit_minutes=deadline.limit.minutes, explanation=deadline.explanation()))


def add_timeline(conn, tenant_id: str, case_id: str, at, kind: str, actor: str, text: str) -> None:
    seq = conn.execute(select(func.coalesce(func.max(case_timeline.c.seq), 0)).where(
        case_timeline.c.tenant_id == tenant_id, case_timeline.c.case_id == case_id)).scalar_one() + 1
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
