"""Timers of a case: pre-breach warnings, breaches and escalation up the ladder.

``schedule_case_timers`` is called by ``open_case`` in its transaction; ``on_timer`` is the handler the
``Timers`` dependency calls for each due timer, inside the timer's transaction (so the events it publishes
and the timeline it writes commit with the "fired" mark). A timer for a stage already met, or for a case
that is closed or cancelled, fires as a no-op (on a resolved case, all but the warning and breach timers of the
stages that live after resolution, met by ``accept``/``callback``: callback, owner acceptance); while a case is deferred with the owner's consent its
escalation and upgrade timers wait for the deferral's end and the ``resume`` timer ends it (workflow.deferrals).

Events: ``sla_warning`` and ``sla_breached`` {case_id, complaint_id, reference, estate_code, stage, due_at (in
force), original_due_at (the first due time when an approved extension moved ``due_at``; else the same)},
``case_escalated`` {case_id, complaint_id, reference, estate_code, level, role (the account role told), rung (the
ladder's role: ``regional_manager`` is told as ``head_office``), region (regional rung only, when the case's
layers name one), reason}. Ladder and warning point: the case's policy (``case_policy``).
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from prometheus_client import Counter
from sqlalchemy import select, tuple_, update

from estatedesk_common import timers

from . import policies, repository
from .domain import sla
from .domain.escalation import DEFAULT_LADDER, next_rung, warning_at
from .domain.sla.meeting import lives_after_resolution
from .tables import case_deadlines, cases
from .tables import timers as timer_table

DONE = {"resolved", "closed", "cancelled"}
PRELOADED = "workflow.escalation"  # uow.preloaded key: {(tenant, case id): (case, {stage: deadline})}
ENDED = {"closed", "cancelled"}  # nothing fires; a resolved case still fires its post-resolution stages
log = logging.getLogger(__name__)
# Breach rate for EstateDeskBreachRateSpike; stage names are tenant policy data, so only the two every policy
# has are labels (the rest are "other"): bounded cardinality, no tenant or estate (ADR 0004).
BREACHES = Counter("estatedesk_deadline_breaches_total", "SLA deadlines breached (sla_breached published)",
                   ["service", "stage"])


def schedule_case_timers(uow, tenant_id: str, case_id: str, received_at: dt.datetime, deadlines,
                         fraction: float | None = None) -> None:
    """A warning and a breach timer for every deadline; the warning at ``fraction`` of the stage (default: the
    ``warning_at`` of the case's policy for its severity)."""
    now = uow.clock.now()
    if fraction is None and deadlines:
        fraction = warning_fraction(uow.conn, repository.get_case(uow.conn, tenant_id, case_id))
    for d in deadlines:
        due = d["due_at"]
        timers.schedule(uow.conn, timer_table, tenant_id, "sla_warning", case_id,
                        max(now, warning_at(received_at, due, fraction)), now, key=d["stage"])
        timers.schedule(uow.conn, timer_table, tenant_id, "sla_breach", case_id, due, now, key=d["stage"])


def prepare(uow, due) -> None:
    """The batch's cases, and the deadlines its warning and breach timers are for, in two statements
    (``fire_due`` calls it after the claim). Each case is handed to the first of its timers in the batch (earlier
    timers touched other cases only); a later timer of the same case reads it again, after the first's writes."""
    keys = {(t["tenant_id"], t["subject_id"]) for t in due if t["kind"] != "sla_recompute"}
    stages = {(t["tenant_id"], t["subject_id"], t["key"]) for t in due if t["kind"] in ("sla_warning", "sla_breach")}
    if not keys:
        return
    found = {(c["tenant_id"], c["id"]): (c, {}) for c in uow.conn.execute(
        select(cases).where(tuple_(cases.c.tenant_id, cases.c.id).in_(keys))).mappings()}
    if stages:
        for d in uow.conn.execute(select(case_deadlines).where(tuple_(
                case_deadlines.c.tenant_id, case_deadlines.c.case_id, case_deadlines.c.stage).in_(stages))).mappings():
            found[(d["tenant_id"], d["case_id"])][1][d["stage"]] = d
    uow.preloaded[PRELOADED] = {key: found.get(key, (None, {})) for key in keys}


def _case_of(uow, timer) -> tuple:
    """(case or None, {stage: deadline} read by ``prepare`` or None: read them now)."""
    key = (timer["tenant_id"], timer["subject_id"])
    preloaded = uow.preloaded.get(PRELOADED, {}).pop(key, None)
    if preloaded is not None:
        return preloaded
    return repository.get_case(uow.conn, *key), None


def on_timer(uow, timer) -> None:
    if timer["kind"] == "sla_recompute":  # a policy recompute that did not finish (workflow.recompute)
        from . import recompute
        uow.preloaded.pop(PRELOADED, None)  # it changes other cases
        recompute.on_timer(uow, timer)
        return
    case, deadlines = _case_of(uow, timer)
    if case is None or case["status"] in ENDED:
        return
    if case["status"] == "resolved" and not _lives_after_resolution(uow, case, timer):
        return  # resolved: only the callback / owner acceptance stages still warn and breach (workflow.meeting)
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
    if deadlines is not None:
        deadline = deadlines.get(timer["key"])
    else:
        deadline = uow.conn.execute(select(case_deadlines).where(
            case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == timer["key"])).mappings().first()
    if deadline is None or deadline["met_at"] is not None:
        return
    local_due = deadline["due_at"].astimezone(ZoneInfo(case["timezone"]))
    body = _body(case) | {"stage": deadline["stage"], "due_at": deadline["due_at"].isoformat(),
                          # the first due time (an approved extension moved due_at): reports count against it
                          "original_due_at": (deadline["original_due_at"] or deadline["due_at"]).isoformat()}
    now = uow.clock.now()
    if timer["kind"] == "sla_warning":
        uow.publish("sla_warning", case["tenant_id"], body)
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "sla_warning", "workflow",
                                f"预警：{_stage(deadline['stage'])}将于 {local_due:%Y-%m-%d %H:%M} 到期")
    elif timer["kind"] == "sla_breach":
        uow.publish("sla_breached", case["tenant_id"], body)
        stage = deadline["stage"]
        label = stage if stage in ("first_contact", "resolution") else "other"
        uow.after_commit(BREACHES.labels("workflow", label).inc)  # counted once, however often the batch runs
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "sla_breached", "workflow",
                                f"超时：{_stage(deadline['stage'])}已于 {local_due:%Y-%m-%d %H:%M} 到期")
        _escalate(uow, case, reason=f"{deadline['stage']} breached")


on_timer.prepare = prepare


def _lives_after_resolution(uow, case, timer) -> bool:
    """A warning or breach timer of a stage met by ``accept``/``callback`` (workflow.meeting)."""
    if timer["kind"] not in ("sla_warning", "sla_breach"):
        return False
    from . import meeting
    return lives_after_resolution(meeting.actions_for(meeting.stage_actions(uow.conn, case), timer["key"]))


def case_policy(conn, case) -> sla.Policy | None:
    """The policy the case was opened under (``cases.policy_levels``): its ladder and warning point."""
    from .backfill import policy_for_case
    try:
        if case["policy_levels"]:
            return policy_for_case(conn, case["tenant_id"], case["policy_levels"])
        return policies.effective_policy(conn, case["tenant_id"], case["estate_code"], case["received_at"])
    except sla.PolicyInvalid:  # stored versions were validated; never let a timer fail on it
        log.exception("case %s: its policy does not build; default ladder and warning point", case["reference"])
        return None


def case_ladder(conn, case) -> tuple:
    policy = case_policy(conn, case)
    return policy.ladder if policy is not None else DEFAULT_LADDER


def warning_fraction(conn, case) -> float | None:
    policy = case_policy(conn, case) if case is not None else None
    return policy.warning_fraction(case["severity"]) if policy is not None else None


def _escalate(uow, case, reason: str, rung=None) -> None:
    """Climb one rung of the case's ladder (or jump to ``rung``); while the case stays open, the next rung
    follows after this rung's time to act. A ``regional_manager`` rung alerts head office, with the region."""
    policy = case_policy(uow.conn, case)
    rung = rung or next_rung(case["escalation_level"] or 0, policy.ladder if policy is not None else DEFAULT_LADDER)
    if rung is None:
        return
    now = uow.clock.now()
    uow.conn.execute(update(cases).where(cases.c.tenant_id == case["tenant_id"], cases.c.id == case["id"])
                     .values(escalation_level=rung.level))
    region = next((lv["scope"].split(":", 1)[1] for lv in case["policy_levels"] or ()
                   if lv["scope"].startswith("region:")), None)
    uow.publish("case_escalated", case["tenant_id"], _body(case) | {
        "level": rung.level, "role": rung.alert_role, "rung": rung.role, "reason": reason,
        **({"region": region} if rung.role == "regional_manager" else {})})
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "case_escalated", "workflow",
                            f"已升级至{rung.title_zh}（第 {rung.level} 级）")
    if not rung.is_top:
        _schedule_next_rung(uow, case, rung, policy, now)


def _schedule_next_rung(uow, case, rung, policy, now) -> None:
    """The climb above ``rung`` after its limit, counted from ``now`` like a stage's limit (``4bh`` inside business
    hours, ``1wd`` to the close of the next working day). A limit the calendar cannot count is not guessed: no
    climb is scheduled, and the timeline and the log say so."""
    try:
        if policy is None:
            due = now + dt.timedelta(minutes=rung.minutes_to_act)
        else:
            due, _ = rung.acts_by(policy.calendar, now)
    except (sla.CalendarUnavailable, sla.NoWorkingTime) as exc:
        log.error("case %s: next rung after %s not scheduled: %s", case["reference"], rung.role, exc)
        repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "escalation_not_scheduled", "workflow",
                                f"无法计算{rung.title_zh}的处理时限（{rung.limit}）：{exc}；不再自动升级")
        return
    timers.schedule(uow.conn, timer_table, case["tenant_id"], "escalation", case["id"], due, now,
                    key=f"level-{rung.level + 1}",
                    payload={"reason": f"level {rung.level} did not act within {rung.limit}"})


def _body(case) -> dict:
    return {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
            "estate_code": case["estate_code"]}


def _stage(stage: str) -> str:
    return "首次联系业主" if stage == "first_contact" else f"阶段「{stage}」"
