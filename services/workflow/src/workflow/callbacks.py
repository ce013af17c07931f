"""The callback loop's effect on a case (notify owns the callbacks themselves).

- ``callback_completed`` (owner very satisfied / satisfied / neutral) -> ``close``: status ``closed``, timeline
  「回访满意，结案」, event ``case_closed``.
- ``callback_dissatisfied`` -> ``reopen``: status ``in_progress`` (back to the handler, the assignee is kept),
  the owner's words on the timeline, the ``resolution`` deadline counted afresh from now with the stage limit
  of the case's policy (or 3 working days when the policy has no ``resolution`` stage for the case), its warning
  and breach timers scheduled again, event ``case_reopened``. When it is resolved again, notify creates a new
  callback ("call back again until satisfied").
- Escalation after repeated dissatisfaction: notify counts the rounds and sets ``escalate`` on the third
  dissatisfied callback; workflow owns the ladder, so it escalates here, straight to the site manager rung
  (``case_escalated``, level 2) unless the case is already at or above it.

Both are internal actions (``domain.actions.decide_internal``), not staff actions. Idempotent (inbox); an event
that no longer applies (the case is not ``resolved``) is recorded on the log and ignored.
"""
from __future__ import annotations

import logging

from sqlalchemy import update

from . import escalation, policies, repository
from .domain import sla
from .domain.actions import INTERNAL_LABELS_ZH, decide_internal
from .domain.escalation import DEFAULT_LADDER
from .tables import case_deadlines, cases

CONSUMER_COMPLETED = "workflow.on_callback_completed"
CONSUMER_DISSATISFIED = "workflow.on_callback_dissatisfied"
RESOLUTION = "resolution"
FALLBACK_LIMIT = sla.Limit(3, "wd")
SITE_MANAGER = next(r for r in DEFAULT_LADDER if r.role == "site_manager")
SATISFACTION_ZH = {"very_satisfied": "非常满意", "satisfied": "满意", "neutral": "一般", "dissatisfied": "不满意"}

log = logging.getLogger(__name__)


def on_callback_completed(envelope, uow) -> bool:
    return _apply(envelope, uow, "close", CONSUMER_COMPLETED)


def on_callback_dissatisfied(envelope, uow) -> bool:
    return _apply(envelope, uow, "reopen", CONSUMER_DISSATISFIED)


def _apply(envelope, uow, action: str, consumer: str) -> bool:
    p = envelope.payload
    tenant_id = envelope.tenant_id
    with uow:
        if not uow.claim(envelope, consumer):
            return False
        case = repository.get_case(uow.conn, tenant_id, str(p.get("complaint_id") or p.get("case_id")))
        status = decide_internal(action, case["status"]) if case is not None else None
        if status is None:
            uow.commit()  # remember the event as handled: it will not apply later either
            log.warning("%s for %s ignored: case is %s", envelope.event_type, p.get("reference"),
                        case["status"] if case else "unknown")
            return False
        now = uow.clock.now()
        uow.conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"])
                         .values(status=status, version=case["version"] + 1))
        actor = p.get("by") or "notify"
        body = {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
                "estate_code": case["estate_code"], "status": status, "callback_id": p.get("callback_id"),
                "satisfaction": p.get("satisfaction"), "round": p.get("round"), "at": now.isoformat()}
        if action == "close":
            repository.add_timeline(uow.conn, tenant_id, case["id"], now, "case_closed", actor,
                                    _text(INTERNAL_LABELS_ZH["close"], p))
            uow.publish("case_closed", tenant_id, body | {"reason": "callback_satisfied"})
        else:
            due = _restart_resolution(uow, case, now)
            repository.add_timeline(uow.conn, tenant_id, case["id"], now, "case_reopened", actor,
                                    _text(INTERNAL_LABELS_ZH["reopen"], p)
                                    + f"；新的处理时限 {due.astimezone(_zone(case)):%Y-%m-%d %H:%M}")
            uow.publish("case_reopened", tenant_id, body | {"words": p.get("words") or "",
                                                             "resolution_due_at": due.isoformat()})
            if p.get("escalate"):
                _escalate(uow, case, now, p)
        uow.commit()
    log.info("case %s %s after callback", p.get("reference"), status)
    return True


def _text(label: str, p: dict) -> str:
    parts = [label]
    if p.get("satisfaction"):
        parts.append(f"满意度：{SATISFACTION_ZH.get(p['satisfaction'], p['satisfaction'])}")
    if p.get("words"):
        parts.append(f"业主意见：{p['words']}")
    if p.get("via") == "survey":
        parts.append("（短信问卷）")
    return "；".join(parts)


def _zone(case):
    from zoneinfo import ZoneInfo
    return ZoneInfo(case["timezone"])


def resolution_stage(policy, case) -> sla.Stage:
    """The policy's ``resolution`` stage for the case, or a 3-working-day stage when it has none."""
    try:
        stages = policy.stages_for(case["severity"] or policy.default_severity, case["category"], case["channel"])
    except sla.PolicyInvalid:
        stages = []
    found = next((s for s in stages if s.name == RESOLUTION), None)
    return sla.Stage(RESOLUTION, found.limit if found else FALLBACK_LIMIT, source=found.source if found else "builtin")


def _restart_resolution(uow, case, now):
    """The ``resolution`` deadline counted again from ``now`` (the row is reused: one deadline per stage)."""
    policy = policies.effective_policy(uow.conn, case["tenant_id"], case["estate_code"], case["received_at"])
    stage = resolution_stage(policy, case)
    severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
    deadline = sla.restart(policy, severity, stage, now)
    [row] = policies.deadline_rows([deadline], now, policy.version_label)
    key = (case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
           case_deadlines.c.stage == RESOLUTION)
    values = {k: v for k, v in row.items() if k != "stage"} | {"met_at": None}
    if uow.conn.execute(update(case_deadlines).where(*key).values(**values)).rowcount == 0:
        repository.add_deadline(uow.conn, case["tenant_id"], case["id"], row)
    escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], now, [row])
    return deadline.due_at


def _escalate(uow, case, now, p) -> None:
    reason = f"owner dissatisfied after {p.get('round') or 3} callbacks"
    if (case["escalation_level"] or 0) >= SITE_MANAGER.level:
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "callback_escalation", "workflow",
                                f"业主第 {p.get('round') or 3} 次回访仍不满意（案件已在{SITE_MANAGER.title_zh}或以上层级）")
        return
    escalation._escalate(uow, case, reason, rung=SITE_MANAGER)
