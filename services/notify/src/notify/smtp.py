"""E-mail over SMTP: the MIME message we send, the connection, and which failures are worth retrying.

Bodies are base64/quoted-printable (a 7-bit clone of ``email.policy.SMTP``) so the Chinese text survives any
relay, with or without 8BITMIME; the UTF-8 subject is RFC 2047-encoded by the policy.
"""
from __future__ import annotations

import datetime as dt
import email.policy
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import format_datetime

from .outcomes import Failure

POLICY = email.policy.SMTP.clone(cte_type="7bit")


def build_email(*, sender: str, recipient: str, subject: str, body_text: str, body_html: str,
                message_id: str, reference: str, date: dt.datetime | None = None) -> EmailMessage:
    """multipart/alternative: plain text first, HTML second (clients show the last part they understand)."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Date"] = format_datetime(date or dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = message_id
    msg["X-EstateDesk-Reference"] = reference
    msg.set_content(body_text, subtype="plain", charset="utf-8")
    msg.add_alternative(body_html, subtype="html", charset="utf-8")
    return msg


def _reply(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()


def classify(exc: BaseException) -> Failure:
    """Permanent only when the server refuses this recipient or this message for good (5xx).

    A refused sender, failed login or missing STARTTLS is our configuration, not the message: temporary, so
    the rows wait for an operator instead of failing all at once. Connection trouble is temporary too.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (0, b"recipient refused"))
        return Failure(500 <= code < 600, _reply(code, text))
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError,
                        smtplib.SMTPHeloError)):
        return Failure(False, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(500 <= exc.smtp_code < 600, _reply(exc.smtp_code, exc.smtp_error))
    return Failure(False, f"{type(exc).__name__}: {exc}"[:2000])


class SmtpTransport:
    """Opens one SMTP session (optionally STARTTLS + login) for a batch of messages."""

    def __init__(self, host: str, port: int, timeout: float = 10.0, user: str | None = None,
                 password: str | None = None, starttls: bool = False):
        self.host, self.port, self.timeout = host, port, timeout
        self.user, self.password, self.starttls = user, password, starttls

    def open(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    @staticmethod
    def send(smtp: smtplib.SMTP, msg: EmailMessage) -> None:
        smtp.send_message(msg)

    @staticmethod
    def close(smtp: smtplib.SMTP) -> None:
        try:
            smtp.quit()
        except Exception:  # the session is over either way
            smtp.close()
