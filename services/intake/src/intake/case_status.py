"""The status of each complaint's case, as workflow last announced it: a small projection on ``complaints``
(``case_status``, ``case_version``, ``case_status_at``), so the complaint list filters and sorts by the status the
console shows in its own query, before paging (workflow owns the case; intake never reads its tables, and asking
workflow for the ids in a status would be unbounded).

Fed by workflow's events that set a status (``EVENTS``: their ``status``, ``version`` and ``at``) and, for
complaints older than the projection, by ``backfill`` from workflow's ``case_summaries`` RPC (``python -m
intake.cli sync-case-status``). A transition is applied only when it is newer than the stored one: by the case's
version when both have one (workflow bumps it on every status change, except that the routing or duty assignment
made in the opening transaction shares version 1 with ``case_opened``: so ``case_opened`` only fills an empty
projection), else by time (events of a workflow from before ``version`` was published). Redelivery is a no-op
(inbox, consumer ``intake.case_status``); a status this module does not know is dead-lettered, not guessed.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, or_, select, update

from .tables import complaints

CONSUMER = "intake.case_status"
NO_CASE = "received"  # intake's own status: recorded, no case opened (yet)
# workflow's case statuses in lifecycle order (workflow.domain.actions.RANK, deferrals.STATUS)
CASE_STATUSES = ("open", "assigned", "contacted", "in_progress", "deferred", "resolved", "callback", "closed",
                 "cancelled")
# what the complaint list's ``status`` filter accepts and shows, in the order its ``status`` sort uses
LIST_STATUSES = (NO_CASE, *CASE_STATUSES)
EVENTS = ("case_opened", "case_assigned", "case_contacted", "case_plan_recorded", "case_progress_recorded",
          "case_resolved", "owner_accepted", "case_cancelled", "case_closed", "case_reopened", "case_deferred",
          "case_resumed")
BACKFILL_BATCH = 1000  # workflow's case_summaries takes at most 1000 ids


class UnknownCaseStatus(ValueError):
    """The event names a status intake does not know: dead-lettered (estatedesk_common.events)."""


def on_case_event(envelope, uow) -> bool:
    """One of ``EVENTS``: the complaint's case status, if newer than the stored one. True when applied."""
    p = envelope.payload
    opening = envelope.event_type == "case_opened"
    status = p.get("status") or ("open" if opening else None)
    if status not in CASE_STATUSES:
        raise UnknownCaseStatus(f"{envelope.event_type}: unknown case status {status!r}")
    at = dt.datetime.fromisoformat(p.get("at") or p.get("opened_at") or envelope.occurred_at)
    version = p.get("version")
    with uow:
        if not uow.claim(envelope, CONSUMER):
            return False
        applied = apply(uow.conn, envelope.tenant_id, str(p.get("complaint_id") or p.get("case_id")), status,
                        int(version) if version is not None else None, at, opening=opening)
        uow.commit()
    return applied


def apply(conn, tenant_id: str, complaint_id: str, status: str, version: int | None, at: dt.datetime,
          opening: bool = False) -> bool:
    """Store ``status`` for the complaint unless what is stored is newer (see the module docstring)."""
    c = complaints.c
    if opening:
        newer = c.case_status_at.is_(None)
    elif version is None:
        newer = or_(c.case_status_at.is_(None), c.case_status_at <= at)
    else:
        newer = or_(c.case_status_at.is_(None), c.case_version <= version,
                    and_(c.case_version.is_(None), c.case_status_at <= at))
    done = conn.execute(update(complaints).where(c.tenant_id == tenant_id, c.id == complaint_id, newer)
                        .values(case_status=status, case_version=version, case_status_at=at))
    return done.rowcount == 1


def backfill(engine, tenant_id: str, summaries, batch: int = BACKFILL_BATCH) -> dict:
    """Every complaint of the tenant, ``batch`` at a time in id order, set from ``summaries(ids)`` (workflow's
    ``case_summaries``: ``[{complaint_id, status, version, updated_at}]``) with the events' rule, so running it
    while events flow (or twice) never moves a complaint back. Returns the counts."""
    after, report = "", {"tenant_id": tenant_id, "complaints": 0, "cases": 0, "applied": 0, "unknown_status": 0}
    while True:
        with engine.connect() as conn:
            ids = conn.execute(select(complaints.c.id).where(complaints.c.tenant_id == tenant_id,
                                                             complaints.c.id > after)
                               .order_by(complaints.c.id).limit(batch)).scalars().all()
        if not ids:
            return report
        found = summaries(list(ids))
        with engine.begin() as conn:
            for case in found:
                if case["status"] not in CASE_STATUSES:
                    report["unknown_status"] += 1
                    continue
                report["applied"] += apply(conn, tenant_id, case["complaint_id"], case["status"], case.get("version"),
                                           dt.datetime.fromisoformat(case["updated_at"]))
        report["complaints"] += len(ids)
        report["cases"] += len(found)
        after = ids[-1]


def tenants(engine, missing_before: dt.datetime | None = None) -> list[str]:
    """The tenants with complaints (``sync-case-status`` without ``--tenant``); with ``missing_before``, only those
    with a complaint received before it that has no case status yet (``--only-missing``: a database upgraded to
    revision a11c1o2m3m4t; on one that has always had it, events set every status within seconds)."""
    query = select(complaints.c.tenant_id).distinct().order_by(complaints.c.tenant_id)
    if missing_before is not None:
        query = query.where(complaints.c.case_status.is_(None), complaints.c.received_at < missing_before)
    with engine.connect() as conn:
        return list(conn.execute(query).scalars())
