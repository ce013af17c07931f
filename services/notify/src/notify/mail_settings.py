"""A tenant's outgoing mail server (发件邮箱): the RPCs behind the gateway's ``/api/v1/mail-settings``.

Group admins only (a call without a person's roles is refused too: nothing else needs these). Rules in
``domain/mail_settings.py``; the password's encryption, the delivery routes and the test in ``tenant_smtp.py``.

- ``get_mail_settings()``: the view, never the password: ``password_set`` says whether one is stored.
- ``save_mail_settings(data)``: ``mode`` ``platform`` clears the tenant's server (password included) and goes
  back to the operator's; ``custom`` stores it after the checks. Answers ``{"settings", "before",
  "password_changed"}`` so the gateway can audit the change (before/after, no password) without a second read.
- ``send_test_mail(to, locale, settings=None)``: sends one test mail now, with ``settings`` as given (not
  saved; an empty password means the stored one, under the same rule as a save) or else the settings in force,
  and answers which step failed and the server's reply (``tenant_smtp.probe``).
"""
from __future__ import annotations

from email.utils import make_msgid

from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from estatedesk_common import secrets

from . import templates
from .domain import mail_settings as rules
from .domain.messages import DEFAULT_LOCALE, LOCALES, MESSAGE_ID_DOMAIN
from .exceptions import Conflict, Forbidden, ValidationFailed
from .smtp import build_email
from .tables import mail_settings
from .tenant_smtp import MailPolicy, probe, reveal_password, seal_password, sender_of, server_of, transport_for

ADMIN_ROLES = ("group_admin",)
TEST_KIND = "mail_test"  # the test mail's template directory
SECURITY_NAMES = {"none": "SMTP", "starttls": "STARTTLS", "tls": "SSL/TLS"}


def _require_admin(caller_roles) -> None:
    if not caller_roles or not any(role in ADMIN_ROLES for role, _estate in caller_roles):
        raise Forbidden("only a group admin manages the outgoing mail server")


def _invalid(exc: rules.InvalidMailSettings) -> ValidationFailed:
    return ValidationFailed(str(exc), field=exc.field, details={"reason": exc.reason})


def view(row) -> dict:
    server = server_of(row)
    updated = {"updated_at": row["updated_at"].isoformat() if row is not None else None,
               "updated_by": row["updated_by"] if row is not None else None}
    if server is None:
        return {"mode": "platform", "host": "", "port": None, "security": None, "username": "", "password_set": False,
                "from_address": "", "from_name": ""} | updated
    return {"mode": "custom", "host": server.host, "port": server.port, "security": server.security,
            "username": server.username, "password_set": bool(row["password"]), "from_address": server.from_address,
            "from_name": server.from_name} | updated


def _load(conn, tenant_id: str):
    return conn.execute(select(mail_settings).where(mail_settings.c.tenant_id == tenant_id)).mappings().first()


def get_mail_settings(tenant_id: str, caller_roles, engine) -> dict:
    _require_admin(caller_roles)
    with engine.connect() as conn:
        return view(_load(conn, tenant_id))


def _mode(data) -> str:
    if not isinstance(data, dict):
        raise ValidationFailed("the settings must be an object", field="body", details={"reason": "invalid"})
    mode = data.get("mode", "custom")
    if mode not in rules.MODES:
        raise ValidationFailed(f"mode must be one of {', '.join(rules.MODES)}", field="mode",
                               details={"reason": "invalid_mode"})
    return mode


def save_mail_settings(data, tenant_id: str, user_id, caller_roles, uow, policy: MailPolicy) -> dict:
    _require_admin(caller_roles)
    mode = _mode(data)
    with uow:
        current = _load(uow.conn, tenant_id)
        values = {"mode": "platform", "host": "", "port": None, "security": None, "username": "", "password": None,
                  "from_address": "", "from_name": "", "updated_at": uow.clock.now(), "updated_by": user_id}
        password_changed = bool(current is not None and current["password"])
        if mode == "custom":
            try:
                server, password = rules.check(data, server_of(current), bool(current and current["password"]),
                                               policy.address_allowed)
            except rules.InvalidMailSettings as exc:
                raise _invalid(exc) from None
            sealed = seal_password(password, policy.environ) if password else None
            if server.username and sealed is None:
                sealed = current["password"]  # kept: same host and username (rules.check)
            password_changed = sealed != (current["password"] if current is not None else None)
            values |= {"mode": "custom", "host": server.host, "port": server.port, "security": server.security,
                       "username": server.username, "password": sealed, "from_address": server.from_address,
                       "from_name": server.from_name}
        try:
            if current is None:
                uow.conn.execute(mail_settings.insert().values(tenant_id=tenant_id, **values))
            else:
                uow.conn.execute(mail_settings.update().where(mail_settings.c.tenant_id == tenant_id).values(**values))
            uow.commit()
        except sa_exc.IntegrityError:
            raise Conflict("the mail settings were saved at the same time by someone else; try again",
                           field="mode") from None
    return {"settings": view(values | {"tenant_id": tenant_id}), "before": view(current),
            "password_changed": password_changed}


def _tested_server(data, stored_row, policy: MailPolicy):
    """``(transport, sender)`` for the settings to test: ``data`` (unsaved) or the stored row; platform if none."""
    if data is None:
        server = server_of(stored_row)
        if server is None:
            return policy.platform, policy.platform_sender
        password = reveal_password(stored_row["password"], policy.environ) if server.username else None
        return transport_for(server, password, policy), sender_of(server)
    if _mode(data) == "platform":
        return policy.platform, policy.platform_sender
    stored = server_of(stored_row)
    try:
        server, password = rules.check(data, stored, bool(stored is not None and stored_row["password"]),
                                       policy.address_allowed)
    except rules.InvalidMailSettings as exc:
        raise _invalid(exc) from None
    if server.username and not password:
        password = reveal_password(stored_row["password"], policy.environ)
    return transport_for(server, password, policy), sender_of(server)


def send_test_mail(to, locale, settings, tenant_id: str, caller_roles, engine, policy: MailPolicy) -> dict:
    """Send one test mail to ``to`` now; ``{"ok", "server", "security", "stage"?, "error"?, "reply"?}``."""
    _require_admin(caller_roles)
    to = to.strip() if isinstance(to, str) else ""
    try:
        rules.check_address(to, "to")
    except rules.InvalidMailSettings as exc:
        raise _invalid(exc) from None
    locale = str(locale or "").replace("-", "_")
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    with engine.connect() as conn:
        stored_row = _load(conn, tenant_id)
    try:
        transport, sender = _tested_server(settings, stored_row, policy)
    except secrets.SecretError as exc:
        return {"ok": False, "stage": "config", "error": "password_unreadable", "reply": str(exc)[:500],
                "server": server_of(stored_row).label if server_of(stored_row) else "", "security": None}
    rendered = templates.render(TEST_KIND, locale, {"server": transport.label, "sender": sender,
                                                    "security": SECURITY_NAMES[transport.security]})
    message = build_email(sender=sender, recipient=to, subject=rendered.subject, body_text=rendered.text,
                          body_html=rendered.html, message_id=make_msgid(domain=MESSAGE_ID_DOMAIN), reference="")
    return probe(transport, message)
