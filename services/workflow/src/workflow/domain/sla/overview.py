"""The ladder, the warning point and the extension approval rungs of a policy, explained for the preview.
No framework imports.

Rung limits and approval maxima are counted with the same code as stages (``engine.count``), so the preview shows
real instants for a hypothetical case: the first rung is reached when the earliest stage breaches, each rung
above when the one below has used its limit; approval bounds are counted from the resolution's due time (or the
last stage's) as if that were the stage's original due time.
"""
from __future__ import annotations

import datetime as dt

from .engine import count, limit_explanation
from .errors import CalendarUnavailable, NoWorkingTime
from .explain import render
from .grammar import parse_limit


def _explained(policy, start: dt.datetime, limit: str, source: str, reason: str) -> dict:
    cal = policy.calendar
    try:
        due, detail = count(cal, start, parse_limit(limit))
    except (CalendarUnavailable, NoWorkingTime) as exc:
        return {"due_at": None, "error": str(exc)}
    record = dict(limit_explanation(cal, start, parse_limit(limit), detail, due, source), start_reason=reason)
    return {"due_at": due.astimezone(cal.zone).isoformat(), "explanation": render(record),
            "explanation_en": render(record, "en"), "details": record}


def ladder(policy, first_breach: dt.datetime | None) -> list[dict]:
    """``[{level, role, title, title_en, limit, reached_at?, acts_by?, explanation?}]`` from the first breach."""
    out, reached = [], first_breach
    for rung in policy.ladder:
        item = {"level": rung.level, "role": rung.role, "title": rung.title_zh, "title_en": rung.title_en,
                "limit": rung.limit, "reached_at": reached.astimezone(policy.calendar.zone).isoformat()
                if reached else None}
        if rung.limit is not None and reached is not None:
            counted = _explained(policy, reached, rung.limit, f"ladder:{rung.role}", "escalated")
            item.update({"acts_by": counted.pop("due_at")}, **counted)
            reached = dt.datetime.fromisoformat(item["acts_by"]) if item["acts_by"] else None
        out.append(item)
    return out


def approval(policy, original_due: dt.datetime | None) -> list[dict]:
    """``[{role, title, title_en, max, up_to?, explanation?}]``: who approves how long an extension."""
    out = []
    for rung in policy.extension_approval:
        item = {"role": rung.role, "title": rung.title_zh, "title_en": rung.title_en, "max": rung.max}
        if rung.max is not None and original_due is not None:
            counted = _explained(policy, original_due, rung.max, f"extension:{rung.role}", "original_due")
            item.update({"up_to": counted.pop("due_at")}, **counted)
        out.append(item)
    return out


def warning(policy, severity: str, start: dt.datetime, due: dt.datetime) -> str:
    """When a stage counted from ``start`` and due at ``due`` warns (ladder.WarningPoint or a fraction)."""
    from ..escalation import warning_at  # domain/escalation imports this package
    return warning_at(start, due, policy.warning_fraction(severity)).astimezone(policy.calendar.zone).isoformat()
