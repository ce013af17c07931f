"""Percentiles the way PostgreSQL's ``percentile_cont`` computes them, for SQLite (which has none)."""
from __future__ import annotations

import math


def percentile_cont(values, fraction: float) -> float | None:
    """The ``fraction`` percentile of ``values`` with linear interpolation between the two nearest ranks
    (PostgreSQL ``percentile_cont(fraction) WITHIN GROUP (ORDER BY value)``); None for no values."""
    if not 0 <= fraction <= 1:
        raise ValueError("fraction must be between 0 and 1")
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)
