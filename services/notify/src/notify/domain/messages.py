"""Outgoing messages to complainants: what is sent to whom, and the acknowledgement of ``case_opened``
(an e-mail, and an SMS when the complainant gave a phone number).

Plain Python (the renderer is passed in), so it is tested without a broker, a database or Jinja.
"""
from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass
from email.utils import make_msgid
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .phones import InvalidPhone, mask_phone, national_mobile

LOCALES = ("zh_CN", "en")
DEFAULT_LOCALE = "zh_CN"
STATUSES = ("queued", "sent", "delivered", "failed", "skipped", "unknown")  # unknown: an SMS whose answer was lost
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
    timezone: str | None = None  # the estate's zone (quiet hours at send time)
    next_attempt_at: dt.datetime | None = None
    deferred_until: dt.datetime | None = None  # held back by quiet hours until then
    dlr_token: str | None = None  # secret in the delivery-report URL of this message only
    urgent: bool = False  # ignores quiet hours (an owner update of an urgent/major case)
    wechat_app_id: str | None = None  # channel wechat: the official account that sends it (recipient = openid)
    fallback: dict | None = None  # channel wechat: {"to", "text", "urgent"} of the SMS queued if WeChat fails

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


def mask_recipient(channel: str, recipient: str) -> str:
    if not recipient:
        return ""
    if channel == "wechat":
        from .wechat import mask_openid  # wechat builds on Message
        return mask_openid(recipient)
    return mask_phone(recipient) if channel == "sms" else mask_email(recipient)


def event_fields(row, attempts: int) -> dict:
    """The common payload of ``notification_*`` events for a ``messages`` row (mapping); recipient masked."""
    return {"message_id": row["id"], "complaint_id": row["complaint_id"], "case_id": row["case_id"],
            "kind": row["kind"], "channel": row["channel"], "reference": row["reference"],
            "recipient": mask_recipient(row["channel"], row["recipient"]), "attempts": attempts}


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


def acknowledgement_context(payload: dict, now: dt.datetime | None = None) -> dict:
    """The template variables of the acknowledgement, from a ``case_opened`` (v1) payload.

    For the short SMS: ``first_contact_time`` (``15:30``), and ``first_contact_month``/``_day`` only when the
    deadline is not on the same local day as ``now``.
    """
    estate = payload.get("estate")
    complainant = payload.get("complainant") or {}
    if not isinstance(estate, dict) or not isinstance(complainant, dict):
        raise InvalidPayload("estate and complainant must be objects")
    timezone = _text(estate, "timezone") or "Asia/Shanghai"
    deadlines = payload.get("deadlines") or []
    if not isinstance(deadlines, list):
        raise InvalidPayload("deadlines must be a list")
    due = next((d.get("due_at") for d in deadlines if isinstance(d, dict) and d.get("stage") == FIRST_CONTACT), None)
    short = _short_time(due, timezone, now) if due else {}
    return short | {
        "reference": _text(payload, "reference", required=True),
        "estate_name": _text(estate, "name") or _text(estate, "code", required=True),
        "complainant_name": _text(complainant, "name"),
        "unit": _text(complainant, "unit"),
        "description": _text(payload, "description"),
        "first_contact_due": local_time(due, timezone) if due else None,
        "timezone": timezone,
    }


def _short_time(iso: str, timezone: str, now: dt.datetime | None) -> dict:
    local = dt.datetime.strptime(local_time(iso, timezone), "%Y-%m-%d %H:%M")
    same_day = now is not None and now.astimezone(ZoneInfo(timezone)).date() == local.date()
    return {"first_contact_time": f"{local:%H:%M}", "first_contact_month": None if same_day else local.month,
            "first_contact_day": None if same_day else local.day}


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


def new_sms_acknowledgement(tenant_id: str, payload: dict, now: dt.datetime, render_sms, quiet_hours) -> Message | None:
    """The acknowledgement SMS, or None when the complainant gave no phone number.

    A number that is not a mainland mobile gives a ``failed`` row with the reason (nothing to retry). Not
    urgent: inside the estate's quiet hours it waits until they end (``deferred_until``).
    ``render_sms(message, locale, context)`` returns the text.
    """
    phone = _text(payload.get("complainant") or {}, "phone")
    if not phone:
        return None
    context = acknowledgement_context(payload, now)
    locale = pick_locale(payload.get("locale"))
    common = dict(tenant_id=tenant_id, complaint_id=_text(payload, "complaint_id", required=True),
                  case_id=_text(payload, "case_id") or None, kind=ACKNOWLEDGEMENT, channel="sms", locale=locale,
                  reference=context["reference"], created_at=now, subject="", body_html="",
                  timezone=context["timezone"])
    try:
        number = national_mobile(phone)
    except InvalidPhone as exc:
        return Message(**common, recipient=phone[:254], body_text="", status="failed", last_error=str(exc))
    deferred = quiet_hours.deferred_until(now, context["timezone"])
    return Message(**common, recipient=number, body_text=render_sms(ACKNOWLEDGEMENT, locale, context),
                   status="queued", next_attempt_at=deferred, deferred_until=deferred,
                   dlr_token=secrets.token_hex(16))


URGENT_KINDS: frozenset[str] = frozenset()  # none yet; e.g. an emergency notice would go out at night


def is_urgent(kind: str) -> bool:
    """Urgent messages ignore quiet hours; an acknowledgement is not urgent."""
    return kind in URGENT_KINDS
