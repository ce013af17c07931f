"""Errors of the SLA engine: a policy that does not validate, and a date the calendar cannot answer for."""
from __future__ import annotations


class PolicyInvalid(ValueError):
    """One or more problems in a policy document; each names its path and, when parsed from text, its line."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        super().__init__("; ".join(_one(p) for p in problems))


def _one(p: dict) -> str:
    where = f"line {p['line']}: " if p.get("line") else ""
    return f"{where}{p['path'] or '(document)'}: {p['problem']}"


class CalendarUnavailable(ValueError):
    """The statutory calendar has no data for a year a deadline needs: an error, never a guess."""

    def __init__(self, calendar: str, year: int, detail: str = ""):
        self.calendar, self.year = calendar, year
        super().__init__(f"calendar {calendar!r} has no data for {year}"
                         f"{': ' + detail if detail else ''}; load the State Council's {year} holiday arrangement "
                         f"(python -m workflow.statutory import FILE, docs/sla.md) or install a chinese-calendar "
                         f"release that has it")


class NoWorkingTime(ValueError):
    """No working day within a year of the start: the policy's calendar leaves nothing to count."""
