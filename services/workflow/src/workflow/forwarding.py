"""Forwarded complaints in a case: the residents' committee clock (seed 002 §4.1: a committee's complaint is
recorded and forwarded to the service centre within 2 hours).

Intake stamps a committee complaint with ``committee_received_at`` (when the owner told the committee). The
``committee_forward`` stage counts from that instant, and recording the complaint in EstateDesk *is* the
forwarding, so the stage is met at ``received_at`` when the case opens. Recorded later than the limit, the stage
is breached at once: ``sla_breached`` (reporting counts it) and a timeline entry; it does not climb the
escalation ladder, because nothing is left to do on the stage (the case's own stages run as usual). A committee
complaint without the stamp (events from before it existed) keeps the old rule: its first contact or
assignment meets the stage.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from . import repository

COMMITTEE_STAGE = "committee_forward"


def starts(payload: dict) -> dict | None:
    """``{stage: (instant, reason)}`` for ``sla.compute``, or None when the complaint has no committee stamp."""
    value = payload.get("committee_received_at")
    if payload.get("channel") != "committee" or not isinstance(value, str):
        return None
    try:
        instant = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return {COMMITTEE_STAGE: (instant, "committee")} if instant.tzinfo else None


def meet_on_receipt(rows: list[dict], received_at: dt.datetime) -> list[dict]:
    """Mark the committee stage met at the receipt (in ``rows``, before they are stored); the rows met late."""
    late = []
    for row in rows:
        if row["stage"] == COMMITTEE_STAGE:
            row["met_at"] = received_at
            if received_at > row["due_at"]:
                late.append(row)
    return late


def report_late(uow, tenant_id: str, case: dict, late: list[dict], received_at: dt.datetime, now) -> None:
    """``sla_breached`` and a timeline entry for each stage that was already late when the case opened."""
    zone = ZoneInfo(case["timezone"])
    for row in late:
        uow.publish("sla_breached", tenant_id, {
            "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
            "estate_code": case["estate_code"], "stage": row["stage"], "due_at": row["due_at"].isoformat(),
            "original_due_at": row["due_at"].isoformat(), "met_at": received_at.isoformat()})
        late_by = int((received_at - row["due_at"]).total_seconds() // 60)
        repository.add_timeline(uow.conn, tenant_id, case["id"], now, "sla_breached", "workflow",
                                f"超时：居委会/业委会转达应于 {row['due_at'].astimezone(zone):%Y-%m-%d %H:%M} 前转至"
                                f"客服中心，{received_at.astimezone(zone):%Y-%m-%d %H:%M} 才登记"
                                f"（逾期 {late_by // 60} 小时 {late_by % 60} 分钟）")
