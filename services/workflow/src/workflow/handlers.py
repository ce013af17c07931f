"""workflow use cases."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

from . import repository
from .domain.limits import first_contact_deadline, resolve_limit
from .exceptions import CaseNotFound

CONSUMER_OPEN_CASE = "workflow.open_case"

log = logging.getLogger(__name__)


def open_case(envelope, uow) -> bool:
    """``complaint_received`` -> a case with its first-contact deadline, and ``case_opened``. Idempotent."""
    p = envelope.payload
    tenant_id = envelope.tenant_id
    with uow:
        if not uow.claim(envelope, CONSUMER_OPEN_CASE):
            return False
        case_id = p["complaint_id"]
        if repository.case_exists(uow.conn, tenant_id, case_id):  # same complaint re-sent as a new event
            uow.commit()
            return False
        estate = p["estate"]
        received_at = dt.datetime.fromisoformat(p["received_at"])
        now = uow.clock.now()
        limit = resolve_limit(repository.limit_rows(uow.conn, tenant_id, estate["code"]), estate["code"],
                              p["channel"], "first_contact")
        deadline = first_contact_deadline(received_at, limit)
        repository.add_case(uow.conn, {
            "tenant_id": tenant_id, "id": case_id, "reference": p["reference"], "estate_code": estate["code"],
            "estate_name": estate["name"], "timezone": estate["timezone"], "channel": p["channel"],
            "category": p.get("category"), "severity": p.get("severity"), "status": "open",
            "received_at": received_at, "opened_at": now, "owner_user_id": p.get("received_by"),
        })
        repository.add_deadline(uow.conn, tenant_id, case_id, deadline)
        local_due = deadline.due_at.astimezone(ZoneInfo(estate["timezone"]))
        repository.add_timeline(uow.conn, tenant_id, case_id, now, "case_opened", "workflow",
                                f"立案；首次联系业主时限 {local_due:%Y-%m-%d %H:%M}（{deadline.explanation()}）")
        uow.publish("case_opened", tenant_id, {
            "case_id": case_id, "complaint_id": case_id, "reference": p["reference"], "estate": estate,
            "channel": p["channel"], "description": p["description"], "complainant": p["complainant"],
            "category": p.get("category"), "severity": p.get("severity"), "received_at": p["received_at"],
            "opened_at": now.isoformat(),
            "deadlines": [{"stage": deadline.stage, "due_at": deadline.due_at.isoformat()}],
        })
        uow.commit()
    log.info("case %s opened, first contact due %s", p["reference"], deadline.due_at.isoformat())
    return True


def get_case(case_id: str, tenant_id: str, engine) -> dict:
    try:
        uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound("no such case", field="id") from None
    with engine.connect() as conn:
        case = repository.get_case(conn, tenant_id, str(case_id))
        if case is None:
            raise CaseNotFound("no such case", field="id")
        deadlines = repository.deadlines(conn, tenant_id, case["id"])
        timeline = repository.timeline(conn, tenant_id, case["id"])
    return {
        "complaint_id": case["id"], "reference": case["reference"], "status": case["status"],
        "estate": case["estate_code"], "severity": case["severity"], "category": case["category"],
        "deadlines": [{"stage": d["stage"], "due_at": d["due_at"].isoformat(),
                       "met_at": d["met_at"].isoformat() if d["met_at"] else None,
                       "explanation": d["explanation"]} for d in deadlines],
        "timeline": [{"at": t["at"].isoformat(), "kind": t["kind"], "actor": t["actor"], "text": t["text"]}
                     for t in timeline],
    }
