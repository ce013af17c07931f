"""Outgoing messages to complainants: what is sent to whom, and the acknowledgement of ``case_opened``.

Plain Python (the renderer is passed in), so it is tested without a broker, a database or Jinja.
"""
from __future__ import annotations

import datetime as dt
import re
import uuid
from dataclasses import dataclass
from email.utils import make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
STATUSES = ("queued", "sent", "failed", "skipped")
ACKNOWLEDGEMENT = "acknowledgement"
FIRST_CONTACT = "first_contact"
NO_EMAIL = "no e-mail address"
MESSAGE_ID_DOMAIN = "estatedesk.local"

_EMAIL_IN_TEXT = re.compile(r"([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9.\-]+\.[A-Za-z]{2,})")


class InvalidPayload(ValueError):
    """The event lacks what the message needs: not retryable, the consumer dead-letters it."""


@dataclass(frozen=True)
class Message:
    tenant_id: str
    complaint_id: str
    case_id: str | None
    kind: str
    channel: str
    recipient: str
    locale: str
    reference: str
    subject: str
    body_text: str
    body_html: str
    status: str
    created_at: dt.datetime
    last_error: str | None = None
    smtp_message_id: str | None = None
    id: str = ""

    def __post_init__(self):
        if not self.id:
            object.__setattr__(self, "id", str(uuid.uuid4()))
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")


def mask_email(address: str) -> str:
    """``zhang@example.com`` -> ``z***@example.com``; anything without ``@`` -> ``***``."""
    local, at, domain = (address or "").strip().partition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_emails_in(text: str) -> str:
    """Mask every e-mail address inside free text (SMTP error replies quote the recipient)."""
    return _EMAIL_IN_TEXT.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text or "")


def pick_locale(value) -> str:
    if isinstance(value, str):
        value = value.replace("-", "_")
        for locale in LOCALES:
            if value.lower() == locale.lower() or value.lower().startswith(locale.split("_")[0].lower()):
                return locale
    return DEFAULT_LOCALE


def local_time(iso: str, timezone: str) -> str:
    """An ISO 8601 instant shown in the estate's zone, e.g. ``2026-11-24 15:30``."""
    when = dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        raise InvalidPayload(f"deadline {iso!r} has no time zone")
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidPayload(f"unknown time zone {timezone!r}") from exc
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def _text(obj: dict, key: str, required: bool = False) -> str:
    value = obj.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidPayload(f"{key} must be text")
    if required and not value.strip():
        raise InvalidPayload(f"{key} is required")
    return value.strip()


def acknowledgement_context(payload: dict) -> dict:
    """The template variables of the acknowledgement, from a ``case_opened`` (v1) payload."""
    estate = payload.get("estate")
    complainant = payload.get("complainant") or {}
    if not isinstance(estate, dict) or not isinstance(complainant, dict):
        raise InvalidPayload("estate and complainant must be objects")
    timezone = _text(estate, "timezone") or "Asia/Shanghai"
    deadlines = payload.get("deadlines") or []
    if not isinstance(deadlines, list):
        raise InvalidPayload("deadlines must be a list")
    due = next((d.get("due_at") for d in deadlines if isinstance(d, dict) and d.get("stage") == FIRST_CONTACT), None)
    return {
        "reference": _text(payload, "reference", required=True),
        "estate_name": _text(estate, "name") or _text(estate, "code", required=True),
        "complainant_name": _text(complainant, "name"),
        "unit": _text(complainant, "unit"),
        "description": _text(payload, "description"),
        "first_contact_due": local_time(due, timezone) if due else None,
        "timezone": timezone,
    }


def new_acknowledgement(tenant_id: str, payload: dict, now: dt.datetime, render) -> Message:
    """Queue the acknowledgement e-mail, or record that none can be sent (no address; SMS comes later).

    ``render(message, locale, context)`` returns an object with ``subject``, ``text`` and ``html``.
    """
    if not isinstance(payload, dict):
        raise InvalidPayload("payload must be an object")
    context = acknowledgement_context(payload)
    locale = pick_locale(payload.get("locale"))
    email = _text(payload.get("complainant") or {}, "email")
    common = dict(tenant_id=tenant_id, complaint_id=_text(payload, "complaint_id", required=True),
                  case_id=_text(payload, "case_id") or None, kind=ACKNOWLEDGEMENT, channel="email",
                  locale=locale, reference=context["reference"], created_at=now)
    if not email:
        return Message(**common, recipient="", subject="", body_text="", body_html="", status="skipped",
                       last_error=NO_EMAIL)
    rendered = render(ACKNOWLEDGEMENT, locale, context)
    return Message(**common, recipient=email, subject=rendered.subject, body_text=rendered.text,
                   body_html=rendered.html, status="queued", smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN))
