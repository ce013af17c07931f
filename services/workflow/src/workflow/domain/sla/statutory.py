"""The mainland statutory calendar (法定节假日 and 调休 make-up working days), year by year.

Two sources, in this order:
1. **Years an operator loaded** (``load``/``install``): the State Council publishes next year's arrangement each
   autumn (国务院办公厅关于 YYYY 年部分节假日安排的通知), often before a ``chinese-calendar`` release carries it.
   An operator writes it down in the year document below and imports it (``python -m workflow.statutory import``);
   every workflow process picks it up within a minute. A loaded year wins over the package, so a correction can
   be made without waiting for a release.
2. **The ``chinese-calendar`` package** for the years it knows.

A year neither knows raises ``CalendarUnavailable``: a deadline is never computed from a guess.

Year document (YAML or JSON)::

    calendar: cn
    year: 2027
    source: 国务院办公厅关于2027年部分节假日安排的通知
    holidays:                       # days off, each range inclusive
      - {name: 元旦, from: 2027-01-01, to: 2027-01-03}
    makeup_workdays:                # weekend days that are working days (调休)
      - {name: 春节, date: 2027-02-07}

The registry below is process-wide reference data, like the package's own tables: the service refreshes it
from its database (``workflow.statutory.StatutoryCalendars``); the domain only reads it.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass

from .errors import CalendarUnavailable, PolicyInvalid

MAX_HOLIDAY_DAYS = 40  # per year; the statutory total is 13 days plus the bridged weekends


@dataclass(frozen=True)
class StatutoryYear:
    calendar: str
    year: int
    source: str
    holidays: dict  # date -> name
    makeup_workdays: dict  # date -> name

    def day(self, date: dt.date) -> tuple[bool, str | None]:
        """(working, holiday name) the way ``chinese_calendar`` answers it."""
        if date in self.holidays:
            return False, self.holidays[date]
        if date in self.makeup_workdays:
            return True, self.makeup_workdays[date]
        return date.weekday() < 5, None

    def document(self) -> dict:
        """The year as a document (ranges joined again), for export and storage."""
        return {"calendar": self.calendar, "year": self.year, "source": self.source,
                "holidays": _ranges(self.holidays),
                "makeup_workdays": [{"name": name, "date": day.isoformat()}
                                    for day, name in sorted(self.makeup_workdays.items())]}


def parse_year(doc) -> StatutoryYear:
    """Validate a year document into a ``StatutoryYear``; ``PolicyInvalid`` lists every problem by path."""
    problems: list[dict] = []

    def bad(path, problem):
        problems.append({"path": path, "problem": problem})

    if not isinstance(doc, dict):
        raise PolicyInvalid([{"path": "", "problem": "a year document must be a mapping"}])
    for key in sorted(set(doc) - {"calendar", "year", "source", "holidays", "makeup_workdays"}):
        bad(key, "unknown key (a typo would silently drop days)")
    calendar = doc.get("calendar", "cn")
    if calendar != "cn":
        bad("calendar", "only the mainland calendar 'cn' can be loaded")
    year = doc.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        bad("year", "must be a year between 2000 and 2100")
        raise PolicyInvalid(problems)
    source = doc.get("source")
    if not isinstance(source, str) or not source.strip():
        bad("source", "name the notice the dates come from (e.g. 国务院办公厅关于2027年部分节假日安排的通知)")
    holidays: dict = {}
    for i, item in enumerate(_list(doc, "holidays", bad)):
        path = f"holidays[{i}]"
        name = _name(item, path, bad)
        start, end = _date(item, "from", path, bad), _date(item, "to", path, bad)
        if start is None or end is None:
            continue
        if end < start:
            bad(f"{path}.to", "is before 'from'")
            continue
        day = start
        while day <= end:
            if day.year != year:
                bad(path, f"{day} is not in {year}")
                break
            if day in holidays:
                bad(path, f"{day} is already a holiday ({holidays[day]})")
            holidays[day] = name
            day += dt.timedelta(days=1)
    if len(holidays) > MAX_HOLIDAY_DAYS:
        bad("holidays", f"{len(holidays)} days off is more than any arrangement has ({MAX_HOLIDAY_DAYS})")
    makeup: dict = {}
    for i, item in enumerate(_list(doc, "makeup_workdays", bad)):
        path = f"makeup_workdays[{i}]"
        name = _name(item, path, bad)
        day = _date(item, "date", path, bad)
        if day is None:
            continue
        if day.year != year:
            bad(f"{path}.date", f"{day} is not in {year}")
        elif day.weekday() < 5:
            bad(f"{path}.date", f"{day} is a weekday: only a Saturday or Sunday can be a make-up working day")
        elif day in holidays:
            bad(f"{path}.date", f"{day} is also listed as a holiday")
        else:
            makeup[day] = name
    if problems:
        raise PolicyInvalid(problems)
    return StatutoryYear(calendar, year, source.strip(), holidays, makeup)


def from_package(year: int) -> StatutoryYear:
    """The year as ``chinese-calendar`` knows it (for export, and to compare an import against)."""
    import chinese_calendar

    holidays, makeup = {}, {}
    day = dt.date(year, 1, 1)
    try:
        while day.year == year:
            holiday, name = chinese_calendar.get_holiday_detail(day)
            weekend = day.weekday() >= 5
            if holiday and (name or not weekend):
                holidays[day] = name or "holiday"
            elif not holiday and weekend:
                makeup[day] = name or "makeup"
            day += dt.timedelta(days=1)
    except NotImplementedError as exc:
        raise CalendarUnavailable("cn", year, str(exc)) from None
    return StatutoryYear("cn", year, "chinese-calendar " + _package_version(), holidays, makeup)


class Registry:
    """The loaded years, replaced as a whole (readers never see half an update)."""

    def __init__(self):
        self._years: dict[int, StatutoryYear] = {}
        self._lock = threading.Lock()

    def install(self, years) -> None:
        table = {y.year: y for y in years}
        with self._lock:
            self._years = table

    def get(self, year: int) -> StatutoryYear | None:
        return self._years.get(year)

    def years(self) -> list[int]:
        return sorted(self._years)


REGISTRY = Registry()


def cn_day(date: dt.date) -> tuple[bool, str | None]:
    """(working, holiday name) for a mainland date; ``CalendarUnavailable`` for a year nobody knows."""
    loaded = REGISTRY.get(date.year)
    if loaded is not None:
        return loaded.day(date)
    import chinese_calendar

    try:
        working = chinese_calendar.is_workday(date)
        _holiday, name = chinese_calendar.get_holiday_detail(date)
    except NotImplementedError as exc:
        raise CalendarUnavailable("cn", date.year, str(exc)) from None
    return working, name


def package_years() -> list[int]:
    """The years ``chinese-calendar`` has data for."""
    import chinese_calendar

    known = []
    for year in range(2004, 2101):
        try:
            chinese_calendar.is_workday(dt.date(year, 6, 1))
        except NotImplementedError:
            continue
        known.append(year)
    return known


def known_years() -> list[int]:
    """Every year the ``cn`` calendar can count: the package's and the loaded ones."""
    return sorted(set(package_years()) | set(REGISTRY.years()))


def last_known_year() -> int:
    """The last year either source knows (a gauge: an alert fires when next year is still missing in Q4)."""
    return max(package_years() + REGISTRY.years(), default=0)


def _list(doc: dict, key: str, bad) -> list:
    value = doc.get(key) or []
    if not isinstance(value, list):
        bad(key, "must be a list")
        return []
    return value


def _name(item, path: str, bad) -> str:
    name = item.get("name") if isinstance(item, dict) else None
    if not isinstance(name, str) or not name.strip():
        bad(f"{path}.name", "is required")
        return ""
    return name.strip()


def _date(item, key: str, path: str, bad) -> dt.date | None:
    value = item.get(key) if isinstance(item, dict) else None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    bad(f"{path}.{key}", "must be a date like 2027-01-01")
    return None


def _ranges(days: dict) -> list[dict]:
    out: list[dict] = []
    for day, name in sorted(days.items()):
        last = out[-1] if out else None
        if last and last["name"] == name and dt.date.fromisoformat(last["to"]) + dt.timedelta(days=1) == day:
            last["to"] = day.isoformat()
        else:
            out.append({"name": name, "from": day.isoformat(), "to": day.isoformat()})
    return out


def _package_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("chinesecalendar")
    except PackageNotFoundError:
        try:
            return version("chinese-calendar")
        except PackageNotFoundError:
            return "?"
