"""Forwarded complaints: what the committee and the head-office channels add to the canonical complaint.

- **committee** (居委会/业委会转达, seed 002 §4.1: recorded and forwarded to the service centre within 2 hours):
  ``reported_at`` is when the owner told the committee (default: the receipt itself). It becomes
  ``committee_received_at``, from which workflow counts the ``committee_forward`` stage; the receipt in
  EstateDesk is the forwarding. Not in the future (a few minutes of clock skew are tolerated and clamped to
  the receipt) and not older than ``COMMITTEE_MAX_AGE``: older than that is a new complaint, not a forward.
- **head_office** (上级转办, seed 001 part 5 §4.1.4: record the superior's instructions, report back when done):
  ``forwarded_by`` {name, title, phone, email} (name and a phone or an e-mail required: the superior is told
  when the case is closed) and ``instructions`` (required).

The fields belong to their channel: given on another channel they are refused, not silently dropped.
Plain Python (no framework); it reuses the complaint module's text and contact checks.
"""
from __future__ import annotations

import datetime as dt

from . import complaint as _c

COMMITTEE_MAX_AGE = dt.timedelta(days=30)
CLOCK_SKEW = dt.timedelta(minutes=5)
INSTRUCTIONS_MAX = 2000


def _given(value) -> bool:
    return value not in (None, "", {})


def reported_at(value, received_at: dt.datetime) -> dt.datetime:
    """When the owner reported it to the committee (UTC); ``received_at`` when not given."""
    if not _given(value):
        return received_at
    if isinstance(value, dt.datetime):
        instant = value
    elif isinstance(value, str):
        try:
            instant = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _c.InvalidComplaint("reported_at", "reported_at is not an ISO 8601 date-time") from None
    else:
        raise _c.InvalidComplaint("reported_at", "reported_at must be an ISO 8601 date-time")
    if instant.tzinfo is None:
        raise _c.InvalidComplaint("reported_at", "reported_at needs a UTC offset (e.g. +08:00)")
    instant = instant.astimezone(dt.timezone.utc)
    if instant > received_at + CLOCK_SKEW:
        raise _c.InvalidComplaint("reported_at", "reported_at is in the future")
    if instant < received_at - COMMITTEE_MAX_AGE:
        raise _c.InvalidComplaint("reported_at", f"reported_at is more than {COMMITTEE_MAX_AGE.days} days ago")
    return min(instant, received_at)


def superior(data) -> dict:
    """The superior who forwarded the complaint: ``{name, title, phone, email}``."""
    if not isinstance(data, dict):
        raise _c.InvalidComplaint("forwarded_by", "forwarded_by must be an object")
    who = {"name": _c._text(data, "name", 50, required=True, prefix="forwarded_by."),
           "title": _c._text(data, "title", 50, prefix="forwarded_by."),
           "phone": _c._text(data, "phone", 20, prefix="forwarded_by."),
           "email": _c._text(data, "email", 254, prefix="forwarded_by.")}
    if who["phone"] and not (_c._MOBILE.match(who["phone"]) or _c._LANDLINE.match(who["phone"])):
        raise _c.InvalidComplaint("forwarded_by.phone", "not a phone number")
    if who["email"] and not _c._EMAIL.match(who["email"]):
        raise _c.InvalidComplaint("forwarded_by.email", "not an e-mail address")
    if not (who["phone"] or who["email"]):
        raise _c.InvalidComplaint("forwarded_by.phone", "the superior's phone number or e-mail address is required")
    return who


def channel_details(data: dict, channel: str, received_at: dt.datetime) -> tuple:
    """``(committee_received_at, forwarded_by, instructions)`` for ``channel``; None where they do not apply."""
    if channel != "committee" and _given(data.get("reported_at")):
        raise _c.InvalidComplaint("reported_at", "reported_at applies to the committee channel only")
    if channel != "head_office":
        for key in ("forwarded_by", "instructions"):
            if _given(data.get(key)):
                raise _c.InvalidComplaint(key, f"{key} applies to the head_office channel only")
    if channel == "committee":
        return reported_at(data.get("reported_at"), received_at), None, None
    if channel == "head_office":
        if not _given(data.get("forwarded_by")):
            raise _c.InvalidComplaint("forwarded_by.name", "forwarded_by is required for the head_office channel")
        return None, superior(data["forwarded_by"]), _c._text(data, "instructions", INSTRUCTIONS_MAX, required=True)
    return None, None, None
