"""Extension (延期) requests and decisions: ``act(..., "request_extension" | "decide_extension", data)``.

``request_extension`` {stage (default ``resolution``), new_due_at (ISO 8601 with offset; later than the
stage's current due time and not in the past), reason}: by someone handling the case (a ladder role at its
estate, below head office). ``decide_extension`` {approve, note (required to reject), stage (optional: the
only pending request otherwise)}: by someone a rung higher than the requester, never the requester
(domain/extensions.py).

One transaction each: the request row, the case's version + 1 (the If-Match rule of every action), a timeline
entry and the event. Approval moves ``case_deadlines.due_at``, keeps the first due time in ``original_due_at``,
cancels the stage's pending warning/breach timers and schedules new ones; rejection moves nothing. Events
``extension_requested`` and ``extension_decided`` carry ``due_at`` (in force after the event),
``original_due_at`` and ``new_due_at`` so reports keep the original SLA outcome.
"""
from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from estatedesk_common import timers
from estatedesk_common.errors import Conflict, Forbidden, ValidationFailed

from . import escalation, repository
from .domain import extensions as rules
from .domain.actions import InvalidAction
from .domain.sla.approval import approval_from, required
from .tables import case_deadlines, case_extensions, cases
from .tables import timers as timer_table

ACTIONS = rules.ACTIONS


class ExtensionForbidden(Forbidden):
    code = "extension_not_allowed"


class ExtensionNeedsHigherApproval(Forbidden):
    code = "extension_needs_higher_approval"  # longer than the decider's rung of extensions.approval may grant


class StaleCase(Conflict):
    code = "version_conflict"  # the same code as actions.VersionConflict


def act(uow, case, action: str, data: dict, user_id: str | None, roles) -> dict:
    """Inside the caller's unit of work, with ``case`` read and its version checked."""
    if case["status"] in escalation.DONE:
        raise ValidationFailed(f"the case is {case['status']}", field="action")
    now = uow.clock.now()
    deadlines = {d["stage"]: d for d in uow.conn.execute(select(case_deadlines).where(
        case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"])).mappings()}
    pending = {p["stage"]: p for p in _requests(uow.conn, case, status="pending")}
    caller_rank = rules.rank(roles, case["estate_code"])
    try:
        if action == "request_extension":
            event, body, text = _request(uow, case, data, deadlines, pending, user_id, caller_rank, now)
        else:
            event, body, text = _decide(uow, case, data, deadlines, pending, user_id, caller_rank, now)
    except InvalidAction as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    except rules.BeyondRung as exc:
        raise ExtensionNeedsHigherApproval(str(exc), field=exc.field, details=exc.details) from exc
    except rules.NotAllowed as exc:
        raise ExtensionForbidden(str(exc), field=exc.field) from exc
    changed = uow.conn.execute(update(cases).where(
        cases.c.tenant_id == case["tenant_id"], cases.c.id == case["id"], cases.c.version == case["version"])
        .values(version=case["version"] + 1)).rowcount
    if changed != 1:
        raise StaleCase("the case changed since you loaded it", field="version")
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, event, user_id or "workflow", text)
    uow.publish(event, case["tenant_id"], {
        "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "action": action, "status": case["status"], "by": user_id,
        "at": now.isoformat(), **body})
    return {"complaint_id": case["id"], "status": case["status"], "version": case["version"] + 1,
            "stages_met": [], "extension": body}


def _request(uow, case, data, deadlines, pending, user_id, caller_rank, now):
    req = rules.parse_request(data, deadlines, pending, caller_rank, now)
    deadline = deadlines[req.stage]
    seq = uow.conn.execute(select(func.coalesce(func.max(case_extensions.c.seq), 0)).where(
        case_extensions.c.tenant_id == case["tenant_id"], case_extensions.c.case_id == case["id"])).scalar_one() + 1
    uow.conn.execute(case_extensions.insert().values(
        tenant_id=case["tenant_id"], case_id=case["id"], seq=seq, stage=req.stage, status="pending",
        due_at=deadline["due_at"], new_due_at=req.new_due_at, reason=req.reason, requested_by=user_id,
        requested_rank=caller_rank, requested_at=now))
    rung, _below = approval_needed(uow.conn, case, deadline, req.new_due_at)
    needed = max(rung.rank, caller_rank + 1)
    zone = ZoneInfo(case["timezone"])
    body = {"request": seq, "stage": req.stage, "due_at": deadline["due_at"].isoformat(),
            "original_due_at": (deadline["original_due_at"] or deadline["due_at"]).isoformat(),
            "new_due_at": req.new_due_at.isoformat(), "reason": req.reason}
    text = (f"申请延期：阶段「{req.stage}」由 {deadline['due_at'].astimezone(zone):%Y-%m-%d %H:%M} 延至 "
            f"{req.new_due_at.astimezone(zone):%Y-%m-%d %H:%M}；原因：{req.reason}；待{rules.RANK_TITLES_ZH[needed]}或以上审批")
    return "extension_requested", body, text


def _decide(uow, case, data, deadlines, pending, user_id, caller_rank, now):
    stage = data.get("stage")
    if stage is None and len(pending) == 1:
        stage = next(iter(pending))
    if stage not in pending:
        raise InvalidAction("stage", "no extension request is waiting for a decision"
                            + (f" on stage {stage!r}" if stage else " (name the stage)"))
    req = pending[stage]
    rules.check_decider(req["requested_by"], req["requested_rank"], user_id, caller_rank)
    decision = rules.parse_decision(data)
    deadline = deadlines[stage]
    if decision.approve and deadline["met_at"] is not None:
        raise InvalidAction("stage", f"stage {stage!r} was met meanwhile; nothing to extend")
    if decision.approve:
        rung, below = approval_needed(uow.conn, case, deadline, req["new_due_at"])
        rules.check_approval_rung(caller_rank, rung.role, rung.rank, rung.max, below)
    uow.conn.execute(update(case_extensions).where(
        case_extensions.c.tenant_id == case["tenant_id"], case_extensions.c.case_id == case["id"],
        case_extensions.c.seq == req["seq"]).values(
        status="approved" if decision.approve else "rejected", decided_by=user_id, decided_at=now,
        note=decision.note))
    original = deadline["original_due_at"] or deadline["due_at"]
    due = deadline["due_at"]
    if decision.approve:
        due = req["new_due_at"]
        uow.conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == stage).values(due_at=due, original_due_at=original))
        reschedule(uow, case, stage, due, now)
    zone = ZoneInfo(case["timezone"])
    body = {"request": req["seq"], "stage": stage, "approved": decision.approve, "note": decision.note,
            "requested_by": req["requested_by"], "due_at": due.isoformat(), "original_due_at": original.isoformat(),
            "new_due_at": req["new_due_at"].isoformat()}
    verdict = "批准延期" if decision.approve else "驳回延期"
    text = (f"{verdict}：阶段「{stage}」" + (f"新时限 {due.astimezone(zone):%Y-%m-%d %H:%M}（原时限 "
            f"{original.astimezone(zone):%Y-%m-%d %H:%M}，统计仍按原时限）" if decision.approve else
            f"仍按 {due.astimezone(zone):%Y-%m-%d %H:%M}") + (f"；意见：{decision.note}" if decision.note else ""))
    return "extension_decided", body, text


def approval_needed(conn, case, deadline, new_due):
    """(the lowest rung of the case policy's ``extensions.approval`` that may approve moving ``deadline`` to
    ``new_due``, counted from its original due time; the ``max`` of the rung below it, or None)."""
    policy = escalation.case_policy(conn, case)
    ladder = policy.extension_approval if policy is not None else approval_from(None)
    if policy is None:
        return ladder[-1], None
    rung, _bound = required(ladder, policy.calendar, deadline["original_due_at"] or deadline["due_at"], new_due)
    index = ladder.index(rung)
    return rung, ladder[index - 1].max if index else None


def reschedule(uow, case, stage: str, due, now) -> None:
    """Cancel the stage's pending warning and breach timers; schedule new ones for ``due``."""
    for kind in ("sla_warning", "sla_breach"):
        timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=kind, key=stage)
    escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], case["received_at"],
                                    [{"stage": stage, "due_at": due}])


def _requests(conn, case, status: str | None = None):
    q = select(case_extensions).where(case_extensions.c.tenant_id == case["tenant_id"],
                                      case_extensions.c.case_id == case["id"])
    if status:
        q = q.where(case_extensions.c.status == status)
    return conn.execute(q.order_by(case_extensions.c.seq)).mappings().all()


def view(conn, case) -> list[dict]:
    """The case's extension requests, oldest first, for ``get_case``."""
    return [{"request": r["seq"], "stage": r["stage"], "status": r["status"], "due_at": r["due_at"].isoformat(),
             "new_due_at": r["new_due_at"].isoformat(), "reason": r["reason"], "requested_by": r["requested_by"],
             "requested_at": r["requested_at"].isoformat(), "decided_by": r["decided_by"],
             "decided_at": r["decided_at"].isoformat() if r["decided_at"] else None, "note": r["note"]}
            for r in _requests(conn, case)]
