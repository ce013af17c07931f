"""Handlers act on a case: ``act(complaint_id, action, data)``.

One transaction: the case row (status, version + 1, resolution fields), the deadlines the action meets
(``met_at``; which stages an action meets is each stage's ``met_by``, workflow.meeting), the timers of those
stages cancelled (all of them when the case is closed or cancelled; a resolved case keeps those of its pending
post-resolution stages, callback and owner acceptance),
a timeline entry by the acting user, and the event (``case_contacted``, ``case_assigned``,
``case_plan_recorded``, ``case_progress_recorded``, ``case_resolved``, ``owner_accepted``, ``case_cancelled``).
``expected_version`` (the gateway's If-Match) makes two agents unable to overwrite each other.
``case_resolved`` carries ``handling_working_hours`` (receipt -> now on the site's calendar; null when the
calendar cannot count those days; business hours the case spent deferred with the owner's consent left out) for
reporting, which has no calendar. ``defer``/``resume`` are workflow.deferrals; while a case is deferred every
other action is refused (``action``).
"""
from __future__ import annotations

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import update

from estatedesk_common.errors import Conflict, ValidationFailed

from . import backfill, deferrals, extensions, meeting, policies, quality, repeating, repository
from .domain import sla
from .domain.actions import DONE, LABELS_ZH, InvalidAction, decide
from .exceptions import CaseNotFound
from .tables import cases

EVENTS = {"contact": "case_contacted", "assign": "case_assigned", "plan": "case_plan_recorded",
          "progress": "case_progress_recorded", "resolve": "case_resolved", "accept": "owner_accepted",
          "cancel": "case_cancelled"}


class VersionConflict(Conflict):
    code = "version_conflict"


def act(complaint_id, action: str, data: dict | None, tenant_id: str, user_id: str | None, uow,
        expected_version: int | None = None, roles=None) -> dict:
    """``roles`` ([[role, estate|None], ...]) decide who may ask for and approve extensions (workflow.extensions)."""
    try:
        case_id = str(uuid.UUID(str(complaint_id)))
    except ValueError:
        raise CaseNotFound("no such case", field="id") from None
    with uow:
        case = repository.get_case(uow.conn, tenant_id, case_id)
        if case is None:
            raise CaseNotFound("no such case", field="id")
        if expected_version is not None and int(expected_version) != case["version"]:
            raise VersionConflict("the case changed since you loaded it", field="version",
                                  details={"current_version": case["version"]})
        if action in deferrals.ACTIONS:  # deferral with the owner's consent; resume
            result = deferrals.act(uow, case, action, data or {}, user_id)
            uow.commit()
            return result
        if case["status"] == deferrals.STATUS:
            raise ValidationFailed("the case is deferred with the owner's consent; resume it first", field="action")
        if action in extensions.ACTIONS:
            result = extensions.act(uow, case, action, data or {}, user_id, roles)
            uow.commit()
            return result
        if action in quality.ACTIONS:  # the site manager's decision on a nonconformity record
            result = quality.act(uow, case, action, data or {}, user_id, roles)
            uow.commit()
            return result
        try:
            decision = decide(action, case["status"], data or {})
        except InvalidAction as exc:
            raise ValidationFailed(str(exc), field=exc.field) from exc
        now = uow.clock.now()
        actions_of = meeting.stage_actions(uow.conn, case)  # each stage's met_by under the case's policy
        met = meeting.meet(uow.conn, case, action, now, actions_of)
        met_next = []
        if decision.status in DONE:  # a resolved case keeps the timers of its callback / owner acceptance
            meeting.stop_timers(uow.conn, case, decision.status, now, actions_of)
        else:  # a repeating stage (progress every 12 h) met now is due again
            met_next = repeating.rearm(uow, case, met, now)
        uow.conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)
                         .values(status=decision.status, version=case["version"] + 1, **_fields(decision, now)))
        repository.add_timeline(uow.conn, tenant_id, case_id, now, EVENTS[action], user_id or "workflow",
                                _text(decision, met) + _next_text(case, met_next))
        uow.publish(EVENTS[action], tenant_id, {
            "case_id": case_id, "complaint_id": case_id, "reference": case["reference"],
            "estate_code": case["estate_code"], "action": action, "status": decision.status, "by": user_id,
            "version": case["version"] + 1, "stages_met": met, "note": decision.note, **decision.details, "at": now.isoformat(),
            "stages_due_again": [{"stage": a["stage"], "due_at": a["due_at"].isoformat()} for a in met_next],
            **({"handling_working_hours": _working_hours(uow.conn, case, now)} if action == "resolve" else {})})
        if action == "resolve":  # nonconformity record (loss >= 500 yuan), CAPA for a cluster of one cause
            quality.on_resolved(uow, case, decision.details, user_id, now)
        uow.commit()
    return {"complaint_id": case_id, "status": decision.status, "version": case["version"] + 1, "stages_met": met}


def _next_text(case, armed: list[dict]) -> str:
    zone = ZoneInfo(case["timezone"])
    return "".join(f"；下次「{a['stage']}」时限 {a['due_at'].astimezone(zone):%Y-%m-%d %H:%M}" for a in armed)


def _working_hours(conn, case, now) -> float | None:
    """Hours inside the site's business hours on its working days from receipt to ``now``, less deferrals."""
    try:
        if case["policy_levels"]:  # the policy the case was opened under (region layers included)
            cal = backfill.policy_for_case(conn, case["tenant_id"], case["policy_levels"]).calendar
        else:
            cal = policies.effective_policy(conn, case["tenant_id"], case["estate_code"], case["received_at"]).calendar
        seconds, day = 0.0, cal.local_date(case["received_at"])
        while day <= cal.local_date(now):
            for opens, closes in cal.periods(day) if cal.day(day).working else ():
                seconds += max((min(closes, now) - max(opens, case["received_at"])).total_seconds(), 0)
            day += dt.timedelta(days=1)
        seconds -= deferrals.paused_business_seconds(conn, case, cal, now)  # the owner agreed to wait
    except (sla.CalendarUnavailable, sla.PolicyInvalid):
        return None
    return round(seconds / 3600, 2)


def _fields(decision, now) -> dict:
    d = decision.details
    if decision.action == "assign":
        return {"assignee": d["assignee"]}
    if decision.action == "resolve":
        return {"cause": d["cause"], "remedy": d["remedy"], "loss_amount": int(round(d["loss_amount"])),
                "resolved_at": now}
    if decision.action == "cancel":
        return {"cancel_reason": d["reason"]}
    return {}


def _text(decision, met) -> str:
    d = decision.details
    parts = [LABELS_ZH[decision.action]]
    if decision.action == "assign":
        parts.append(f"处理人：{d['assignee']}")
    if decision.action == "resolve":
        parts.append(f"原因：{d['cause']}；措施：{d['remedy']}")
        if d["nonconformity_required"]:
            parts.append(f"业主损失 {d['loss_amount']} 元，需填写《不合格品/服务记录处理单》并经管理者代表审批")
    if decision.action == "cancel":
        parts.append(f"原因：{d['reason']}")
    if decision.note:
        parts.append(decision.note)
    if met:
        parts.append("已完成时限：" + "、".join(met))
    return "；".join(parts)
