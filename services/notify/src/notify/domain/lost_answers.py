"""An SMS whose send request reached the gateway but whose answer was lost (the HTTP read timed out after Kannel
queued it, or the connection dropped after the request went out): its outcome is *unknown*, not failed.

Kannel's ``sendsms`` has no idempotency key, so sending such an SMS again at once may put it on the owner's phone
twice. The proof that Kannel took it is its delivery report (DLR) to our ``dlr-url``, which carries the message's
id and token (the same for every attempt), so a report for the first attempt still finds the row:

- ``queued`` -- send, answer lost --> ``unknown``: the attempt counts, ``ambiguous_at`` = now, due again once the
  DLR wait (``SMS_DLR_WAIT_SECONDS``) has passed. A report that already arrived while we waited for the answer
  (it can overtake the mark) proves the send: ``sent`` at once.
- ``unknown`` -- any report (4, 8, 1, 2, 16) --> ``sent`` (``sent_at`` = the attempt's time), then settled like
  any sent SMS (``delivered`` / ``failed`` on a final report); never sent again.
- ``unknown`` -- the wait over, no report --> sent again: delivery is at least once (the owner may get it twice
  when Kannel had taken it and its report was lost too); every such repeat that reaches the gateway counts in
  ``ambiguous_retries``. Attempts used up -> ``failed`` without another send.
- A failure before the request went out (connection refused, connect timeout) is a normal retry and leaves the
  state as it was (an ``unknown`` row stays ``unknown``: a report for its earlier send may still come).

Plain Python: the delivery loop and the DLR handler apply these decisions.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

UNKNOWN = "unknown"
DEFAULT_DLR_WAIT = dt.timedelta(minutes=10)
GAVE_UP = "no answer from the SMS gateway and no delivery report within the wait after {attempts} attempt(s)"


@dataclass(frozen=True)
class AfterLostAnswer:
    status: str  # "sent" (a report already proves it) or "unknown"
    next_attempt_at: dt.datetime | None  # unknown: when it may be sent again (end of the DLR wait)


def after_lost_answer(now: dt.datetime, wait: dt.timedelta, report_seen: bool) -> AfterLostAnswer:
    """The row's state after a send whose answer was lost; ``report_seen``: a DLR is already on the row."""
    if report_seen:
        return AfterLostAnswer("sent", None)
    return AfterLostAnswer(UNKNOWN, now + wait)


def when_due(status: str, attempts: int, max_attempts: int) -> str:
    """``send`` or ``give_up`` for a due row: an ``unknown`` row is due only once its wait passed without a
    report; it is sent again unless its attempts are used up."""
    if status == UNKNOWN and attempts >= max_attempts:
        return "give_up"
    return "send"


def is_ambiguous_retry(status: str, reached_gateway: bool) -> bool:
    """A send of an ``unknown`` row that reached the gateway is a repeat the owner may get twice."""
    return status == UNKNOWN and reached_gateway


def on_report(status: str, final: bool) -> str:
    """What a delivery report does to a row of ``status``: ``confirm`` (unknown -> sent, then settle when
    ``final``), ``settle`` (a sent row's final report), ``note`` (kept on the row only)."""
    if status == UNKNOWN:
        return "confirm"
    if status == "sent" and final:
        return "settle"
    return "note"
