"""Pre-breach warnings and the escalation ladder. No framework imports.

Seed 001 part 3 escalates 当值领班 -> 分管主管 -> 物业大管家 -> 首席物业管家 -> 分公司总经理; on this platform those
are the roles cs_supervisor -> site_manager -> head_office above the handler (the owner of record stays the
person who received the complaint: first-question responsibility). Each rung has its own time to act before
the case climbs again, while the case's own deadlines keep running. The ladder and the warning point are policy
data (``escalation``, ``warning_at``: ``sla/ladder.py``, layered group -> region -> estate like the stages); a
case climbs the ladder of the policy it was opened under. ``DEFAULT_LADDER`` and ``WARNING_FRACTION`` are what a
policy without those keys gets.
"""
from __future__ import annotations

import datetime as dt

from .sla.ladder import DEFAULT_WARNING_AT, ROLES, Rung, ladder_from

WARNING_FRACTION = DEFAULT_WARNING_AT  # warn when three quarters of a stage's time is used
DEFAULT_LADDER = ladder_from(None)  # supervisor 2 h -> site manager 4 h -> head office


def warning_at(received_at: dt.datetime, due_at: dt.datetime, fraction=WARNING_FRACTION) -> dt.datetime:
    """When to warn for a stage: ``fraction`` (None: the default) of the time from receipt to its due time, or
    a ``WarningPoint`` (``warning_at`` written as a limit: that much counted from receipt, sla/ladder.py)."""
    if hasattr(fraction, "at"):
        return fraction.at(received_at, due_at)
    fraction = WARNING_FRACTION if fraction is None else fraction
    if not 0 < fraction < 1:
        raise ValueError("warning fraction must be between 0 and 1")
    return received_at + (due_at - received_at) * fraction


def next_rung(current_level: int, ladder=DEFAULT_LADDER) -> Rung | None:
    """The rung above ``current_level`` (0 = not escalated), or None at the top."""
    for rung in ladder:
        if rung.level == current_level + 1:
            return rung
    return None


def rung_at_least(role: str, ladder=DEFAULT_LADDER) -> Rung | None:
    """The lowest rung of ``ladder`` at or above ``role`` (a ladder may skip a role), or None."""
    order = list(ROLES)
    return next((r for r in ladder if order.index(r.role) >= order.index(role)), None)
