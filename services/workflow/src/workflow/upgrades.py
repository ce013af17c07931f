"""Automatic upgrades (unresolved for a month -> major) and what a major case sets off (domain/upgrades.py).

``at_opening`` is called by ``handlers.open_case`` before the deadlines are stored: a major case gets the
``special_team`` stage if its policy lacks it; ``after_opening`` then schedules the month timer (kind
``upgrade``) for a case below the top, or announces a major case. ``on_timer`` (dispatched by
``escalation.on_timer`` inside the timer's transaction) upgrades a case that is still open (``rearm``: a case
reopened after a dissatisfied callback gets the timer again, workflow.callbacks): severity to the top,
deadlines of the new severity counted from the upgrade for the stages not met yet, timers rescheduled, version
+ 1, timeline and ``case_upgraded``; then ``major_case_opened``.

Events: ``case_upgraded`` {case_id, complaint_id, reference, estate_code, from_severity, severity, reason
("unresolved_30_days"), received_at, at, deadlines: [{stage, due_at}]}; ``major_case_opened`` {case_id,
complaint_id, reference, estate_code, estate_name, severity, category, reason ("opened" | "repeat" |
"upgraded"), assignee, department, notify_role ("site_manager"), special_team_due_at, at}: notify tells the
estate's site manager at once.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import update

from estatedesk_common import timers

from . import backfill, escalation, extensions, policies, repository
from .domain import repeats, sla
from .domain import upgrades as rules
from .tables import case_deadlines, cases
from .tables import timers as timer_table

TIMER_KIND = "upgrade"
SPECIAL_TEAM_LABEL = "成立专项处理小组"


def ranking(policy):
    return repeats.ranking(policy.severity_order, policy.severities)


def special_team_row(policy, severity: str, start: dt.datetime, received_at: dt.datetime, reason: str | None):
    """A ``case_deadlines`` row for seed 002's special team, counted from ``start``."""
    stage = sla.Stage(rules.SPECIAL_TEAM, sla.parse_limit(rules.SPECIAL_TEAM_LIMIT), label=SPECIAL_TEAM_LABEL,
                      source="builtin")
    deadline = sla.restart(policy, severity, stage, start)
    deadline.explanation["start_reason"] = reason
    return policies.deadline_rows([deadline], received_at, policy.version_label)[0]


def at_opening(policy, severity: str, rows: list[dict], received_at: dt.datetime) -> bool:
    """Whether the new case is major; a major case's ``rows`` get the special team stage if the policy lacks it."""
    if not rules.is_major(ranking(policy), severity):
        return False
    if not any(r["stage"] == rules.SPECIAL_TEAM for r in rows):
        rows.append(special_team_row(policy, severity, received_at, received_at, None))
    return True


def after_opening(uow, case: dict, policy, major: bool, reason: str, rows: list[dict]) -> None:
    now = uow.clock.now()
    if major:
        announce_major(uow, case, reason, rows, now)
    elif rules.needs_upgrade_timer(ranking(policy), case["severity"]):
        timers.schedule(uow.conn, timer_table, case["tenant_id"], TIMER_KIND, case["id"],
                        rules.upgrade_at(case["received_at"]), now, key="major")


def rearm(uow, case: dict, now) -> dt.datetime | None:
    """A reopened case below the top gets its month timer again: resolving it cancelled the timer (or it fired as
    a no-op while the case was resolved). Due a month after receipt, or at once when that month is over: a case
    reopened after a month is still unresolved after a month. Returns the due time (None: no upgrade to come)."""
    try:
        policy = _case_policy(uow.conn, case)
    except sla.PolicyInvalid:
        return None
    if not rules.needs_upgrade_timer(ranking(policy), case["severity"]):
        return None
    timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=TIMER_KIND)
    due = max(rules.upgrade_at(case["received_at"]), now)
    timers.schedule(uow.conn, timer_table, case["tenant_id"], TIMER_KIND, case["id"], due, now, key="major")
    return due


def _case_policy(conn, case):
    if case["policy_levels"]:
        return backfill.policy_for_case(conn, case["tenant_id"], case["policy_levels"])
    return policies.effective_policy(conn, case["tenant_id"], case["estate_code"], case["received_at"])


def announce_major(uow, case: dict, reason: str, rows: list[dict], now) -> None:
    team = next((r for r in rows if r["stage"] == rules.SPECIAL_TEAM and not r.get("met_at")), None)
    zone = ZoneInfo(case["timezone"])
    uow.publish("major_case_opened", case["tenant_id"], {
        "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "estate_name": case["estate_name"], "severity": case["severity"],
        "category": case["category"], "reason": reason, "assignee": case.get("assignee"),
        "department": case.get("department"), "notify_role": "site_manager",
        "special_team_due_at": team["due_at"].isoformat() if team else None, "at": now.isoformat()})
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "major_case_opened", "workflow",
                            rules.major_note(f"{team['due_at'].astimezone(zone):%Y-%m-%d %H:%M}" if team else None))


def on_timer(uow, case) -> None:
    """The month is up: upgrade the case to the top severity (see the module docstring)."""
    conn, tenant_id = uow.conn, case["tenant_id"]
    policy = _case_policy(conn, case)
    order = ranking(policy)
    target = rules.top(order)
    if target is None or case["severity"] == target:
        return
    now = uow.clock.now()
    stages = policy.stages_for(target, case["category"], case["channel"])
    failures: list = []
    computed = sla.compute(policy, case["received_at"], target, case["category"], case["channel"], failures,
                           starts={s.name: (now, "upgrade") for s in stages if not s.after})
    rows = {r["stage"]: r for r in policies.deadline_rows(computed, case["received_at"], policy.version_label)}
    if rules.SPECIAL_TEAM not in rows:
        rows[rules.SPECIAL_TEAM] = special_team_row(policy, target, now, case["received_at"], "upgrade")
    existing = {d["stage"]: (d["due_at"], d["met_at"]) for d in repository.deadlines(conn, tenant_id, case["id"])}
    plan = rules.plan(existing, {stage: row["due_at"] for stage, row in rows.items()})
    for stage, due in plan.moved.items():
        row = rows[stage]
        conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == stage).values(
            due_at=due, limit_spec=row["limit_spec"], limit_minutes=row["limit_minutes"],
            explanation=row["explanation"], explanation_en=row["explanation_en"],
            explanation_data=row["explanation_data"], policy_version=row["policy_version"]))
        extensions.reschedule(uow, case, stage, due, now)
    added = [rows[stage] for stage in plan.added]
    for row in added:
        repository.add_deadline(conn, tenant_id, case["id"], row)
    escalation.schedule_case_timers(uow, tenant_id, case["id"], now, added)
    conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"])
                 .values(severity=target, version=cases.c.version + 1))
    zone = ZoneInfo(case["timezone"])
    labels = {key: spec.get("label") or key for key, spec in policy.severities.items()}
    changed = sorted(set(plan.moved) | set(plan.added))
    text = rules.upgrade_note(labels.get(case["severity"], case["severity"]), labels[target],
                              f"{case['received_at'].astimezone(zone):%Y-%m-%d %H:%M}")
    text += "".join(f"；「{s}」时限 {rows[s]['due_at'].astimezone(zone):%Y-%m-%d %H:%M}" for s in changed)
    text += "".join(f"；⚠ 阶段「{f['stage']}」无法计算时限：{f['error']}" for f in failures)
    repository.add_timeline(conn, tenant_id, case["id"], now, "case_upgraded", "workflow", text)
    uow.publish("case_upgraded", tenant_id, {
        "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "from_severity": case["severity"], "severity": target,
        "reason": "unresolved_30_days", "received_at": case["received_at"].isoformat(), "at": now.isoformat(),
        "deadlines": [{"stage": s, "due_at": rows[s]["due_at"].isoformat()} for s in changed]})
    in_force = [{"stage": s, "due_at": plan.moved.get(s) or plan.added.get(s) or existing[s][0],
                 "met_at": existing.get(s, (None, None))[1]} for s in rows]
    announce_major(uow, dict(case) | {"severity": target}, "upgraded", in_force, now)
