"""E-mail to staff about their own account: the password reset link a user asked for on the gateway's "forgot
password" page (RPC ``queue_password_reset``, kind ``password_reset``, templates ``password_reset``).

The gateway never speaks SMTP, so it hands notify the address, the page language, the link and its expiry; the
message goes through the usual delivery loop (retries, failures, events). Only a trusted call may ask for it:
one without a person's roles in the context (the gateway's public page; the tenant is the user's, so
``Tenant`` still fails closed), never a signed-in user's call, which would make notify mail any link to any
address. The link is a secret: it is never logged, and the message's bodies are blanked once it is sent or
has failed (``repository.SECRET_KINDS``). The message is not about a complaint: ``complaint_id`` holds a fresh
id, as the periodic reports hold their run's.
"""
from __future__ import annotations

import logging
import re
import uuid
from email.utils import make_msgid

from . import repository, templates
from .domain.messages import DEFAULT_LOCALE, LOCALES, MESSAGE_ID_DOMAIN, InvalidPayload, Message, local_time
from .exceptions import Forbidden, ValidationFailed

KIND = "password_reset"  # the message kind and its template directory
ZONE = "Asia/Shanghai"  # staff are in China; the link's expiry is shown in China time
MAX_LINK = 2000
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")

log = logging.getLogger(__name__)


def _checked(recipient, locale, link, expires_at) -> tuple[str, str, str, str]:
    """``(recipient, locale, link, expires shown in China time)``; ``ValidationFailed`` naming the field."""
    recipient = recipient.strip() if isinstance(recipient, str) else ""
    if not _EMAIL.match(recipient) or len(recipient) > 254:
        raise ValidationFailed("a valid e-mail address is required", field="recipient")
    if not (isinstance(link, str) and link.startswith(("https://", "http://")) and len(link) <= MAX_LINK
            and not any(c.isspace() or ord(c) < 32 for c in link)):
        raise ValidationFailed("an absolute http(s) link is required", field="link")
    try:
        expires = local_time(str(expires_at), ZONE)
    except (InvalidPayload, ValueError):
        raise ValidationFailed("expires_at must be an ISO 8601 time with a zone", field="expires_at") from None
    locale = str(locale or "").replace("-", "_")
    return recipient, locale if locale in LOCALES else DEFAULT_LOCALE, link, expires


def queue_password_reset(tenant_id: str, caller_roles, recipient, locale, link, expires_at, uow) -> dict:
    """Render and queue the reset e-mail; ``{"message_id", "status": "queued"}``. The caller wakes the mailer."""
    if caller_roles is not None:
        raise Forbidden("password reset e-mails are sent for the gateway's forgot-password page only")
    recipient, locale, link, expires = _checked(recipient, locale, link, expires_at)
    rendered = templates.render(KIND, locale, {"link": link, "expires": expires})
    with uow:
        message = Message(
            tenant_id=tenant_id, complaint_id=str(uuid.uuid4()), case_id=None, kind=KIND, channel="email",
            recipient=recipient, locale=locale, reference="", subject=rendered.subject, body_text=rendered.text,
            body_html=rendered.html, status="queued", created_at=uow.clock.now(),
            smtp_message_id=make_msgid(domain=MESSAGE_ID_DOMAIN))
        repository.add_message(uow.conn, message)
        uow.commit()
    log.info("password reset e-mail %s queued", message.id)  # no address, no link
    return {"message_id": message.id, "status": "queued"}
