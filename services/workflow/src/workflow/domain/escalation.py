"""Pre-breach warnings and the escalation ladder. No framework imports.

Seed 001 part 3 escalates 当值领班 -> 分管主管 -> 物业大管家 -> 首席物业管家 -> 分公司总经理; on this platform those
are the roles cs_supervisor -> site_manager -> head_office above the handler (the owner of record stays the
person who received the complaint: first-question responsibility). Each rung has its own time to act before
the case climbs again, while the case's own deadlines keep running. The ladder is data: a site's policy may
replace ``DEFAULT_LADDER`` (the Workflow issue's estate ladder) without code changes.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

WARNING_FRACTION = 0.75  # warn when three quarters of a stage's time is used


@dataclass(frozen=True)
class Rung:
    level: int
    role: str
    title_zh: str
    title_en: str
    minutes_to_act: int | None  # None: the top of the ladder


DEFAULT_LADDER = (
    Rung(1, "cs_supervisor", "客服主管", "customer-service supervisor", 120),
    Rung(2, "site_manager", "项目经理", "site manager", 240),
    Rung(3, "head_office", "总部", "head office", None),
)


def warning_at(received_at: dt.datetime, due_at: dt.datetime, fraction: float = WARNING_FRACTION) -> dt.datetime:
    """When to warn for a stage: ``fraction`` of the time from receipt to its due time."""
    if not 0 < fraction < 1:
        raise ValueError("warning fraction must be between 0 and 1")
    return received_at + (due_at - received_at) * fraction


def next_rung(current_level: int, ladder=DEFAULT_LADDER) -> Rung | None:
    """The rung above ``current_level`` (0 = not escalated), or None at the top."""
    for rung in ladder:
        if rung.level == current_level + 1:
            return rung
    return None
