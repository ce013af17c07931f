"""Who approves an extension (延期) of how much, as policy data (``extensions.approval``). No framework imports.

Seed 002 and seed 001 part 3 §4: overrunning needs approval one level up, and a longer overrun a higher level.

```yaml
extensions:
  approval:                      # lowest rung first; each rung approves extensions up to its ``max``
    - {max: "2wd", role: cs_supervisor}
    - {max: "5wd", role: site_manager}
    - {role: head_office}        # the top: no max, approves any length
```

``max`` is written in the limit grammar and counted, with the case's calendar and business hours
(``engine.count``), from the stage's **original** due time (the first one the case was given), so a run of small
extensions adds up: the rung whose bound the new due time does not pass is the lowest that may approve. A bound
the calendar cannot count (a year it does not know) covers nothing: the next rung up decides. Roles climb
``cs_supervisor`` -> ``site_manager`` -> ``head_office`` (the account roles that decide; a group admin decides as
head office), each once; every rung but the top needs a ``max`` and the maxima grow (compared by nominal length:
``bh`` as hours, ``wd`` as days). Without the key: ``DEFAULT_APPROVAL``, a supervisor may approve any length,
which with the rule that the decider is above the requester is how extensions were decided before the key.
A region's or estate's ``extensions`` replaces the group's.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from .errors import CalendarUnavailable, NoWorkingTime
from .grammar import parse_limit
from .ladder import ROLES

APPROVAL_RANKS = {"cs_supervisor": 1, "site_manager": 2, "head_office": 3}  # domain/extensions.RANKS
DEFAULT_APPROVAL = ({"role": "cs_supervisor"},)
EXTENSIONS_KEYS = {"approval"}
RUNG_KEYS = {"role", "max"}
NOMINAL_MINUTES = {"m": 1, "h": 60, "bh": 60, "d": 24 * 60, "wd": 24 * 60}


@dataclass(frozen=True)
class ApprovalRung:
    role: str
    rank: int
    max: str | None  # as written ("2wd"); None: any length

    @property
    def title_zh(self) -> str:
        return ROLES[self.role][0]

    @property
    def title_en(self) -> str:
        return ROLES[self.role][1]


def approval_from(spec) -> tuple[ApprovalRung, ...]:
    """The rungs of a validated ``extensions`` mapping (None or without ``approval``: the default)."""
    items = (spec or {}).get("approval") or DEFAULT_APPROVAL
    return tuple(ApprovalRung(i["role"], APPROVAL_RANKS[i["role"]], i.get("max")) for i in items)


def required(rungs, calendar, original_due: dt.datetime, new_due: dt.datetime):
    """(the lowest rung that may approve moving a stage first due at ``original_due`` to ``new_due``, its bound
    instant or None)."""
    for rung in rungs:
        if rung.max is None:
            return rung, None
        from .engine import count  # engine imports policy, which imports this module
        try:
            bound, _ = count(calendar, original_due, parse_limit(rung.max))
        except (CalendarUnavailable, NoWorkingTime):
            continue  # not countable: it cannot be shown to cover the extension
        if new_due <= bound:
            return rung, bound
    return rungs[-1], None


def extensions_problems(value) -> list[tuple[tuple, str]]:
    """``[(path below "extensions", problem)]``; empty when usable."""
    if not isinstance(value, dict):
        return [((), "extensions must be a mapping with 'approval'")]
    problems = [((k,), f"unknown key {k!r}") for k in value if k not in EXTENSIONS_KEYS]
    if "approval" in value:
        problems += [(("approval",) + path, problem) for path, problem in _approval_problems(value["approval"])]
    return problems


def _approval_problems(value) -> list[tuple[tuple, str]]:
    if not isinstance(value, list) or not value:
        return [((), "approval must be a non-empty list of {role, max}, lowest rung first")]
    problems, order = [], list(APPROVAL_RANKS)
    last_rank, last_max = -1, None
    for i, rung in enumerate(value):
        if not isinstance(rung, dict):
            problems.append(((i,), "an approval rung must be a mapping {role, max}"))
            continue
        problems += [((i, k), f"unknown key {k!r}") for k in rung if k not in RUNG_KEYS]
        role = rung.get("role")
        if role not in APPROVAL_RANKS:
            problems.append(((i, "role"), f"unknown role {role!r} (known: {', '.join(APPROVAL_RANKS)})"))
        elif order.index(role) <= last_rank:
            problems.append(((i, "role"), f"{role} must come above {order[last_rank]} (approval climbs in the "
                                          f"order {' -> '.join(APPROVAL_RANKS)}, each role once)"))
        else:
            last_rank = order.index(role)
        top = i == len(value) - 1
        if "max" not in rung:
            if not top:
                problems.append(((i,), f"approval rung {role!r} has no 'max' (only the top rung has none)"))
            continue
        if top:
            problems.append(((i, "max"), "the top approval rung has no max (it approves any length)"))
            continue
        try:
            limit = parse_limit(rung["max"])
        except ValueError as exc:
            problems.append(((i, "max"), str(exc)))
            continue
        nominal = limit.amount * NOMINAL_MINUTES[limit.unit]
        if last_max is not None and nominal <= last_max[0]:
            problems.append(((i, "max"), f"max {rung['max']!r} must be longer than the rung below's "
                                         f"{last_max[1]!r} (a higher rung approves longer extensions)"))
        last_max = (nominal, rung["max"])
    return problems
