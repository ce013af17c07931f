"""E-mail over SMTP: the MIME message we send, the connection, and which failures are worth retrying.

Bodies are base64/quoted-printable (a 7-bit clone of ``email.policy.SMTP``) so the Chinese text survives any
relay, with or without 8BITMIME; the UTF-8 subject is RFC 2047-encoded by the policy.

Connections: ``security`` ``none`` / ``starttls`` / ``tls`` (implicit TLS, SMTPS). Certificates are always
verified (``tls_context``: the system's roots plus the operator's private CA file, ``SMTP_CA_FILE``); there is no
switch to skip verification. A tenant's server (``address_allowed`` given) is resolved here, every resolved
address checked, and the socket connected to a checked address (no second lookup a rebinding DNS could
answer differently); TLS still verifies the name the tenant configured.
"""
from __future__ import annotations

import datetime as dt
import email.policy
import smtplib
import socket
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


def classify(exc: BaseException, tenant: bool = False) -> Failure:
    """Permanent only when the server refuses this recipient or this message for good (5xx).

    A refused sender, failed login or missing STARTTLS is our configuration, not the message: temporary, so
    the rows wait for an operator instead of failing all at once. Connection trouble is temporary too.
    ``tenant``: the server is a tenant's own (``mail_settings``): there nobody but the tenant's admin can fix a
    refused login or sender (5xx), a server that offers no STARTTLS/AUTH or an address the operator does not
    allow, so those fail the rows at once with the reason instead of waiting for an operator.
    """
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (0, b"recipient refused"))
        return Failure(500 <= code < 600, _reply(code, text))
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError, smtplib.SMTPConnectError,
                        smtplib.SMTPHeloError)):
        config = isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPAuthenticationError))
        return Failure(tenant and config and 500 <= exc.smtp_code < 600, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, smtplib.SMTPResponseException):
        return Failure(500 <= exc.smtp_code < 600, _reply(exc.smtp_code, exc.smtp_error))
    if isinstance(exc, (smtplib.SMTPNotSupportedError, AddressNotAllowed)):
        return Failure(tenant, f"{type(exc).__name__}: {exc}"[:2000])
    return Failure(False, f"{type(exc).__name__}: {exc}"[:2000])


SECURITIES = ("none", "starttls", "tls")


class AddressNotAllowed(OSError):
    """A tenant's server name resolves to an address the operator does not allow (``TENANT_SMTP_ALLOW_PRIVATE``)."""


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Certificate and host name verified, TLS 1.2 or later: the system's roots, plus ``ca_file`` (the operator's
    private CA, ``SMTP_CA_FILE``) when given."""
    context = ssl.create_default_context()
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    return context


def connect_checked(host: str, port: int, timeout: float, allowed, source_address=None) -> socket.socket:
    """A connection to ``host`` only if every address it resolves to passes ``allowed(ip)``; connects to those
    addresses themselves (in the resolver's order) so nothing is looked up twice."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses or not all(allowed(a) for a in addresses):  # which one stays unsaid: no internal DNS oracle
        raise AddressNotAllowed(f"{host} resolves to an address that is not allowed")
    error: OSError | None = None
    for address in addresses:
        try:
            return socket.create_connection((address, port), timeout, source_address)
        except OSError as exc:
            error = exc
    raise error


class _Checked(smtplib.SMTP):
    """``smtplib.SMTP`` whose socket comes from ``connect_checked`` when ``allowed`` is set."""

    allowed = None

    def _get_socket(self, host, port, timeout):
        if self.allowed is None:
            return super()._get_socket(host, port, timeout)
        return connect_checked(host, port, timeout, self.allowed, self.source_address)


class _CheckedSSL(smtplib.SMTP_SSL, _Checked):
    """Implicit TLS over a checked socket (``SMTP_SSL._get_socket`` wraps what ``_Checked`` connected)."""


class SmtpTransport:
    """Opens one SMTP session (TLS as ``security`` says, then login when a user is set) for a batch of messages.

    ``starttls=True`` is the older spelling of ``security="starttls"``. ``address_allowed(ip) -> bool``: set for
    tenants' servers only (the platform's server is the operator's). ``label``: ``host:port``, for reasons.
    """

    def __init__(self, host: str, port: int, timeout: float = 10.0, user: str | None = None,
                 password: str | None = None, starttls: bool = False, *, security: str | None = None,
                 context: ssl.SSLContext | None = None, address_allowed=None):
        self.host, self.port, self.timeout = host, port, timeout
        self.user, self.password = user, password
        self.security = security or ("starttls" if starttls else "none")
        if self.security not in SECURITIES:
            raise ValueError(f"SMTP security must be one of {SECURITIES}, not {self.security!r}")
        self.starttls = self.security == "starttls"
        self.context, self.address_allowed = context, address_allowed

    @property
    def label(self) -> str:
        return f"{self.host}:{self.port}"

    def _context(self) -> ssl.SSLContext:
        if self.context is None:
            self.context = tls_context()
        return self.context

    def connect(self) -> smtplib.SMTP:
        """The connection and the server's greeting (implicit TLS included); no STARTTLS or login yet."""
        if self.security == "tls":
            smtp = _CheckedSSL(timeout=self.timeout, context=self._context())
        else:
            smtp = _Checked(timeout=self.timeout)
        smtp.allowed = self.address_allowed
        smtp._host = self.host  # the name TLS verifies (smtplib sets it only when __init__ connects)
        try:
            code, greeting = smtp.connect(self.host, self.port)
            if code != 220:  # what __init__ checks when it connects
                raise smtplib.SMTPConnectError(code, greeting)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def secure(self, smtp: smtplib.SMTP) -> None:
        """STARTTLS when configured (``SMTPNotSupportedError`` if the server does not offer it: never a silent
        fall-back to clear text)."""
        if self.starttls:
            smtp.starttls(context=self._context())

    def login(self, smtp: smtplib.SMTP) -> None:
        if self.user:
            smtp.login(self.user, self.password or "")

    def open(self) -> smtplib.SMTP:
        smtp = self.connect()
        try:
            self.secure(smtp)
            self.login(smtp)
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
