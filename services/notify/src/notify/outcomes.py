"""What a channel reports for each message it was given: sent, failed (permanently or not), or deferred."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    provider_message_id: str | None = None  # the provider's id, when it returns one (Kannel does not)
    via: str | None = None  # WeChat: ``customer_service`` or ``template`` (kept on the row, ``fallback["via"]``)


@dataclass(frozen=True)
class Failure:
    permanent: bool
    reason: str


@dataclass(frozen=True)
class Deferred:
    """Not tried (quiet hours, or the recipient's hourly SMS limit: ``reason``): due again at ``until``; no attempt
    is counted."""
    until: dt.datetime
    reason: str | None = None
