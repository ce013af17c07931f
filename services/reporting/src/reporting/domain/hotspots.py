"""Hot spots: what is unusually frequent in a period against its own recent past.

For each key (a category, an estate, an estate x category pair) the period's count is compared with the same
key's counts in the ``BASELINE_PERIODS`` equal-length periods just before it:

    mean  = average of the baseline counts
    noise = max(standard deviation of the baseline, sqrt(mean), 1)
    z     = (count - mean) / noise

The ``sqrt(mean)`` floor is the Poisson spread of a count with that mean, so a key that happened to be flat in
the baseline (std 0) is not flagged for one extra complaint; the floor of 1 does the same for keys that never
occurred. A key is a hot spot when ``count >= MIN_COUNT`` (a handful of complaints is not a trend), ``z >= Z``
and ``count >= RATIO * mean`` (a large, steady key must still rise by half). Sorted by z, then count.
"""
from __future__ import annotations

import math

BASELINE_PERIODS = 4
MIN_COUNT = 5
Z = 2.0
RATIO = 1.5


def score(count: int, baseline: list[int]) -> dict:
    mean = sum(baseline) / len(baseline) if baseline else 0.0
    var = sum((b - mean) ** 2 for b in baseline) / len(baseline) if baseline else 0.0
    noise = max(math.sqrt(var), math.sqrt(mean), 1.0)
    z = (count - mean) / noise
    return {"count": count, "baseline": list(baseline), "baseline_mean": round(mean, 2),
            "ratio": round(count / mean, 2) if mean else None, "z": round(z, 2),
            "hot": count >= MIN_COUNT and z >= Z and count >= RATIO * mean}


def hot_spots(current: dict, history: dict) -> list[dict]:
    """``current``: key -> count in the period; ``history``: key -> [count per baseline period, oldest first].
    Returns the hot keys as ``score`` dicts with ``key``."""
    found = []
    for key, count in current.items():
        baseline = list(history.get(key) or [0] * BASELINE_PERIODS)
        s = score(count, baseline)
        if s.pop("hot"):
            found.append({"key": key, **s})
    return sorted(found, key=lambda r: (-r["z"], -r["count"], str(r["key"])))
