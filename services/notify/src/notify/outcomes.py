"""What a channel reports for each message it was given: sent, failed (permanently or not), unknown (the request
reached the provider, its answer was lost: ``domain.lost_answers``), or deferred."""
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
    attempted: bool = True  # False: given up without a new attempt (an unknown SMS whose attempts are used up)


@dataclass(frozen=True)
class Unknown:
    """The request went out but no answer came back: the provider may have taken the message."""
    reason: str
    wait: dt.timedelta  # how long to wait for a delivery report before sending it again


@dataclass(frozen=True)
class Deferred:
    """Not tried (quiet hours, or the recipient's hourly SMS limit: ``reason``): due again at ``until``; no attempt
    is counted."""
    until: dt.datetime
    reason: str | None = None
