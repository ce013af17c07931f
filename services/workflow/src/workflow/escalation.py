"""Timers of a case: pre-breach warnings, breaches and escalation up the ladder.

``schedule_case_timers`` is called by ``open_case`` in its transaction; ``on_timer`` is the handler the
``Timers`` dependency calls for each due timer, inside the timer's transaction (so the events it publishes
and the timeline it writes commit with the "fired" mark). A timer for a stage already met, or for a case
that is resolved, closed or cancelled, fires as a no-op; while a case is deferred with the owner's consent its
escalation and upgrade timers wait for the deferral's end and the ``resume`` timer ends it (workflow.deferrals).

Events: ``sla_warning`` and ``sla_breached`` {case_id, complaint_id, reference, estate_code, stage, due_at},
``case_escalated`` {case_id, complaint_id, reference, estate_code, level, role, reason}.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from estatedesk_common import timers

from . import repository
from .domain.escalation import next_rung, warning_at
from .tables import case_deadlines, cases
from .tables import timers as timer_table

DONE = {"resolved", "closed", "cancelled"}


def schedule_case_timers(uow, tenant_id: str, case_id: str, received_at: dt.datetime, deadlines) -> None:
    """A warning and a breach timer for every deadline."""
    now = uow.clock.now()
    for d in deadlines:
        due = d["due_at"]
        timers.schedule(uow.conn, timer_table, tenant_id, "sla_warning", case_id,
                        max(now, warning_at(received_at, due)), now, key=d["stage"])
        timers.schedule(uow.conn, timer_table, tenant_id, "sla_breach", case_id, due, now, key=d["stage"])


def on_timer(uow, timer) -> None:
    case = repository.get_case(uow.conn, timer["tenant_id"], timer["subject_id"])
    if case is None or case["status"] in DONE:
        return
    if timer["kind"] == "resume" or case["status"] == "deferred":  # deferral with consent (workflow.deferrals)
        from . import deferrals
        if timer["kind"] == "resume":
            deferrals.on_timer(uow, case, timer)
        elif timer["kind"] in ("escalation", "upgrade"):
            deferrals.postpone(uow, case, timer)
        return  # a warning or breach timer of a paused stage does not fire
    if timer["kind"] == "escalation":
        _escalate(uow, case, reason=timer["payload"].get("reason", "no progress"))
        return
    if timer["kind"] == "upgrade":  # unresolved for a month -> major (workflow.upgrades)
        from . import upgrades
        upgrades.on_timer(uow, case)
        return
    deadline = uow.conn.execute(select(case_deadlines).where(
        case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
        case_deadlines.c.stage == timer["key"])).mappings().first()
    if deadline is None or deadline["met_at"] is not None:
        return
    local_due = deadline["due_at"].astimezone(ZoneInfo(case["timezone"]))
    body = _body(case) | {"stage": deadline["stage"], "due_at": deadline["due_at"].isoformat()}
    now = uow.clock.now()
    if timer["kind"] == "sla_warning":
        uow.publish("sla_warning", case["tenant_id"], body)
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "sla_warning", "workflow",
                                f"预警：{_stage(deadline['stage'])}将于 {local_due:%Y-%m-%d %H:%M} 到期")
    elif timer["kind"] == "sla_breach":
        uow.publish("sla_breached", case["tenant_id"], body)
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "sla_breached", "workflow",
                                f"超时：{_stage(deadline['stage'])}已于 {local_due:%Y-%m-%d %H:%M} 到期")
        _escalate(uow, case, reason=f"{deadline['stage']} breached")


def _escalate(uow, case, reason: str, rung=None) -> None:
    """Climb one rung (or jump to ``rung``); while the case stays open, the next rung follows after this rung's
    time to act."""
    rung = rung or next_rung(case["escalation_level"] or 0)
    if rung is None:
        return
    now = uow.clock.now()
    uow.conn.execute(update(cases).where(cases.c.tenant_id == case["tenant_id"], cases.c.id == case["id"])
                     .values(escalation_level=rung.level))
    uow.publish("case_escalated", case["tenant_id"], _body(case) | {"level": rung.level, "role": rung.role,
                                                                    "reason": reason})
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "case_escalated", "workflow",
                            f"已升级至{rung.title_zh}（第 {rung.level} 级）")
    if rung.minutes_to_act is not None:
        timers.schedule(uow.conn, timer_table, case["tenant_id"], "escalation", case["id"],
                        now + dt.timedelta(minutes=rung.minutes_to_act), now, key=f"level-{rung.level + 1}",
                        payload={"reason": f"level {rung.level} did not act within {rung.minutes_to_act} min"})


def _body(case) -> dict:
    return {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
            "estate_code": case["estate_code"]}


def _stage(stage: str) -> str:
    return "首次联系业主" if stage == "first_contact" else f"阶段「{stage}」"
