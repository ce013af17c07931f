"""The site-settings form of the time limits (``/settings/sla/site``, ``blueprints/console_sla_site.py``): business
hours, closures, extra working days, time zone and calendar, the escalation ladder and the warning point, read
from the posted fields and checked here, each problem on its field and in the user's language.

The checks mirror workflow's (``domain/sla/validation.py``, ``ladder.py``), which still validates the whole
document when it is previewed or saved: workflow's problems are English and name document paths, a form needs
a message next to the field. What only the form checks: a closure or extra working day in a year the statutory
calendar does not know (workflow's ``list_calendar_years``) and a date listed twice; a YAML import keeps
accepting both, as before.

Sections: ``calendar`` (timezone, calendar, business_hours), ``days`` (closures, extra_working_days) and
``ladder`` (escalation, warning_at and each severity's warning_at). The group layer always sets all three; a
region or estate layer sets a section only when its "set at this layer" box is ticked, else inherits it.
"""
from __future__ import annotations

import copy
import datetime as dt
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import gettext as _, lazy_gettext as _l

SECTIONS = {"calendar": ("timezone", "calendar", "business_hours"), "days": ("closures", "extra_working_days"),
            "ladder": ("escalation", "warning_at")}
CALENDARS = {"cn": _l("Mainland statutory calendar (holidays and make-up working days)"),
             "none": _l("Monday to Friday, no public holidays")}
# the ladder's roles in climbing order (workflow/domain/sla/ladder.py ROLES)
RUNG_ROLES = {"cs_supervisor": _l("Customer-service supervisor"), "site_manager": _l("Site manager"),
              "regional_manager": _l("Regional manager (told as head office)"), "head_office": _l("Head office")}
DEFAULT_LADDER = [{"role": "cs_supervisor", "limit": "2h"}, {"role": "site_manager", "limit": "4h"},
                  {"role": "head_office"}]
DEFAULT_WARNING = 0.75
MAX_ROWS = 50
MAX_REASON = 200
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_RUNG_LIMIT = re.compile(r"^([0-9]+)(m|h|bh|wd|d)$")
MAX_AMOUNT = {"m": 60 * 24 * 366, "h": 24 * 366, "d": 366}
MINUTES = {"m": 1, "h": 60, "d": 24 * 60}


def rows_from(document: dict) -> dict:
    """The form's values for a (merged or own) policy document."""
    def days(key):
        return [{"date": d.get("date", "") if isinstance(d, dict) else str(d),
                 "reason": (d.get("reason") or "") if isinstance(d, dict) else ""} for d in document.get(key) or []]
    warning = document.get("warning_at")
    return {"timezone": document.get("timezone") or "", "calendar": document.get("calendar") or "cn",
            "hours": [{"start": h.get("start", ""), "end": h.get("end", "")} for h in document.get("business_hours") or []],
            "closures": days("closures"), "extra": days("extra_working_days"),
            "rungs": [{"role": r.get("role", ""), "limit": r.get("limit") or ""} for r in document.get("escalation") or []],
            "warning": _pct(warning) if warning is not None else "",
            "severity_warning": {sev: _pct(spec["warning_at"]) for sev, spec in (document.get("severities") or {}).items()
                                 if isinstance(spec, dict) and spec.get("warning_at") is not None}}


def _pct(fraction) -> str:
    value = round(float(fraction) * 100, 2)
    return str(int(value)) if value == int(value) else str(value)


def sections_set(own: dict | None, group: bool) -> set:
    """The sections this layer sets (the group: all of them)."""
    if group:
        return set(SECTIONS)
    own = own or {}
    out = {name for name, keys in SECTIONS.items() if any(k in own for k in keys)}
    if any(isinstance(s, dict) and "warning_at" in s for s in (own.get("severities") or {}).values()):
        out.add("ladder")
    return out


def read(form, group: bool, severities: list[str], inherited_calendar: str, known_years: dict) -> tuple[dict, dict]:
    """``(rows, errors)`` from the posted form: ``rows`` as ``rows_from`` gives them (empty rows dropped) plus
    ``sections``; ``errors`` maps a field id (``hours-1-end``, ``closure-0-date``, ``rung-2-limit``...) to its
    message."""
    errors: dict = {}
    sections = set(SECTIONS) if group else {s for s in SECTIONS if form.get(f"set_{s}") == "1"}
    rows = {"sections": sections, "timezone": form.get("timezone", "").strip()[:64],
            "calendar": form.get("calendar", "").strip()[:10],
            "hours": _pairs(form, "hours_start", "hours_end", "start", "end"),
            "closures": _pairs(form, "closure_date", "closure_reason", "date", "reason"),
            "extra": _pairs(form, "extra_date", "extra_reason", "date", "reason"),
            "rungs": _pairs(form, "rung_role", "rung_limit", "role", "limit"),
            "warning": form.get("warning_at", "").strip()[:10],
            "severity_warning": {s: form.get(f"warning_{s}", "").strip()[:10] for s in severities
                                 if form.get(f"warning_{s}", "").strip()}}
    if "calendar" in sections:
        _check_calendar(rows, errors)
    if "days" in sections:
        calendar = rows["calendar"] if "calendar" in sections else inherited_calendar
        _check_days(rows, errors, (known_years or {}).get(calendar, None) if calendar == "cn" else None)
    if "ladder" in sections:
        _check_ladder(rows, errors)
    return rows, errors


def _pairs(form, first: str, second: str, a: str, b: str) -> list[dict]:
    left, right = form.getlist(first)[:MAX_ROWS], form.getlist(second)[:MAX_ROWS]
    right += [""] * (len(left) - len(right))
    return [{a: x.strip()[:40], b: y.strip()[:MAX_REASON + 1]} for x, y in zip(left, right) if x.strip() or y.strip()]


def _check_calendar(rows: dict, errors: dict) -> None:
    try:
        if not rows["timezone"] or rows["timezone"] != rows["timezone"].strip():
            raise ValueError
        ZoneInfo(rows["timezone"])
    except (ValueError, ZoneInfoNotFoundError):
        errors["timezone"] = _("Enter a time zone by its IANA name, such as Asia/Shanghai.")
    if rows["calendar"] not in CALENDARS:
        errors["calendar"] = _("Choose one of the calendars offered.")
    if not rows["hours"]:
        errors["hours"] = _("Enter at least one period of business hours.")
    spans = []
    for i, period in enumerate(rows["hours"]):
        start, end = _time(period["start"]), _time(period["end"])
        for key, value in (("start", start), ("end", end)):
            if value is None:
                errors[f"hours-{i}-{key}"] = _("Enter a time as HH:MM (00:00 to 23:59).")
        if start is not None and end is not None:
            if end <= start:
                errors[f"hours-{i}-end"] = _("The period must end after it starts.")
            else:
                spans.append((start, end, i))
    spans.sort()
    for (s1, e1, i1), (s2, _e2, i2) in zip(spans, spans[1:]):
        if s2 < e1:
            errors[f"hours-{i2}-start"] = _("This period overlaps %(start)s–%(end)s.", start=f"{s1:%H:%M}",
                                            end=f"{e1:%H:%M}")


def _time(value: str) -> dt.time | None:
    return dt.time(int(value[:2]), int(value[3:])) if _TIME.match(value or "") else None


def _check_days(rows: dict, errors: dict, years: list | None) -> None:
    """Dates well formed, each once, not both closed and worked, and (calendar ``cn``) in a known year."""
    seen: dict = {}
    for kind, prefix in (("closures", "closure"), ("extra", "extra")):
        for i, day in enumerate(rows[kind]):
            field = f"{prefix}-{i}-date"
            date = _date(day["date"])
            if len(day["reason"]) > MAX_REASON:
                errors[f"{prefix}-{i}-reason"] = _("At most %(n)d characters.", n=MAX_REASON)
            if date is None:
                errors[field] = _("Enter a date as YYYY-MM-DD.")
            elif years is not None and date.year not in years:
                errors[field] = _("The statutory calendar does not know %(year)d yet: an operator loads that year "
                                  "first.", year=date.year)
            elif date in seen:
                errors[field] = (_("This date is listed twice.") if seen[date] == kind else
                                 _("This date is both a closure and an extra working day."))
            else:
                seen[date] = kind


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if _DATE.match(value or "") else None
    except ValueError:
        return None


def _check_ladder(rows: dict, errors: dict) -> None:
    """As workflow's ``ladder_problems``: known roles climbing, each once; every rung but the top a wall-clock
    limit, the top none; warning points between 1 and 99 %."""
    rungs, order = rows["rungs"], list(RUNG_ROLES)
    if not rungs:
        errors["rungs"] = _("Enter at least one rung: who is told first when a time limit is missed.")
    last = -1
    for i, rung in enumerate(rungs):
        if rung["role"] not in RUNG_ROLES:
            errors[f"rung-{i}-role"] = _("Choose one of the roles offered.")
        elif order.index(rung["role"]) <= last:
            errors[f"rung-{i}-role"] = _("Each rung must be a role above the one before it, each role once.")
        else:
            last = order.index(rung["role"])
        top = i == len(rungs) - 1
        if top and rung["limit"]:
            errors[f"rung-{i}-limit"] = _("The top rung has no time limit: there is nobody above it.")
        elif not top and (problem := _rung_limit_problem(rung["limit"])):
            errors[f"rung-{i}-limit"] = problem
    for key, value in [("warning_at", rows["warning"])] + [(f"warning_{s}", v) for s, v in rows["severity_warning"].items()]:
        if (value or key != "warning_at") and _warning(value) is None:
            errors[key] = _("Enter a percentage between 1 and 99.")


def _rung_limit_problem(value: str) -> str | None:
    match = _RUNG_LIMIT.match(value or "")
    if not value:
        return _("Enter how long this rung has to act before the next one is told, such as 2h.")
    if not match or int(match.group(1)) <= 0:
        return _("Enter a whole number and m, h or d, such as 30m, 2h or 1d.")
    if match.group(2) not in MAX_AMOUNT:
        return _("Use minutes, hours or days (m, h, d): a rung is told at any hour, not only in business hours.")
    if int(match.group(1)) > MAX_AMOUNT[match.group(2)]:
        return _("At most a year.")
    return None


def _warning(value: str) -> float | None:
    try:
        pct = float(value)
    except (TypeError, ValueError):
        return None
    return round(pct / 100, 4) if 1 <= pct <= 99 else None


def layer(base: dict, rows: dict, group: bool, severities: list[str]) -> dict:
    """The scope's next layer: ``base`` (its own document, or the group's starting point) with the form's
    sections set and, for a region or estate, the unticked ones removed (inherited)."""
    doc = copy.deepcopy(base)
    for name, keys in SECTIONS.items():
        if name not in rows["sections"]:
            for key in keys:
                doc.pop(key, None)
    sections = rows["sections"]
    if "calendar" in sections:
        doc["timezone"], doc["calendar"] = rows["timezone"], rows["calendar"]
        doc["business_hours"] = sorted(({"start": h["start"], "end": h["end"]} for h in rows["hours"]),
                                       key=lambda h: h["start"])
    if "days" in sections:
        for key, kind in (("closures", "closures"), ("extra_working_days", "extra")):
            doc[key] = [{"date": d["date"], "reason": d["reason"]} if d["reason"] else d["date"] for d in rows[kind]]
    if "ladder" in sections:
        doc["escalation"] = [{"role": r["role"], "limit": r["limit"]} if r["limit"] else {"role": r["role"]}
                             for r in rows["rungs"]]
        if rows["warning"]:
            doc["warning_at"] = _warning(rows["warning"])
        else:
            doc.pop("warning_at", None)
    specs = doc.get("severities") or {}
    for sev in severities:
        value = rows["severity_warning"].get(sev) if "ladder" in sections else None
        spec = specs.get(sev)
        if value:
            specs.setdefault(sev, {})["warning_at"] = _warning(value)
        elif isinstance(spec, dict):
            spec.pop("warning_at", None)
            if not spec and not group:
                specs.pop(sev)
    if specs:
        doc["severities"] = specs
    else:
        doc.pop("severities", None)
    return doc


# workflow's problem paths -> the form's field ids, for a problem only workflow found
_PATHS = [(re.compile(r"^business_hours\[(\d+)\]"), "hours-{0}-start"), (re.compile(r"^business_hours$"), "hours"),
          (re.compile(r"^closures\[(\d+)\]"), "closure-{0}-date"), (re.compile(r"^extra_working_days\[(\d+)\]"),
                                                                    "extra-{0}-date"),
          (re.compile(r"^escalation\[(\d+)\]\.limit"), "rung-{0}-limit"),
          (re.compile(r"^escalation\[(\d+)\]"), "rung-{0}-role"), (re.compile(r"^escalation$"), "rungs"),
          (re.compile(r"^severities\.([A-Za-z0-9_\-]+)\.warning_at"), "warning_{0}"),
          (re.compile(r"^(timezone|calendar|warning_at)$"), "{0}")]


def field_of(path: str | None) -> str | None:
    for pattern, field in _PATHS:
        match = pattern.match(path or "")
        if match:
            return field.format(*match.groups())
    return None


def ladder_table(merged: dict, severities: list[str]) -> list[dict]:
    """Who is told at which point, per severity: the warning (its fraction, and for the severity's first
    wall-clock stage how long after receipt), the breach, then each rung after the one before it had its time."""
    ladder = merged.get("escalation") or DEFAULT_LADDER
    top_warning = merged.get("warning_at", DEFAULT_WARNING)
    points, elapsed = [], 0
    for i, rung in enumerate(ladder):
        points.append({"role": rung["role"], "after": span(elapsed), "first": i == 0})
        match = _RUNG_LIMIT.match(rung.get("limit") or "")
        if match and match.group(2) in MINUTES:
            elapsed += int(match.group(1)) * MINUTES[match.group(2)]
    out = []
    for sev in severities:
        spec = (merged.get("severities") or {}).get(sev) or {}
        warning = spec.get("warning_at", top_warning)
        example = next((s for s in spec.get("stages") or []
                        if (m := _RUNG_LIMIT.match(str(s.get("limit")))) and m.group(2) in MINUTES), None)
        example_minutes = None
        if example:
            m = _RUNG_LIMIT.match(example["limit"])
            example_minutes = int(round(int(m.group(1)) * MINUTES[m.group(2)] * warning))
        out.append({"severity": sev, "warning_pct": _pct(warning), "own_warning": "warning_at" in spec,
                    "example": example, "example_after": span(example_minutes or 0), "points": points})
    return out


def span(minutes: int) -> str:
    """``2 h 30 min``, ``1 d 2 h``, ``45 min`` in the user's language."""
    if minutes >= 1440:
        return _("%(d)d d %(h)d h", d=minutes // 1440, h=minutes % 1440 // 60)
    if minutes >= 60:
        return _("%(h)d h %(m)d min", h=minutes // 60, m=minutes % 60)
    return _("%(m)d min", m=minutes)
