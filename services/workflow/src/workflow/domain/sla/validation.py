"""Checking a policy document: every problem with its path and, for text, its line (not just the first)."""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .document import path_str
from .grammar import parse_limit
from .meeting import ACTIONS
from .approval import extensions_problems
from .ladder import ladder_problems, warning_problem
from .workdays import CALENDARS

TOP_KEYS = {"name", "description", "timezone", "calendar", "business_hours", "closures", "extra_working_days",
            "default_severity", "severities", "severity_order", "warning_at", "escalation",
            "extensions"}
REQUIRED = ("timezone", "calendar", "business_hours", "default_severity", "severities")
STAGE_KEYS = {"name", "limit", "after", "repeat", "channels", "label", "met_by"}
SEVERITY_KEYS = {"label", "stages", "categories", "warning_at"}
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_KEY = re.compile(r"^[A-Za-z0-9_\-]{1,40}$")
DATE_KEYS = {"date", "reason"}  # a closure or extra working day: "YYYY-MM-DD" or {date, reason}
MAX_REASON = 200


def validate(data, lines: dict | None = None, partial: bool = False) -> list[dict]:
    """Every problem in ``data`` as ``{"path", "line", "problem"}``; empty when it is a usable document."""
    v = _Validator(lines or {}, check_refs=not partial)
    v.document(data, partial)
    return v.problems


class _Validator:
    def __init__(self, lines: dict, check_refs: bool = True):
        self.lines, self.problems = lines, []
        self.check_refs = check_refs  # an override's after: may name a group stage: checked once merged

    def fail(self, path: tuple, problem: str) -> None:
        line = next((self.lines[path[:i]] for i in range(len(path), -1, -1) if path[:i] in self.lines), None)
        self.problems.append({"path": path_str(path), "line": line, "problem": problem})

    def document(self, data, partial: bool) -> None:
        if not isinstance(data, dict):
            return self.fail((), "a policy must be a mapping (timezone, calendar, business_hours, severities...)")
        for key in data:
            if key not in TOP_KEYS:
                self.fail((key,), f"unknown key {key!r}")
        for key in () if partial else REQUIRED:
            if key not in data:
                self.fail((), f"missing {key!r}")
        if "timezone" in data:
            self.timezone(data["timezone"])
        if "calendar" in data and data["calendar"] not in CALENDARS:
            self.fail(("calendar",), f"unknown calendar {data['calendar']!r} (known: {', '.join(CALENDARS)})")
        if "business_hours" in data:
            self.hours(data["business_hours"])
        dates = {key: self.dates(data[key], key) for key in ("closures", "extra_working_days") if key in data}
        for both in sorted(set(dates.get("closures", ())) & set(dates.get("extra_working_days", ()))):
            self.fail(("extra_working_days",), f"{both} is both a closure and an extra working day")
        if "severities" in data:
            self.severities(data["severities"], partial)
        default = data.get("default_severity")
        if default is not None and isinstance(data.get("severities"), dict) and default not in data["severities"]:
            if not partial:
                self.fail(("default_severity",), f"unknown severity {default!r}")
        if "severity_order" in data:
            self.severity_order(data["severity_order"], data.get("severities"), partial)
        if "warning_at" in data and (problem := warning_problem(data["warning_at"])):
            self.fail(("warning_at",), problem)
        for sub, problem in ladder_problems(data["escalation"]) if "escalation" in data else ():
            self.fail(("escalation",) + sub, problem)  # the ladder and its rung limits (ladder.py)
        for sub, problem in extensions_problems(data["extensions"]) if "extensions" in data else ():
            self.fail(("extensions",) + sub, problem)  # who approves which extension (approval.py)

    def severity_order(self, value, severities, partial: bool) -> None:
        """Lowest to highest, each severity once (repeat complaints move a case up this list)."""
        if not isinstance(value, list) or not all(isinstance(k, str) for k in value) or len(set(value)) != len(value):
            return self.fail(("severity_order",), "severity_order must list each severity once, lowest first")
        if not partial and isinstance(severities, dict) and set(value) != set(severities):
            self.fail(("severity_order",), f"severity_order must list exactly the severities: "
                                           f"{', '.join(sorted(severities))}")

    def timezone(self, value) -> None:
        try:
            if not isinstance(value, str) or not value:
                raise ValueError
            ZoneInfo(value)
        except (ValueError, ZoneInfoNotFoundError):
            self.fail(("timezone",), f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)")

    def hours(self, value) -> None:
        path = ("business_hours",)
        if not isinstance(value, list) or not value:
            return self.fail(path, "business_hours must be a non-empty list of {start, end}")
        spans = []
        for i, item in enumerate(value):
            if not isinstance(item, dict) or set(item) != {"start", "end"}:
                self.fail(path + (i,), "each business-hours entry needs exactly 'start' and 'end' (HH:MM)")
                continue
            start, end = (parse_time(item[k]) for k in ("start", "end"))
            if start is None or end is None:
                self.fail(path + (i,), f"times must be HH:MM (00:00-23:59), got {item['start']!r}-{item['end']!r}")
            elif end <= start:
                self.fail(path + (i,), f"end {item['end']} is not after start {item['start']}")
            else:
                spans.append((start, end, i))
        spans.sort()
        for (s1, e1, i1), (s2, e2, i2) in zip(spans, spans[1:]):
            if s2 < e1:
                self.fail(path + (i2,), f"business hours overlap: {s2:%H:%M}-{e2:%H:%M} starts before "
                                        f"{s1:%H:%M}-{e1:%H:%M} ends")

    def dates(self, value, key: str) -> list:
        if not isinstance(value, list):
            self.fail((key,), f"{key} must be a list of dates (YYYY-MM-DD)")
            return []
        out = []
        for i, item in enumerate(value):
            if isinstance(item, dict):  # {date, reason}: the console's form keeps why a day is closed or worked
                for k in sorted(set(item) - DATE_KEYS):
                    self.fail((key, i, k), f"unknown key {k!r}")
                reason = item.get("reason")
                if reason is not None and (not isinstance(reason, str) or len(reason) > MAX_REASON):
                    self.fail((key, i, "reason"), f"reason must be text of at most {MAX_REASON} characters")
            day = entry_date(item)
            if day is None:
                self.fail((key, i), f"not a date (YYYY-MM-DD): {item.get('date') if isinstance(item, dict) else item!r}")
            else:
                out.append(day)
        return out

    def severities(self, value, partial: bool) -> None:
        if not isinstance(value, dict) or (not value and not partial):
            return self.fail(("severities",), "severities must be a non-empty mapping of severity -> stages")
        for key, spec in value.items():
            path = ("severities", key)
            if not _KEY.match(str(key)):
                self.fail(path, f"severity key {key!r} must be 1-40 letters, digits, '_' or '-'")
            if not isinstance(spec, dict):
                self.fail(path, "a severity must be a mapping with 'stages'")
                continue
            for k in spec:
                if k not in SEVERITY_KEYS:
                    self.fail(path + (k,), f"unknown key {k!r}")
            if "warning_at" in spec and (problem := warning_problem(spec["warning_at"])):
                self.fail(path + ("warning_at",), problem)
            if "stages" not in spec and not partial:
                self.fail(path, "missing 'stages'")
            names = self.stages(spec.get("stages", []), path + ("stages",), set(), partial)
            cats = spec.get("categories", {})
            if not isinstance(cats, dict):
                self.fail(path + ("categories",), "categories must be a mapping of category -> {stages}")
                continue
            for cat, cat_spec in cats.items():
                cpath = path + ("categories", cat)
                if not isinstance(cat_spec, dict) or set(cat_spec) - {"stages"}:
                    self.fail(cpath, "a category override must be a mapping with only 'stages'")
                    continue
                self.stages(cat_spec.get("stages", []), cpath + ("stages",), set(names), True)

    def stages(self, value, path: tuple, known: set, partial: bool) -> list:
        """Checks a stage list; ``known`` are stage names ``after:`` may refer to besides earlier ones."""
        if not isinstance(value, list) or (not value and not partial):
            self.fail(path, "stages must be a non-empty list of {name, limit}")
            return []
        names: list = []
        for i, stage in enumerate(value):
            spath = path + (i,)
            if not isinstance(stage, dict):
                self.fail(spath, "a stage must be a mapping {name, limit, after?}")
                continue
            for k in stage:
                if k not in STAGE_KEYS:
                    self.fail(spath + (k,), f"unknown key {k!r}")
            name = stage.get("name")
            if not isinstance(name, str) or not _KEY.match(name):
                self.fail(spath + ("name",), f"stage name {name!r} must be 1-40 letters, digits, '_' or '-'")
            elif name in names:
                self.fail(spath + ("name",), f"stage {name!r} is defined twice")
            if "limit" not in stage:
                self.fail(spath, f"stage {name!r} has no 'limit'")
            else:
                try:
                    parse_limit(stage["limit"])
                except ValueError as exc:
                    self.fail(spath + ("limit",), str(exc))
            after = stage.get("after")
            if after is not None:
                if after == name:
                    self.fail(spath + ("after",), f"stage {name!r} cannot count from itself")
                elif self.check_refs and after not in names and after not in known:
                    self.fail(spath + ("after",), f"after: unknown stage {after!r} (it must be defined earlier)")
            if "repeat" in stage and not isinstance(stage["repeat"], bool):
                self.fail(spath + ("repeat",), "repeat must be true or false")
            channels = stage.get("channels")
            if channels is not None and (not isinstance(channels, list) or not all(isinstance(c, str) for c in channels)):
                self.fail(spath + ("channels",), "channels must be a list of channel names")
            if "met_by" in stage:
                self.met_by(stage["met_by"], spath + ("met_by",))
            if isinstance(name, str):
                names.append(name)
        return names


    def met_by(self, value, path: tuple) -> None:
        """``met_by``: the actions that meet the stage (meeting.ACTIONS), at least one."""
        if not isinstance(value, list) or not value:
            return self.fail(path, f"met_by must be a non-empty list of actions ({', '.join(ACTIONS)})")
        for i, action in enumerate(value):
            if action not in ACTIONS:
                self.fail(path + (i,), f"met_by: unknown action {action!r} (known: {', '.join(ACTIONS)})")


def parse_time(value) -> dt.time | None:
    if isinstance(value, str) and _TIME.match(value):
        return dt.time(int(value[:2]), int(value[3:]))
    return None


def entry_date(value) -> dt.date | None:
    """The date of a ``closures``/``extra_working_days`` entry: ``"YYYY-MM-DD"`` or ``{date, reason}``."""
    return parse_date(value.get("date") if isinstance(value, dict) else value)


def parse_date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None
