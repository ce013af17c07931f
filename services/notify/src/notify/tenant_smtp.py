"""Tenants' own outgoing mail servers at work: the delivery loop's routes, the password's encryption, the test mail.

- **Password at rest**: ``mail_settings.password`` holds ``enc:v1:<Fernet token>`` made with the first key of
  ``ESTATEDESK_SECRETS_KEY`` (``estatedesk_common.secrets``, as intake's channel secrets). Unlike intake's columns
  it takes nothing else: no ``env:NAME`` reference (a tenant must not make notify read the service's environment)
  and no plain text; without a key nothing is stored (``SecretsKeyMissing``). Read only when a session needs it.
- **Routes** (``TenantRoutes``): for the tenants of a batch, one query, one ``mail.Route`` per tenant whose mode
  is ``custom``: its server, its sender, a password that cannot be decrypted becomes a temporary failure of its
  rows (an operator's key problem) without touching anyone else's.
- **Test mail** (``probe``): connect, STARTTLS, login and send one message step by step, and say which step
  failed with the server's reply (the gateway words it in the user's language).
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from email.headerregistry import Address

from sqlalchemy import select

from estatedesk_common import secrets
from estatedesk_common.errors import EstateDeskError

from . import reads
from .domain import webhooks as address_rules
from .domain.mail_settings import MailServer
from .mail import Route
from .outcomes import Failure
from .smtp import AddressNotAllowed, SmtpTransport, _reply
from .tables import mail_settings

log = logging.getLogger(__name__)


class SecretsKeyMissing(EstateDeskError):
    """No ``ESTATEDESK_SECRETS_KEY``: a password cannot be stored encrypted, so it is not stored."""
    code, status = "secrets_key_missing", 503


@dataclass(frozen=True)
class MailPolicy:
    """What ``Mailer.setup()`` read: the environment (the secrets key), the TLS context (system roots plus
    ``SMTP_CA_FILE``), whether tenants' servers may be private addresses, the timeout, the platform's server."""
    environ: Mapping
    context: ssl.SSLContext
    allow_private: bool
    timeout: float
    platform: SmtpTransport
    platform_sender: str

    def address_allowed(self, ip: str) -> bool:
        return address_rules.address_allowed(ip, self.allow_private)


def seal_password(password: str, environ: Mapping) -> str:
    ring = secrets.keyring(environ)
    if ring is None:
        raise SecretsKeyMissing(f"{secrets.KEY_ENV} is not set: the mail server password cannot be stored "
                                f"encrypted", field="password")
    return secrets.PREFIX + ring.encrypt(password.encode("utf-8")).decode("ascii")


def reveal_password(stored: str | None, environ: Mapping) -> str | None:
    """The password from ``enc:v1:...``; ``SecretError`` for anything else or a key that does not fit."""
    if not stored:
        return None
    if not secrets.is_encrypted(stored):
        raise secrets.SecretError("mail server password is not stored encrypted")
    return secrets.reveal(stored, environ, "mail server password")


def server_of(row) -> MailServer | None:
    if row is None or row["mode"] != "custom":
        return None
    return MailServer(row["host"], row["port"], row["security"], row["username"] or "", row["from_address"],
                      row["from_name"] or "")


def sender_of(server: MailServer) -> str:
    return str(Address(display_name=server.from_name, addr_spec=server.from_address))


def transport_for(server: MailServer, password: str | None, policy: MailPolicy) -> SmtpTransport:
    return SmtpTransport(server.host, server.port, timeout=policy.timeout, user=server.username or None,
                         password=password, security=server.security, context=policy.context,
                         address_allowed=policy.address_allowed)


class TenantRoutes:
    """``routes(tenant_ids) -> {tenant_id: Route}`` for ``mail.EmailChannel``: the tenants among them with their own
    server; the others are absent (the platform's server)."""

    def __init__(self, engine, policy: MailPolicy):
        self.engine, self.policy = engine, policy

    def __call__(self, tenant_ids) -> dict:
        ids = sorted(t for t in tenant_ids if t)
        if not ids:
            return {}
        with reads.connection(self.engine) as conn:
            rows = conn.execute(select(mail_settings).where(mail_settings.c.tenant_id.in_(ids),
                                                            mail_settings.c.mode == "custom")).mappings().all()
        return {row["tenant_id"]: self._route(row) for row in rows}

    def _route(self, row) -> Route:
        server = server_of(row)
        key = f"tenant:{row['tenant_id']}"
        try:
            password = reveal_password(row["password"], self.policy.environ) if server.username else None
        except secrets.SecretError as exc:
            log.error("tenant %s: %s", row["tenant_id"], exc)
            return Route(key, None, "", server.label, True, Failure(False, f"{server.label}: {exc}"))
        return Route(key, transport_for(server, password, self.policy), sender_of(server), server.label, True)


# -- the test mail --------------------------------------------------------------------------------------------

def _failure(stage: str, exc: BaseException) -> dict:
    """``{stage, error, reply}``: a stable ``error`` code the gateway translates, the server's own words."""
    reply = _reply(exc.smtp_code, exc.smtp_error) if isinstance(exc, smtplib.SMTPResponseException) \
        else f"{type(exc).__name__}: {exc}"
    if isinstance(exc, AddressNotAllowed):
        error = "address_not_allowed"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        error = "certificate_invalid"
    elif isinstance(exc, smtplib.SMTPNotSupportedError):
        error = "starttls_unsupported" if stage == "tls" else "auth_unsupported"
    elif isinstance(exc, smtplib.SMTPAuthenticationError):
        error = "auth_failed"
    elif isinstance(exc, smtplib.SMTPSenderRefused):
        error = "sender_refused"
    elif isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (0, b"recipient refused"))
        error, reply = "recipient_refused", _reply(code, text)
    elif isinstance(exc, smtplib.SMTPDataError):
        error = "message_refused"
    elif isinstance(exc, ssl.SSLError) or stage == "tls":
        error = "tls_failed"
    elif stage == "connect":
        error = "connect_failed"
    else:
        error = "server_error"
    return {"ok": False, "stage": stage, "error": error, "reply": reply[:500]}


def probe(transport: SmtpTransport, message) -> dict:
    """Send ``message`` step by step: ``{"ok": True}`` or ``{"ok": False, "stage": connect|tls|auth|send, "error",
    "reply"}``; plus ``server`` and ``security`` either way."""
    facts = {"server": transport.label, "security": transport.security}
    stage = "connect"
    try:
        smtp = transport.connect()
    except Exception as exc:
        return facts | _failure("connect" if not isinstance(exc, ssl.SSLError) else "tls", exc)
    try:
        stage = "tls"
        transport.secure(smtp)
        stage = "auth"
        transport.login(smtp)
        stage = "send"
        transport.send(smtp, message)
    except Exception as exc:
        return facts | _failure(stage, exc)
    finally:
        transport.close(smtp)
    return facts | {"ok": True, "message_id": message["Message-ID"]}


def encrypt_existing(engine, environ: Mapping) -> dict:
    """Re-encrypt every stored mail server password with the first key of ``ESTATEDESK_SECRETS_KEY`` (the last
    step of a key rotation: ``python -m notify.cli encrypt-secrets``); one transaction, nothing written when a
    value no key opens is found. ``{"mail_settings.password": {"re-encrypted": n, "unchanged": n}}``."""
    if secrets.keyring(environ) is None:
        raise secrets.SecretError(f"{secrets.KEY_ENV} is not set: nothing to encrypt with")
    counts = {"re-encrypted": 0, "unchanged": 0}
    with engine.begin() as conn:
        for row in conn.execute(select(mail_settings.c.tenant_id, mail_settings.c.password)).mappings().all():
            if not row["password"]:
                counts["unchanged"] += 1
                continue
            if not secrets.is_encrypted(row["password"]):
                raise secrets.SecretError("a mail server password is not stored encrypted")
            conn.execute(mail_settings.update().where(mail_settings.c.tenant_id == row["tenant_id"]).values(
                password=secrets.rewrap(row["password"], environ)))
            counts["re-encrypted"] += 1
    return {"mail_settings.password": counts}
