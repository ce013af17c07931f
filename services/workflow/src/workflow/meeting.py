"""Meeting a case's deadlines by an action, with the stages' ``met_by`` from the policy the case was opened under
(domain/sla/meeting.py: a stage the policy does not name, such as the built-in special team, falls back to the
defaults for its name).

``meet`` marks the pending stages an action meets and cancels their timers. ``stop_timers`` is what a resolution,
closing or cancellation does to the rest: closed and cancelled cases stop every timer; a resolved case keeps the
warning and breach timers of the pending stages that live after resolution (met by ``accept`` or ``callback``:
``callback``, seed 004's ``owner_acceptance``), so they still warn and breach until met or the case is closed.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, not_, update

from estatedesk_common import timers

from . import backfill, policies, repository
from .domain import sla
from .domain.sla.meeting import lives_after_resolution, met_by, stages_met
from .tables import case_deadlines
from .tables import timers as timer_table

STAGE_TIMERS = ("sla_warning", "sla_breach")

log = logging.getLogger(__name__)


def stage_actions(conn, case) -> dict:
    """{stage: actions that meet it} for the case's severity, category and channel under its policy."""
    try:
        if case["policy_levels"]:
            policy = backfill.policy_for_case(conn, case["tenant_id"], case["policy_levels"])
        else:
            policy = policies.effective_policy(conn, case["tenant_id"], case["estate_code"], case["received_at"])
        severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
        return {s.name: s.actions for s in policy.stages_for(severity, case["category"], case["channel"])}
    except sla.PolicyInvalid as exc:  # a stored version that no longer builds: the defaults by name
        log.error("case %s: policy not readable (%s); stages met by their default actions", case["reference"], exc)
        return {}


def actions_for(actions_of: dict, stage: str) -> tuple:
    return actions_of.get(stage, met_by(stage))


def meet(conn, case, action: str, now, actions_of: dict | None = None) -> list[str]:
    """Mark the case's pending stages that ``action`` meets as met ``now``; cancel their timers. The names."""
    if actions_of is None:
        actions_of = stage_actions(conn, case)
    pending = [d["stage"] for d in repository.deadlines(conn, case["tenant_id"], case["id"]) if d["met_at"] is None]
    met = stages_met(action, actions_of, pending)
    if met:
        conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage.in_(met)).values(met_at=now))
    for stage in met:
        timers.cancel(conn, timer_table, case["tenant_id"], case["id"], now, key=stage)
    return met


def after_resolution(conn, case, actions_of: dict) -> list[str]:
    """The case's pending stages that live on after resolution."""
    return [d["stage"] for d in repository.deadlines(conn, case["tenant_id"], case["id"])
            if d["met_at"] is None and lives_after_resolution(actions_for(actions_of, d["stage"]))]


def stop_timers(conn, case, status: str, now, actions_of: dict) -> list[str]:
    """Cancel the case's timers when it becomes ``status`` (resolved, closed, cancelled); a resolved case keeps
    the warning/breach timers of its post-resolution stages. Returns those stages."""
    keep = after_resolution(conn, case, actions_of) if status == "resolved" else []
    where = [timer_table.c.tenant_id == case["tenant_id"], timer_table.c.subject_id == case["id"],
             timer_table.c.fired_at.is_(None), timer_table.c.cancelled_at.is_(None)]
    if keep:
        where.append(not_(and_(timer_table.c.kind.in_(STAGE_TIMERS), timer_table.c.key.in_(keep))))
    conn.execute(update(timer_table).where(*where).values(cancelled_at=now))
    return keep
