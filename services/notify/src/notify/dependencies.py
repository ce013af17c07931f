"""The ``Mailer`` dependency: SMTP settings from config, and the mail loop as a managed greenthread.

It reuses the service's ``Database`` provider (found by attribute name among the container's dependencies)
for the engine, the outbox/inbox tables and the outbox relay's wake-up, so a sent/failed mark and its event
commit together through an estatedesk_common ``UnitOfWork``.
"""
from __future__ import annotations

from nameko.extensions import DependencyProvider

from estatedesk_common.unit_of_work import UnitOfWork

from .delivery import MAX_ATTEMPTS, MailLoop
from .smtp import SmtpTransport

DEFAULT_FROM = "EstateDesk <noreply@estatedesk.local>"


def _bool(value) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class MailerHandle:
    """What a worker gets: ``wake()`` after committing a queued message, so it goes out at once."""

    def __init__(self, wake):
        self.wake = wake


class Mailer(DependencyProvider):
    def __init__(self, database: str = "db"):
        self.database = database
        self.loop = None

    def setup(self):
        cfg = self.container.config
        self.transport = SmtpTransport(
            host=str(cfg.get("SMTP_HOST") or "127.0.0.1"), port=int(cfg.get("SMTP_PORT") or 1025),
            timeout=float(cfg.get("SMTP_TIMEOUT") or 10), user=cfg.get("SMTP_USER") or None,
            password=cfg.get("SMTP_PASSWORD") or None, starttls=_bool(cfg.get("SMTP_STARTTLS", False)),
        )
        self.sender = str(cfg.get("SMTP_FROM") or DEFAULT_FROM)
        self.poll_interval = float(cfg.get("MAILER_POLL_SECONDS") or 1.0)
        self.max_attempts = int(cfg.get("SMTP_MAX_ATTEMPTS") or MAX_ATTEMPTS)

    def _database(self):
        for dep in self.container.dependencies:
            if dep.attr_name == self.database:
                return dep
        raise RuntimeError(f"Mailer needs the service's Database provider as attribute {self.database!r}")

    def start(self):
        db = self._database()  # every provider's setup() has run before any start()
        on_events = db.relay.wake if db.relay else None

        def new_uow():
            return UnitOfWork(db.engine, db.tables, db.clock, None, on_events)

        self.loop = MailLoop(db.engine, new_uow, self.transport, self.sender, db.clock, self.poll_interval,
                             max_attempts=self.max_attempts)
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return MailerHandle(self.loop.wake if self.loop else (lambda: None))
