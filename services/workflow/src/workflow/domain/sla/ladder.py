"""The escalation ladder and the warning point as policy data (``escalation``, ``warning_at``). No framework imports.

```yaml
warning_at: 0.75                 # warn when this fraction of a stage's time is used (0 < x < 1)
escalation:                      # lowest rung first; each rung has ``limit`` to act before the case climbs on
  - {role: cs_supervisor, limit: "2h"}
  - {role: site_manager, limit: "4h"}
  - {role: regional_manager, limit: "8h"}
  - {role: head_office}          # the top: no limit
severities:
  major: {warning_at: 0.5, stages: [...]}   # a severity's own warning point wins over the top-level one
```

Rung limits use the whole stage grammar (``15m``, ``2h``, ``7d``, ``4bh``, ``3wd``), counted from the moment the
case reached the rung with the same calendar and business hours as the stages (``engine.count``): a breach still
tells the rung at any hour, and a ``4bh`` rung's time to act runs inside business hours only. ``warning_at`` is a
fraction of the stage's time or a limit (``"2h"``, ``"1wd"``): the warning comes when that much of the stage has
been used, counted from the receipt like the stage (``WarningPoint``); a limit that reaches the stage's due time
(or a year the calendar cannot count) falls back to the default fraction. Roles climb in the order of ``ROLES``; a ladder
may skip rungs (a small site without a supervisor) but not go down. Absent keys mean today's defaults
(``DEFAULT_LADDER``: supervisor 2 h, site manager 4 h, head office; ``DEFAULT_WARNING_AT`` 0.75), so documents
written before these keys existed behave as before. An override's ``escalation`` replaces the whole ladder.

There is no regional-manager account role: a ``regional_manager`` rung tells **head office** (``alert_role``),
with the case's region in the event (workflow/escalation.py), until accounts can be scoped to a region.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from .errors import CalendarUnavailable, NoWorkingTime
from .grammar import Limit, parse_limit

# role -> (title zh-CN, title en), in climbing order
ROLES = {
    "cs_supervisor": ("客服主管", "customer-service supervisor"),
    "site_manager": ("项目经理", "site manager"),
    "regional_manager": ("区域经理", "regional manager"),
    "head_office": ("总部", "head office"),
}
ALERT_ROLE = {"regional_manager": "head_office"}  # no such account role (gateway tables.ROLES)
RUNG_KEYS = {"role", "limit"}
log = logging.getLogger(__name__)
DEFAULT_WARNING_AT = 0.75
DEFAULT_ESCALATION = ({"role": "cs_supervisor", "limit": "2h"}, {"role": "site_manager", "limit": "4h"},
                      {"role": "head_office"})


@dataclass(frozen=True)
class Rung:
    level: int
    role: str
    title_zh: str
    title_en: str
    minutes_to_act: int | None  # fixed minutes of the limit (None: the top, or a ``wd`` limit: see ``acts_by``)
    limit: str | None = None  # as written in the policy ("2h", "4bh"); None: the top of the ladder

    @property
    def is_top(self) -> bool:
        return self.limit is None

    def acts_by(self, calendar, reached_at: dt.datetime) -> tuple[dt.datetime, dict] | None:
        """When the case climbs on if this rung does not act: its limit counted from ``reached_at`` on the
        policy's calendar (engine.count), with the detail for the explanation; None at the top."""
        if self.limit is None:
            return None
        from .engine import count  # engine imports policy, which imports this module
        return count(calendar, reached_at, parse_limit(self.limit))

    @property
    def alert_role(self) -> str:
        """The account role told of the climb (``case_escalated.role``)."""
        return ALERT_ROLE.get(self.role, self.role)


def ladder_from(spec) -> tuple[Rung, ...]:
    """The rungs of a validated ``escalation`` list (None or empty: the default ladder), levels from 1."""
    rungs = []
    for level, item in enumerate(spec or DEFAULT_ESCALATION, 1):
        limit = item.get("limit")
        zh, en = ROLES[item["role"]]
        rungs.append(Rung(level, item["role"], zh, en, parse_limit(limit).minutes if limit else None, limit))
    return tuple(rungs)


@dataclass(frozen=True)
class WarningPoint:
    """``warning_at`` written as a limit: warn when that much of a stage is used, counted like the stage."""
    limit: Limit
    calendar: object  # workdays.WorkCalendar

    def at(self, start: dt.datetime, due_at: dt.datetime) -> dt.datetime:
        from .engine import count
        try:
            warn, _ = count(self.calendar, start, self.limit)
        except (CalendarUnavailable, NoWorkingTime) as exc:
            log.warning("warning point %s not countable from %s (%s): default fraction", self.limit, start, exc)
            warn = due_at
        if warn >= due_at:  # a point at or past the due time would never warn first
            return start + (due_at - start) * DEFAULT_WARNING_AT
        return warn

    def __str__(self) -> str:
        return str(self.limit)


def warning_point(value, calendar):
    """A validated ``warning_at`` value as the policy uses it: a float fraction or a ``WarningPoint``."""
    if isinstance(value, str):
        return WarningPoint(parse_limit(value), calendar)
    return value


def ladder_problems(value) -> list[tuple[tuple, str]]:
    """``[(path below "escalation", problem)]`` for an ``escalation`` value; empty when usable."""
    if not isinstance(value, list) or not value:
        return [((), "escalation must be a non-empty list of {role, limit}, lowest rung first")]
    problems, ranks = [], list(ROLES)
    last_rank = -1
    for i, rung in enumerate(value):
        if not isinstance(rung, dict):
            problems.append(((i,), "a rung must be a mapping {role, limit}"))
            continue
        problems += [((i, k), f"unknown key {k!r}") for k in rung if k not in RUNG_KEYS]
        role = rung.get("role")
        if role not in ROLES:
            problems.append(((i, "role"), f"unknown role {role!r} (known: {', '.join(ROLES)})"))
        elif ranks.index(role) <= last_rank:
            problems.append(((i, "role"), f"{role} must come above {ranks[last_rank]} (the ladder climbs in the "
                                          f"order {' -> '.join(ROLES)}, each role once)"))
        else:
            last_rank = ranks.index(role)
        top = i == len(value) - 1
        if "limit" not in rung:
            if not top:
                problems.append(((i,), f"rung {role!r} has no 'limit' (only the top rung has none)"))
            continue
        if top:
            problems.append(((i, "limit"), "the top rung has no limit (there is nobody above it)"))
            continue
        try:
            parse_limit(rung["limit"])
        except ValueError as exc:
            problems.append(((i, "limit"), str(exc)))
    return problems


def warning_problem(value) -> str | None:
    """The problem with a ``warning_at`` value (a fraction or a limit such as "2h"/"1wd"), or None."""
    if isinstance(value, str):
        try:
            parse_limit(value)
        except ValueError as exc:
            return f"warning_at must be a fraction between 0 and 1 or a limit ('2h', '4bh', '1wd'): {exc}"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        return f"warning_at must be a fraction between 0 and 1 (e.g. 0.75), got {value!r}"
    return None
