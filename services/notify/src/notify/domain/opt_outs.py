"""SMS opt-outs (an owner replies "TD"/"退订") and per-recipient throttling. Plain Python.

Opt-out keywords are the ones Chinese carriers and SMS platforms use (TD, T, 退订, N, STOP...): the whole
reply, whatever the case, spaces and trailing punctuation; "TD 谢谢" is not an opt-out (a person is writing).
Throttling: at most ``limit`` SMS to one number in any rolling hour; the excess is deferred until the oldest
send of that hour is an hour old, never dropped.
"""
from __future__ import annotations

import datetime as dt
import re

OPT_OUT_KEYWORDS = frozenset({"TD", "T", "N", "退订", "退定", "取消", "STOP", "UNSUBSCRIBE"})
THROTTLED = "throttled"
WINDOW = dt.timedelta(hours=1)
DEFAULT_LIMIT = 5

_TRIM = re.compile(r"[\s.,!?;:。，！？；：、\"'“”‘’【】\[\]()（）]+")


def opt_out_keyword(text) -> str | None:
    """The normalised keyword when the whole message asks to stop SMS, else None."""
    if not isinstance(text, str):
        return None
    word = _TRIM.sub("", text).upper()
    return word if word in OPT_OUT_KEYWORDS else None


def throttled_until(recent_sends: list[dt.datetime], now: dt.datetime, limit: int = DEFAULT_LIMIT,
                    window: dt.timedelta = WINDOW) -> dt.datetime | None:
    """``recent_sends``: when SMS went to this number (any order). None when one more may go now; else when
    the next may (the send that leaves the window first makes room)."""
    if limit <= 0:
        return None
    inside = sorted(t for t in recent_sends if t > now - window)
    if len(inside) < limit:
        return None
    return inside[len(inside) - limit] + window


def throttle_reason(limit: int) -> str:
    return f"{THROTTLED}: at most {limit} SMS an hour to one number"
