"""Automatic upgrades and major cases. No framework imports.

- Seed 001 part 3 §4: a valid complaint **unresolved for a month becomes major** (重大投诉). A case below the top
  of its policy's severity scheme gets a timer at receipt + ``UPGRADE_AFTER``; when it fires on a case that is
  still not resolved, closed or cancelled, the severity becomes the top level.
- The deadlines of the new severity count from the upgrade (a month-old case cannot meet a 15-minute stage
  counted from receipt): a stage already met stays met; a pending stage takes the earlier of its current due
  and the new one (an upgrade never gives more time); a stage the old severity did not have is added.
- Seed 002 §5.2 / DOMAIN "Routing": a major case (at opening or by upgrade) is reported to the site manager at
  once and a special team (customer service, responsible department, legal) is formed within 2 hours: the
  ``special_team`` stage. A policy whose top severity has no such stage (seed 001/000) gets it with seed 002's
  limit ``SPECIAL_TEAM_LIMIT``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UPGRADE_AFTER = dt.timedelta(days=30)
SPECIAL_TEAM = "special_team"
SPECIAL_TEAM_LIMIT = "2h"


def top(order) -> str | None:
    """The highest severity of a ranked scheme (lowest first), None when the scheme cannot be ranked."""
    return order[-1] if order else None


def is_major(order, severity: str | None) -> bool:
    return bool(order) and severity == order[-1]


def needs_upgrade_timer(order, severity: str | None) -> bool:
    """A case gets the month timer when its scheme is ranked and it is not at the top already."""
    return bool(order) and severity in order and severity != order[-1]


def upgrade_at(received_at: dt.datetime) -> dt.datetime:
    return received_at + UPGRADE_AFTER


@dataclass(frozen=True)
class Plan:
    moved: dict  # stage -> new due (pending stages brought forward)
    added: dict  # stage -> due (stages the new severity adds)
    kept: tuple  # stages left as they were (met, or already due sooner)


def plan(existing: dict, computed: dict) -> Plan:
    """``existing`` {stage: (due_at, met_at)}, ``computed`` {stage: due_at} under the new severity."""
    moved, added, kept = {}, {}, []
    for stage, due in computed.items():
        if stage not in existing:
            added[stage] = due
            continue
        current, met = existing[stage]
        if met is None and due < current:
            moved[stage] = due
        else:
            kept.append(stage)
    return Plan(moved, added, tuple(kept))


def upgrade_note(old_label: str, new_label: str, received_at_local: str) -> str:
    return (f"自动升级：投诉自 {received_at_local} 受理，一个月仍未解决，严重程度由「{old_label}」升为「{new_label}」"
            f"（重大投诉，制度 001）；新时限自升级时起算")


def major_note(special_team_due_local: str | None) -> str:
    text = "重大投诉：已立即通知项目经理"
    if special_team_due_local:
        text += f"，须于 {special_team_due_local} 前成立专项处理小组（客服、责任部门、法务）"
    return text
