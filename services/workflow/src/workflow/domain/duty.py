"""The duty roster (值班表) of an estate and who is on duty at a given time. No framework imports.

Seed 001 part 5 §3.4/§4.1.1: after hours the fire-control and monitoring centre (消防监控中心) takes the calls.
A roster is a list of entries ``{person, post, weekdays, date_from, date_to, note}``: ``person`` is a user name
as the gateway knows it, ``post`` what the person stands for (default 「值班」, e.g. 「消防监控中心」),
``weekdays`` ISO weekdays 1 (Monday) .. 7 (Sunday) or empty for every day, ``date_from``/``date_to`` an
optional inclusive range of estate-local dates. The entry covering a night is the most specific one: an entry
with a date range (a holiday rota, a swap) beats a weekday entry, which beats a standing entry; entries of the
same kind are taken in the roster's order. The night's date is ``offhours.duty_date``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

MAX_ENTRIES = 100
DEFAULT_POST = "值班"


class RosterInvalid(ValueError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Entry:
    person: str
    post: str
    weekdays: tuple[int, ...] = ()
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    note: str = ""

    def covers(self, day: dt.date) -> bool:
        if self.weekdays and day.isoweekday() not in self.weekdays:
            return False
        if self.date_from and day < self.date_from:
            return False
        return not (self.date_to and day > self.date_to)

    @property
    def specificity(self) -> int:
        return 2 if (self.date_from or self.date_to) else 1 if self.weekdays else 0

    def as_dict(self) -> dict:
        return {"person": self.person, "post": self.post, "weekdays": list(self.weekdays),
                "date_from": self.date_from.isoformat() if self.date_from else None,
                "date_to": self.date_to.isoformat() if self.date_to else None, "note": self.note}


def parse_roster(raw) -> list[Entry]:
    """Validated entries; ``RosterInvalid`` names the field at fault as ``entries[i].field``."""
    if not isinstance(raw, list):
        raise RosterInvalid("entries", "entries must be a list")
    if len(raw) > MAX_ENTRIES:
        raise RosterInvalid("entries", f"at most {MAX_ENTRIES} entries")
    return [_entry(item, f"entries[{i}]") for i, item in enumerate(raw)]


def _entry(item, path: str) -> Entry:
    if not isinstance(item, dict):
        raise RosterInvalid(path, "each entry must be an object")
    person = _text(item.get("person"), f"{path}.person", 100, required=True)
    post = _text(item.get("post"), f"{path}.post", 60) or DEFAULT_POST
    note = _text(item.get("note"), f"{path}.note", 200)
    weekdays = item.get("weekdays") or []
    if not isinstance(weekdays, list) or any(isinstance(d, bool) or not isinstance(d, int) or not 1 <= d <= 7
                                             for d in weekdays):
        raise RosterInvalid(f"{path}.weekdays", "weekdays are ISO weekdays 1 (Monday) to 7 (Sunday)")
    date_from = _date(item.get("date_from"), f"{path}.date_from")
    date_to = _date(item.get("date_to"), f"{path}.date_to")
    if date_from and date_to and date_to < date_from:
        raise RosterInvalid(f"{path}.date_to", "date_to is before date_from")
    return Entry(person, post, tuple(sorted(set(weekdays))), date_from, date_to, note)


def _text(value, field: str, limit: int, required: bool = False) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise RosterInvalid(field, f"{field} must be text")
    value = value.strip()
    if required and not value:
        raise RosterInvalid(field, f"{field} is required")
    if len(value) > limit:
        raise RosterInvalid(field, f"{field} is longer than {limit} characters")
    return value


def _date(value, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise RosterInvalid(field, f"{field} is not a date (YYYY-MM-DD)") from None


def on_duty(entries: list[Entry], day: dt.date) -> Entry | None:
    """The entry covering the night of ``day`` (see the module docstring), None when nobody is rostered."""
    best = None
    for entry in entries:
        if entry.covers(day) and (best is None or entry.specificity > best.specificity):
            best = entry
    return best
