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

from estatedesk_common import timers

from . import escalation, meeting, policies, repository, upgrades
from .domain import sla
from .domain.actions import INTERNAL_LABELS_ZH, decide_internal
from .domain.escalation import DEFAULT_LADDER, rung_at_least
from .tables import case_deadlines, cases
from .tables import timers as timer_table

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
        actions_of = meeting.stage_actions(uow.conn, case)
        met = meeting.meet(uow.conn, case, "callback", now, actions_of)  # the owner was called back, in time or not
        uow.conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"])
                         .values(status=status, version=case["version"] + 1))
        actor = p.get("by") or "notify"
        body = {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
                "estate_code": case["estate_code"], "status": status, "version": case["version"] + 1,
                "callback_id": p.get("callback_id"),
                "satisfaction": p.get("satisfaction"), "round": p.get("round"), "at": now.isoformat(),
                "stages_met": met}
        if action == "close":
            meeting.stop_timers(uow.conn, case, status, now, actions_of)  # closed: nothing is due any more
            repository.add_timeline(uow.conn, tenant_id, case["id"], now, "case_closed", actor,
                                    _text(INTERNAL_LABELS_ZH["close"], p))
            uow.publish("case_closed", tenant_id, body | {"reason": "callback_satisfied"})
        else:
            due, again = _restart_resolution(uow, case, now)
            upgrade_at = upgrades.rearm(uow, case, now)  # the month upgrade counts again (resolving stopped it)
            repository.add_timeline(uow.conn, tenant_id, case["id"], now, "case_reopened", actor,
                                    _text(INTERNAL_LABELS_ZH["reopen"], p)
                                    + f"；新的处理时限 {due.astimezone(_zone(case)):%Y-%m-%d %H:%M}"
                                    + "".join(f"；「{a['stage']}」时限 {a['due_at'].astimezone(_zone(case)):%Y-%m-%d %H:%M}"
                                              for a in again))
            uow.publish("case_reopened", tenant_id, body | {
                "words": p.get("words") or "", "resolution_due_at": due.isoformat(),
                "deadlines": [{"stage": a["stage"], "due_at": a["due_at"].isoformat()} for a in again],
                "upgrade_at": upgrade_at.isoformat() if upgrade_at else None})
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
    """The ``resolution`` deadline counted again from ``now`` (the row is reused: one deadline per stage), and
    the stages counted ``after: resolution`` (callback, owner acceptance) counted again from its new due time,
    pending again: ``(due, [{"stage", "due_at"}])``."""
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
    for kind in meeting.STAGE_TIMERS:  # a breach of the old resolution due that has not fired yet
        timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=kind, key=RESOLUTION)
    escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], now, [row])
    return deadline.due_at, _rearm_after_resolution(uow, case, policy, severity, deadline.due_at, now)


def _rearm_after_resolution(uow, case, policy, severity: str, resolution_due, now) -> list[dict]:
    try:
        stages = [s for s in policy.stages_for(severity, case["category"], case["channel"]) if s.after == RESOLUTION]
    except sla.PolicyInvalid:
        return []
    have = {d["stage"] for d in repository.deadlines(uow.conn, case["tenant_id"], case["id"])}
    again = []
    for stage in stages:
        if stage.name not in have:
            continue
        try:
            deadline = sla.restart(policy, severity, stage, resolution_due)
        except (sla.CalendarUnavailable, sla.NoWorkingTime) as exc:
            log.error("case %s: stage %s not counted again after the reopening: %s", case["reference"], stage.name, exc)
            continue
        [row] = policies.deadline_rows([deadline], case["received_at"], policy.version_label)
        uow.conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == stage.name).values(
            **{k: v for k, v in row.items() if k != "stage"}, met_at=None, original_due_at=None))
        for kind in meeting.STAGE_TIMERS:
            timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=kind, key=stage.name)
        escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], now, [row])
        again.append({"stage": stage.name, "due_at": deadline.due_at})
    return again


def _escalate(uow, case, now, p) -> None:
    reason = f"owner dissatisfied after {p.get('round') or 3} callbacks"
    rung = rung_at_least("site_manager", escalation.case_ladder(uow.conn, case)) or SITE_MANAGER  # its ladder's
    if (case["escalation_level"] or 0) >= rung.level:
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "callback_escalation", "workflow",
                                f"业主第 {p.get('round') or 3} 次回访仍不满意（案件已在{rung.title_zh}或以上层级）")
        return
    escalation._escalate(uow, case, reason, rung=rung)
