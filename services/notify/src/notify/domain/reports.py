"""Delivery reports (DLR) as Kannel calls our ``dlr-url``: parsing and what each type means for a message.

Kannel types: 1 delivered to the phone, 2 not delivered to the phone, 4 buffered at the SMSC, 8 accepted by
the SMSC, 16 rejected by the SMSC. 1, 2 and 16 are final; 4 and 8 only note progress.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

DELIVERED, UNDELIVERED, BUFFERED, SMSC_SUBMIT, SMSC_REJECT = 1, 2, 4, 8, 16
TYPES = {DELIVERED: "delivered to the phone", UNDELIVERED: "not delivered to the phone",
         BUFFERED: "buffered at the SMSC", SMSC_SUBMIT: "accepted by the SMSC", SMSC_REJECT: "rejected by the SMSC"}
FINAL = frozenset({DELIVERED, UNDELIVERED, SMSC_REJECT})
FAILED = frozenset({UNDELIVERED, SMSC_REJECT})


class MalformedReport(ValueError):
    """Not a delivery report we can use: logged and answered 400, never retried by us."""


@dataclass(frozen=True)
class Report:
    tenant_id: str
    message_id: str
    token: str
    type: int
    reply: str
    at: dt.datetime
    attempt: int | None = None  # the send it belongs to (``a`` in our dlr-url; absent in URLs from before)

    @property
    def final(self) -> bool:
        return self.type in FINAL

    @property
    def failed(self) -> bool:
        return self.type in FAILED


def _uuid(args, key: str) -> str:
    try:
        return str(uuid.UUID(str(args.get(key) or "")))
    except ValueError as exc:
        raise MalformedReport(f"{key} is not an id") from exc


def parse(args, now: dt.datetime) -> Report:
    """``args``: the query (a mapping). ``at`` is ``now``, when we heard of it: Kannel's ``%T`` has whole
    seconds only and would sort the report before the complaint itself on the timeline."""
    token = str(args.get("k") or "")
    if not token or len(token) > 64:
        raise MalformedReport("missing token")
    try:
        kind = int(str(args.get("type") or ""))
    except ValueError as exc:
        raise MalformedReport(f"type {args.get('type')!r} is not a number") from exc
    if kind not in TYPES:
        raise MalformedReport(f"unknown DLR type {kind}")
    return Report(tenant_id=_uuid(args, "t"), message_id=_uuid(args, "m"), token=token, type=kind,
                  reply=str(args.get("reply") or "")[:500], at=now, attempt=_attempt(args.get("a")))


def _attempt(value) -> int | None:
    if value in (None, ""):
        return None
    text = str(value)
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise MalformedReport(f"attempt {value!r} is not a number")
    return int(text)


def failure_reason(dlr_type: int, reply: str | None) -> str:
    text = f"DLR {dlr_type}: {TYPES.get(dlr_type, 'unknown')}"
    return f"{text} ({reply.strip()})" if reply and reply.strip() else text
