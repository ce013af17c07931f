"""Delivery dependencies: ``Mailer`` (SMTP), ``Sms`` (Kannel) and ``WeChat`` (customer-service API), each
running its channel's delivery loop (``delivery.DeliveryLoop``) as a managed greenthread. Config is read here,
in ``setup()``, only.

Both reuse the service's ``Database`` provider (found by attribute name among the container's dependencies)
for the engine, the outbox/inbox tables and the outbox relay's wake-up, so a sent/failed mark and its event
commit together through an estatedesk_common ``UnitOfWork``.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass

from nameko.extensions import DependencyProvider

from estatedesk_common.unit_of_work import UnitOfWork

from .delivery import MAX_ATTEMPTS, DeliveryLoop
from .domain.lost_answers import DEFAULT_DLR_WAIT
from .domain.quiet_hours import QuietHours, parse_hhmm
from .domain.opt_outs import DEFAULT_LIMIT
from .mail import EmailChannel
from .opt_outs import SmsThrottle
from .sms import DLR_MASK_ALL, KannelProvider, SmsChannel, dlr_url
from .smtp import SmtpTransport, tls_context
from .tenant_smtp import MailPolicy, TenantRoutes
from .wechat import DEFAULT_BASE_URL as WECHAT_API, IntakeCredentials, WeChatChannel, WeChatSender

DEFAULT_FROM = "EstateDesk <noreply@estatedesk.local>"
DEFAULT_SENDSMS_URL = "http://127.0.0.1:13013/cgi-bin/sendsms"


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class DispatcherHandle:
    """What a worker gets: ``wake()`` after committing a queued message, so it goes out at once."""

    def __init__(self, wake, policy=None):
        self.wake, self.policy = wake, policy


class Dispatcher(DependencyProvider):
    """Runs one channel's delivery loop; subclasses build the channel from config in ``setup()``."""

    def __init__(self, database: str = "db"):
        self.database = database
        self.loop = None
        self.channel = None
        self.poll_interval, self.max_attempts = 1.0, MAX_ATTEMPTS

    def _database(self):
        for dep in self.container.dependencies:
            if dep.attr_name == self.database:
                return dep
        raise RuntimeError(f"{type(self).__name__} needs the service's Database provider as {self.database!r}")

    def start(self):
        if self.channel is None:
            return
        db = self._database()  # every provider's setup() has run before any start()
        on_events = db.relay.wake if db.relay else None

        def new_uow():
            return UnitOfWork(db.engine, db.tables, db.clock, None, on_events)

        self.loop = DeliveryLoop(db.engine, new_uow, self.channel, db.clock, self.poll_interval,
                                 max_attempts=self.max_attempts)
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return DispatcherHandle(self.loop.wake if self.loop else (lambda: None), getattr(self, "policy", None))


class Mailer(Dispatcher):
    """The e-mail loop: the platform's server from ``SMTP_*``, tenants' own servers from ``mail_settings``
    (``tenant_smtp``); ``policy`` (a ``MailPolicy``) serves the mail-settings RPCs."""

    def setup(self):
        cfg = self.container.config
        timeout = float(cfg.get("SMTP_TIMEOUT") or 10)
        context = tls_context(cfg.get("SMTP_CA_FILE") or None)  # a private CA: the operator's, never a tenant's
        security = str(cfg.get("SMTP_SECURITY") or "").strip().lower() or None
        transport = SmtpTransport(
            host=str(cfg.get("SMTP_HOST") or "127.0.0.1"), port=int(cfg.get("SMTP_PORT") or 1025),
            timeout=timeout, user=cfg.get("SMTP_USER") or None,
            password=cfg.get("SMTP_PASSWORD") or None, starttls=_bool(cfg.get("SMTP_STARTTLS", False)),
            security=security, context=context,
        )
        sender = str(cfg.get("SMTP_FROM") or DEFAULT_FROM)
        self.policy = MailPolicy(dict(os.environ), context, _bool(cfg.get("TENANT_SMTP_ALLOW_PRIVATE", False)),
                                 timeout, transport, sender)
        self.channel = EmailChannel(transport, sender)
        self.poll_interval = float(cfg.get("MAILER_POLL_SECONDS") or 1.0)
        self.max_attempts = int(cfg.get("SMTP_MAX_ATTEMPTS") or MAX_ATTEMPTS)

    def start(self):
        self.channel.routes = TenantRoutes(self._database().engine, self.policy)
        super().start()


@dataclass(frozen=True)
class SmsPolicy:
    """What the handlers need to know about SMS; ``mo_token``: the secret Kannel's MO URL carries (None: not
    checked, the endpoint listens on loopback)."""
    enabled: bool
    quiet_hours: QuietHours
    mo_token: str | None = None


def dlr_base_url(cfg) -> str:
    """Where Kannel reaches our DLR endpoint: ``DLR_BASE_URL``, else nameko's ``WEB_SERVER_ADDRESS``."""
    if cfg.get("DLR_BASE_URL"):
        return str(cfg["DLR_BASE_URL"])
    host, _, port = str(cfg.get("WEB_SERVER_ADDRESS") or "127.0.0.1:9203").rpartition(":")
    return f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}"


class Sms(Dispatcher):
    def setup(self):
        cfg = self.container.config
        quiet = QuietHours(parse_hhmm(cfg.get("QUIET_HOURS_START") or "22:00"),
                           parse_hhmm(cfg.get("QUIET_HOURS_END") or "07:00"))
        self.policy = SmsPolicy(_bool(cfg.get("SMS_ENABLED", False)), quiet, cfg.get("KANNEL_MO_TOKEN") or None)
        limit = cfg.get("SMS_MAX_PER_HOUR")
        self.max_per_hour = int(DEFAULT_LIMIT if limit in (None, "") else limit)
        if not self.policy.enabled:
            return
        provider = KannelProvider(
            url=str(cfg.get("KANNEL_SENDSMS_URL") or DEFAULT_SENDSMS_URL),
            username=str(cfg.get("KANNEL_USER") or ""), password=str(cfg.get("KANNEL_PASSWORD") or ""),
            sender=cfg.get("KANNEL_FROM") or None, timeout=float(cfg.get("KANNEL_TIMEOUT") or 10),
            dlr_mask=int(cfg.get("KANNEL_DLR_MASK") or DLR_MASK_ALL),
        )
        base = dlr_base_url(cfg)
        wait = cfg.get("SMS_DLR_WAIT_SECONDS")
        self.channel = SmsChannel(provider, quiet, lambda row: dlr_url(base, row), dlr_wait=(
            DEFAULT_DLR_WAIT if wait in (None, "") else dt.timedelta(seconds=float(wait))))
        self.poll_interval = float(cfg.get("SMS_POLL_SECONDS") or 1.0)
        self.max_attempts = int(cfg.get("SMS_MAX_ATTEMPTS") or MAX_ATTEMPTS)

    def start(self):
        if self.channel is not None and self.max_per_hour > 0:
            self.channel.throttle = SmsThrottle(self._database().engine, self.max_per_hour)
        super().start()


@dataclass(frozen=True)
class WeChatPolicy:
    """``WECHAT_ENABLED``: owners who complained through WeChat are told there (SMS becomes the fallback);
    ``status_url``: the owner's status page, the link of template messages (``<SURVEY_BASE_URL>/t/{tenant}/status``;
    the gateway takes the tenant's id there as it does for survey links)."""
    enabled: bool
    status_url: str | None = None


class WeChat(Dispatcher):
    """Customer-service replies (``wechat.py``) to ``WECHAT_API_BASE_URL``; app secrets from intake's RPC."""

    def setup(self):
        cfg = self.container.config
        base = str(cfg.get("SURVEY_BASE_URL") or "http://127.0.0.1:8000").rstrip("/")
        self.policy = WeChatPolicy(_bool(cfg.get("WECHAT_ENABLED", False)), base + "/t/{tenant}/status")
        if not self.policy.enabled:
            return
        timeout = float(cfg.get("WECHAT_TIMEOUT") or 10)
        sender = WeChatSender(IntakeCredentials(cfg, timeout), str(cfg.get("WECHAT_API_BASE_URL") or WECHAT_API),
                              timeout)
        self.channel = WeChatChannel(sender)
        self.poll_interval = float(cfg.get("WECHAT_POLL_SECONDS") or 1.0)
        self.max_attempts = int(cfg.get("WECHAT_MAX_ATTEMPTS") or MAX_ATTEMPTS)


@dataclass(frozen=True)
class CallbackSettings:
    """``CALLBACK_DUE_HOURS`` (24: the callback is due a day after resolution) and ``SURVEY_BASE_URL`` (the
    gateway's public address: the owner's survey link in the SMS is ``<base>/t/{tenant}/survey/{token}``)."""
    due_hours: float
    survey_url: str


class CallbackConfig(DependencyProvider):
    def setup(self):
        cfg = self.container.config
        self.settings = CallbackSettings(
            float(cfg.get("CALLBACK_DUE_HOURS") or 24),
            str(cfg.get("SURVEY_BASE_URL") or "http://127.0.0.1:8000").rstrip("/") + "/t/{tenant}/survey/{token}")

    def get_dependency(self, worker_ctx):
        return self.settings
