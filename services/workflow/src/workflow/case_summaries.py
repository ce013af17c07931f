"""``case_summaries``: the state of many cases in one call, for status feeds (Open311's GET requests).

One query per table for up to ``MAX_IDS`` complaint ids (the ``list_cases`` queue is capped at 200 and sorted
by deadline, which a status feed does not need). Each summary says whether the case is finished for the
outside world (``closed``: closed after the owner's acceptance or callback, or cancelled), when it last changed
(its latest timeline entry) and when it is expected to be resolved (the resolution deadline: ``resolution``, or
``simple_fix`` in the handover preset; the pending one if any, else the latest).
"""
from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import func, select

from estatedesk_common.tenant import estates_from_roles

from .exceptions import ValidationFailed
from .tables import case_deadlines, case_timeline, cases

MAX_IDS = 1000
RESOLUTION_STAGES = ("resolution", "simple_fix")
FINISHED = ("closed", "cancelled")


def _ids(complaint_ids) -> list[str]:
    if not isinstance(complaint_ids, (list, tuple)) or len(complaint_ids) > MAX_IDS:
        raise ValidationFailed(f"complaint_ids must be a list of at most {MAX_IDS} ids", field="complaint_ids")
    ids = []
    for value in complaint_ids:
        try:
            ids.append(str(uuid.UUID(str(value))))
        except ValueError:
            continue  # not an id of ours: no case has it
    return sorted(set(ids))


def case_summaries(complaint_ids, tenant_id: str, caller_roles, engine) -> list[dict]:
    """``[{complaint_id, status, version, closed, updated_at, resolution_due_at, resolved_at, remedy, cancel_reason,
    estate_name}]`` of the tenant's cases among ``complaint_ids`` (unknown ids are left out; a person's call
    sees only the estates of their roles, a trusted call every estate)."""
    ids = _ids(complaint_ids)
    scope = None if caller_roles is None else estates_from_roles(caller_roles)
    if not ids or (scope is not None and not scope):
        return []
    where = [cases.c.tenant_id == tenant_id, cases.c.id.in_(ids)]
    if scope is not None:
        where.append(cases.c.estate_code.in_(sorted(scope)))
    with engine.connect() as conn:
        rows = conn.execute(select(cases.c.id, cases.c.status, cases.c.remedy, cases.c.cancel_reason,
                                   cases.c.resolved_at, cases.c.estate_name, cases.c.opened_at,
                                   cases.c.version)
                            .where(*where)).mappings().all()
        found = [r["id"] for r in rows]
        if not found:
            return []
        latest = dict(conn.execute(
            select(case_timeline.c.case_id, func.max(case_timeline.c.at))
            .where(case_timeline.c.tenant_id == tenant_id, case_timeline.c.case_id.in_(found))
            .group_by(case_timeline.c.case_id)).all())
        deadlines = conn.execute(
            select(case_deadlines.c.case_id, case_deadlines.c.due_at, case_deadlines.c.met_at)
            .where(case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id.in_(found),
                   case_deadlines.c.stage.in_(RESOLUTION_STAGES))).all()
    due = _resolution_due(deadlines)
    return [_summary(row, latest.get(row["id"]), due.get(row["id"])) for row in rows]


def _resolution_due(deadlines) -> dict:
    """case id -> the pending resolution deadline (the latest one when every one is met)."""
    best: dict = {}
    for case_id, due_at, met_at in deadlines:
        rank = (met_at is None, due_at)  # a pending deadline wins over a met one; then the latest
        if case_id not in best or rank > best[case_id][0]:
            best[case_id] = (rank, due_at)
    return {case_id: due_at for case_id, (_rank, due_at) in best.items()}


def _iso(value):
    if value is None:
        return None
    if value.tzinfo is None:  # stored as UTC
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.isoformat()


def _summary(row, updated_at, due_at) -> dict:
    return {
        "complaint_id": row["id"], "status": row["status"], "version": row["version"],
        "closed": row["status"] in FINISHED,
        "updated_at": _iso(updated_at or row["opened_at"]), "resolution_due_at": _iso(due_at),
        "resolved_at": _iso(row["resolved_at"]), "remedy": row["remedy"], "cancel_reason": row["cancel_reason"],
        "estate_name": row["estate_name"],
    }
