"""The limit grammar: ``15m``, ``2h`` (wall clock), ``4bh`` (business hours), ``3wd`` (working days), ``7d`` (N x 24 h)."""
from __future__ import annotations

import re
from dataclasses import dataclass

UNITS = ("m", "h", "bh", "wd", "d")
_LIMIT = re.compile(r"^([0-9]+)(m|h|bh|wd|d)$")
MAX_AMOUNT = {"m": 60 * 24 * 366, "h": 24 * 366, "bh": 24 * 366, "wd": 366, "d": 366}


@dataclass(frozen=True)
class Limit:
    amount: int
    unit: str

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    @property
    def minutes(self) -> int | None:
        """Wall-clock or business minutes for m/h/bh/d; None for working days (not a fixed length)."""
        return {"m": 1, "h": 60, "bh": 60, "d": 24 * 60}.get(self.unit, 0) * self.amount or None


def parse_limit(text) -> Limit:
    """``ValueError`` with a readable reason for anything that is not a positive amount and a known unit."""
    if not isinstance(text, str):
        raise ValueError(f"limit must be a string like '2h', not {text!r}")
    value = text.strip()
    if value.startswith("-"):
        raise ValueError(f"negative limit {text!r}")
    match = _LIMIT.match(value)
    if not match:
        raise ValueError(f"malformed limit {text!r}: expected a whole number and one of "
                         f"m, h, bh, wd, d (e.g. '15m', '2h', '4bh', '3wd', '7d')")
    amount, unit = int(match.group(1)), match.group(2)
    if amount <= 0:
        raise ValueError(f"limit {text!r} must be greater than zero")
    if amount > MAX_AMOUNT[unit]:
        raise ValueError(f"limit {text!r} is longer than a year")
    return Limit(amount, unit)
