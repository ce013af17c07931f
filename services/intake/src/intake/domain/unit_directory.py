"""An estate's buildings and units (楼栋 / 房号) as plain values: what a building or unit code may be, one row of a
units import checked, and the plan of an import against what the estate holds.

A unit is keyed by (building code, unit code); ``floor`` (a whole number, basements negative) and ``area``
(m², two decimals) are optional. An import only adds and updates, never removes: a unit missing from the file
stays. An empty floor or area cell keeps the stored value, so importing the same file again changes nothing
(idempotent). Errors are ``{"line", "column", "message"}``: ``line`` as the uploader's file shows it (the
header is line 1), ``column`` one of ``COLUMNS``; the message is English, the gateway shows the column's own
words in the user's language.
"""
from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, field

COLUMNS = ("building", "unit", "floor", "area")
MAX_CODE = 40
MAX_NAME = 100
MIN_FLOOR, MAX_FLOOR = -10, 300
MAX_AREA = 100_000
MAX_IMPORT_ROWS = 5000


class InvalidValue(ValueError):
    """A value that cannot be a building, unit, floor or area; ``column`` names which."""

    def __init__(self, column: str, message: str):
        super().__init__(message)
        self.column, self.message = column, message


def clean_text(value, column: str, max_len: int) -> str:
    """Trimmed text of 1..max_len characters without control characters."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(int(value)) if float(value).is_integer() else str(value)  # a unit typed into a number cell
    if not isinstance(value, str) or not value.strip():
        raise InvalidValue(column, f"{column} is required")
    value = value.strip()
    if len(value) > max_len:
        raise InvalidValue(column, f"{column}: at most {max_len} characters")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise InvalidValue(column, f"{column}: no control characters")
    return value


def code(value, column: str) -> str:
    """A building or unit code (``1栋``, ``A座``, ``1001``): kept as typed, trimmed."""
    return clean_text(value, column, MAX_CODE)


def floor(value) -> int | None:
    """None when empty; else a whole number from ``MIN_FLOOR`` to ``MAX_FLOOR``."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        text = value.strip()
        value = int(text) if text.lstrip("-").isdigit() and len(text) <= 4 else None
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_FLOOR <= value <= MAX_FLOOR:
        raise InvalidValue("floor", f"floor: a whole number from {MIN_FLOOR} to {MAX_FLOOR}")
    return value


def area(value) -> float | None:
    """None when empty; else square metres above 0 and at most ``MAX_AREA``, rounded to 0.01."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    number = None
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", ""))
        except ValueError:
            number = None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    if number is None or not math.isfinite(number) or not 0 < number <= MAX_AREA:
        raise InvalidValue("area", f"area: square metres above 0 and at most {MAX_AREA:,}")
    return round(number, 2)


@dataclass(frozen=True)
class UnitRow:
    line: int
    building: str
    unit: str
    floor: int | None
    area: float | None


def check_row(raw) -> tuple[UnitRow | None, list[dict]]:
    """One import row ``{"line", "building", "unit", "floor"?, "area"?}``: the row, or its errors (every bad
    column of the row at once)."""
    line = raw.get("line") if isinstance(raw, dict) else None
    line = line if isinstance(line, int) and not isinstance(line, bool) and 0 < line < 10**7 else 0
    if not isinstance(raw, dict):
        return None, [error(line, "unit", "a row must be an object")]
    values, errors = {}, []
    for column, parse in (("building", lambda v: code(v, "building")), ("unit", lambda v: code(v, "unit")),
                          ("floor", floor), ("area", area)):
        try:
            values[column] = parse(raw.get(column))
        except InvalidValue as exc:
            errors.append(error(line, exc.column, exc.message))
    return (None, errors) if errors else (UnitRow(line, **values), [])


def error(line: int, column: str, message: str) -> dict:
    return {"line": line, "column": column, "message": message}


@dataclass
class ImportPlan:
    """What an import would do: new buildings, units added, units updated (floor/area), unchanged, errors."""
    buildings: list[str] = field(default_factory=list)
    added: list[UnitRow] = field(default_factory=list)
    updated: list[tuple[UnitRow, dict]] = field(default_factory=list)   # (row, {"floor", "area"} before)
    unchanged: int = 0
    errors: list[dict] = field(default_factory=list)


def plan_import(rows, buildings: set[str], units: dict[tuple[str, str], dict]) -> ImportPlan:
    """The import of ``rows`` against the estate's ``buildings`` (codes) and ``units`` ({(building, unit):
    {"floor", "area"}}). A unit twice in the file is an error on its second line."""
    plan = ImportPlan()
    if not isinstance(rows, list) or not rows:
        plan.errors.append(error(0, "unit", "the file has no units"))
        return plan
    if len(rows) > MAX_IMPORT_ROWS:
        plan.errors.append(error(0, "unit", f"at most {MAX_IMPORT_ROWS} units per file"))
        return plan
    seen: dict[tuple[str, str], int] = {}
    new_buildings: list[str] = []
    for raw in rows:
        row, errors = check_row(raw)
        if row is None:
            plan.errors.extend(errors)
            continue
        key = (row.building, row.unit)
        if key in seen:
            plan.errors.append(error(row.line, "unit", f"same unit as line {seen[key]}"))
            continue
        seen[key] = row.line
        if row.building not in buildings and row.building not in new_buildings:
            new_buildings.append(row.building)
        before = units.get(key)
        if before is None:
            plan.added.append(row)
            continue
        after = {"floor": before.get("floor") if row.floor is None else row.floor,
                 "area": before.get("area") if row.area is None else row.area}
        if after == {"floor": before.get("floor"), "area": before.get("area")}:
            plan.unchanged += 1
        else:
            plan.updated.append((row, {"floor": before.get("floor"), "area": before.get("area")}))
    plan.buildings = new_buildings
    return plan
