"""Time limits for a new case: site overrides inside the group's defaults. No framework imports.

Foundation scope: wall-clock limits in minutes per stage, resolved estate -> group -> built-in. The full policy
(severity schemes, working days, business hours, the statutory calendar) arrives with the workflow issue and
replaces ``resolve_limit`` without changing its callers.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

GROUP = "*"  # estate_code of a group-wide default
ANY_CHANNEL = "*"

# Seed 002 §4.1: web/WeChat/app complaints get an initial response within 1 hour; a residents' committee
# forward must be recorded and forwarded within 2 hours. Used when a tenant has configured nothing.
BUILTIN_MINUTES = {("first_contact", ANY_CHANNEL): 60, ("first_contact", "committee"): 120}


@dataclass(frozen=True)
class Limit:
    stage: str
    minutes: int
    source: str  # "estate", "group" or "builtin": shown in the explanation


@dataclass(frozen=True)
class Deadline:
    stage: str
    due_at: dt.datetime
    limit: Limit

    def explanation(self) -> str:
        where = {"estate": "项目自定时限", "group": "集团默认时限", "builtin": "系统默认时限（标准 002 §4.1）"}
        return f"{where[self.limit.source]}：受理后 {self.limit.minutes} 分钟内"


def resolve_limit(rows: list[tuple[str, str, str, int]], estate_code: str, channel: str, stage: str) -> Limit:
    """``rows`` are (estate_code, channel, stage, minutes). Most specific wins: estate+channel, estate, group+channel, group."""
    table = {(e, c, s): m for e, c, s, m in rows}
    for estate, chan, source in ((estate_code, channel, "estate"), (estate_code, ANY_CHANNEL, "estate"),
                                 (GROUP, channel, "group"), (GROUP, ANY_CHANNEL, "group")):
        minutes = table.get((estate, chan, stage))
        if minutes is not None:
            return Limit(stage, minutes, source)
    minutes = BUILTIN_MINUTES.get((stage, channel), BUILTIN_MINUTES[(stage, ANY_CHANNEL)])
    return Limit(stage, minutes, "builtin")


def first_contact_deadline(received_at: dt.datetime, limit: Limit) -> Deadline:
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    return Deadline(limit.stage, received_at + dt.timedelta(minutes=limit.minutes), limit)
