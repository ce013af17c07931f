"""Repeating stages (``repeat: true`` in a policy; seed 002: moderate complaints get a progress update every
12 hours until resolved). When an action meets such a stage, the stage is armed again: its next due counted from
that moment with the same limit, under the policy the case was opened under, with new warning and breach timers
and the explanation of the new due. A breached occurrence stays unmet (and escalates) until the next update."""
from __future__ import annotations

import logging

from sqlalchemy import update

from . import backfill, escalation
from .domain.sla import CalendarUnavailable, NoWorkingTime, render, restart
from .tables import case_deadlines

log = logging.getLogger(__name__)


def rearm(uow, case, met: list[str], now) -> list[dict]:
    """The met stages that repeat, armed again from ``now``: ``[{"stage", "due_at"}]``."""
    if not met or not case["policy_levels"]:
        return []
    policy = backfill.policy_for_case(uow.conn, case["tenant_id"], case["policy_levels"])
    severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
    repeating = {s.name: s for s in policy.stages_for(severity, case["category"], case["channel"]) if s.repeat}
    armed = []
    for name in met:
        stage = repeating.get(name)
        if stage is None:
            continue
        try:
            deadline = restart(policy, severity, stage, now)
        except (CalendarUnavailable, NoWorkingTime) as exc:  # not guessed: the stage stays met, and it is said
            log.error("case %s: repeating stage %s not armed again: %s", case["reference"], name, exc)
            continue
        uow.conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == name).values(
            due_at=deadline.due_at, met_at=None, explanation=render(deadline.explanation),
            explanation_en=render(deadline.explanation, "en"), explanation_data=deadline.explanation,
            limit_minutes=int((deadline.due_at - case["received_at"]).total_seconds() // 60)))
        escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], now,
                                        [{"stage": name, "due_at": deadline.due_at}])
        armed.append({"stage": name, "due_at": deadline.due_at})
    return armed
