"""intake's own dependency providers."""
import os

from nameko.extensions import DependencyProvider

from estatedesk_common.unit_of_work import UnitOfWork

from .classification import ClassifierCache
from .domain.classify import Segmenter
from .mailbox import Limits, MailPoller


class Classifiers(DependencyProvider):
    """One ``ClassifierCache`` per service container; loads jieba's dictionary at start (about a second), so
    the first complaint does not wait for it."""

    def setup(self):
        self.cache = ClassifierCache()

    def start(self):
        Segmenter.warm()

    def get_dependency(self, worker_ctx):
        return self.cache


class MailboxPoller(DependencyProvider):
    """Polls the tenants' IMAP mailboxes (``mailbox.MailPoller``) in a managed thread, on the ``Database``
    dependency named ``database`` and the ``Classifiers`` named ``classifiers``. ``MAILBOX_POLL_SECONDS`` 0 or
    absent turns it off. Workers get the poller (``poll_once`` for an operator's "poll now")."""

    def __init__(self, database: str = "db", classifiers: str = "classifiers"):
        self.database, self.classifiers = database, classifiers
        self.poller = None

    def setup(self):
        cfg = self.container.config
        self.interval = float(cfg.get("MAILBOX_POLL_SECONDS") or 0)  # absent: off (config.yml sets 30)
        self.timeout = float(cfg.get("IMAP_TIMEOUT_SECONDS", 30))
        self.idle = str(cfg.get("MAILBOX_IDLE", "true")).lower() in ("1", "true", "yes", "on")
        self.limits = Limits(max_message=int(cfg.get("MAIL_MAX_MESSAGE_BYTES", Limits.max_message)),
                             max_attachment=int(cfg.get("MAIL_MAX_ATTACHMENT_BYTES", Limits.max_attachment)))
        self.environ = dict(os.environ)  # for mailbox passwords given as env:NAME

    def start(self):
        deps = {getattr(d, "attr_name", None): d for d in self.container.dependencies}
        db, classifiers = deps[self.database], deps.get(self.classifiers)
        wake = db.relay.wake if db.relay else None
        self.poller = MailPoller(db.engine, lambda: UnitOfWork(db.engine, db.tables, db.clock, on_events=wake),
                                 classifiers.cache if classifiers else None, self.limits, self.environ,
                                 self.interval, self.timeout, idle=self.idle and self.interval > 0)
        if self.interval > 0:
            self.container.spawn_managed_thread(self.poller.run)

    def stop(self):
        if self.poller:
            self.poller.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        return self.poller
