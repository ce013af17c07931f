"""KPI figures from summed rollup counts (``domain.facts.COUNTS``) and what the clock decides ("overdue now").
Plain functions: the same figures for the KPI page, the league table and the exports.

Percentages are 0-100 with one decimal, None when there is nothing to divide by. A figure that cannot be
measured is None with a note saying why; the page and the export show the note, never a made-up 0. Quality
records (nonconformity, CAPA) and complaints per 1,000 units are in ``domain.quality``.
"""
from __future__ import annotations

ESCALATION_LEVELS = (1, 2, 3)


def pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def first_contact(counts: dict, overdue_now: int) -> dict:
    """decided = on time + late + overdue now (cases still inside their limit do not count against a site)."""
    on_time, late, due = counts["first_contact_on_time"], counts["first_contact_late"], counts["first_contact_due"]
    return {"with_deadline": due, "on_time": on_time, "late": late, "overdue_now": overdue_now,
            "pending": max(due - on_time - late - overdue_now, 0),
            "by_proxy": counts.get("first_contact_proxy", 0),
            "on_time_pct": pct(on_time, on_time + late + overdue_now)}


def resolution(counts: dict, overdue_now: int) -> dict:
    """Resolved within limit: first resolution at or before the resolution deadline, over the cases decided
    (resolved with a deadline + past the deadline unresolved, cancelled cases left out)."""
    on_time, late, due = counts["resolved_on_time"], counts["resolved_late"], counts["resolution_due"]
    return {"with_deadline": due, "resolved": counts["resolved"], "on_time": on_time, "late": late,
            "overdue_now": overdue_now, "pending": max(due - on_time - late - overdue_now, 0),
            "on_time_pct": pct(on_time, on_time + late + overdue_now)}


def handling(counts: dict, p90_minutes: float | None) -> dict:
    """Working hours from receipt to the first resolution (workflow counts them on the site's calendar)."""
    n = counts["handling_count"]
    return {"measured": n, "unmeasured": counts["resolved"] - n,
            "avg_hours": round(counts["handling_minutes"] / n / 60, 1) if n else None,
            "p90_hours": round(p90_minutes / 60, 1) if p90_minutes is not None else None}


def callbacks(counts: dict) -> dict:
    """Coverage = resolved cases whose owner answered a callback / resolved; satisfaction = (very) satisfied /
    answered (neutral counts as answered, not satisfied)."""
    answered, satisfied, dissatisfied = counts["callback_answered"], counts["satisfied"], counts["dissatisfied"]
    return {"resolved": counts["resolved"], "called_back": counts["called_back"],
            "not_called_back": counts["resolved"] - counts["called_back"], "answered": answered,
            "satisfied": satisfied, "neutral": answered - satisfied - dissatisfied, "dissatisfied": dissatisfied,
            "coverage_pct": pct(counts["called_back"], counts["resolved"]),
            "satisfaction_pct": pct(satisfied, answered)}


def escalations(counts: dict) -> list[dict]:
    """Cases that reached each level of the ladder (a case escalated twice counts at both levels)."""
    return [{"level": level, "cases": counts[f"escalated_level_{level}"]} for level in ESCALATION_LEVELS]
