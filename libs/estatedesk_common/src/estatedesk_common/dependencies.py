"""nameko dependency providers: the service's database (with its outbox relay)."""
from __future__ import annotations

import logging
import os
import time

from nameko.amqp.publish import Publisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.standalone.events import get_event_exchange

from . import outbox
from .config import db_target
from .db import SystemClock, make_engine
from .loops import PollingLoop
from .observability import EVENTS_PUBLISHED, OUTBOX_BACKLOG
from .publishing import ConfirmedPublisher
from .retention import Pruner
from .unit_of_work import ReliabilityTables, UnitOfWork

log = logging.getLogger(__name__)


def event_publisher(amqp_uri: str, service_name: str, config: dict):
    """A function that publishes one envelope dict to ``<service>.events`` with confirms and mandatory."""
    exchange = get_event_exchange(service_name, config)
    publisher = Publisher(amqp_uri, use_confirms=True, mandatory=True, serializer="json",
                          exchange=exchange, declare=[exchange])

    def publish(body: dict) -> None:
        headers = {"nameko.tenant_id": body.get("tenant_id")}
        if body.get("request_id"):
            headers["nameko.request_id"] = body["request_id"]
        publisher.publish(body, routing_key=body["event_type"], headers=headers,
                          retry=True, retry_policy={"max_retries": 2, "interval_start": 0.2})

    return publish


class OutboxRelay:
    """Background loop: publish due outbox rows; woken at once after a commit that wrote events."""

    def __init__(self, engine, table, publish, service_name, poll_interval=1.0, batch=200, pruner=None):
        self.engine, self.table, self.publish = engine, table, publish
        self.service_name, self.batch, self.pruner = service_name, batch, pruner
        self._last_backlog = 0.0
        self._loop = PollingLoop(self._pass, poll_interval, f"{service_name} outbox relay",
                                 on_exit=getattr(publish, "close", None))
        self.wake, self.stop, self.run = self._loop.wake, self._loop.stop, self._loop.run

    def _pass(self) -> bool:
        sent, failed = outbox.relay_once(self.engine, self.table, self.publish, self.batch)
        if sent:
            EVENTS_PUBLISHED.labels(self.service_name, "ok").inc(sent)
        if failed:
            EVENTS_PUBLISHED.labels(self.service_name, "retry").inc(failed)
        self._report_backlog()
        if self.pruner is not None:
            self.pruner.maybe_prune()
        return sent >= self.batch and not failed

    def _report_backlog(self):
        now = time.monotonic()
        if now - self._last_backlog < 5:
            return
        self._last_backlog = now
        try:
            OUTBOX_BACKLOG.labels(self.service_name).set(outbox.backlog(self.engine, self.table))
        except Exception:  # pragma: no cover - metrics must never break the relay
            log.debug("backlog count failed", exc_info=True)


class DbHandle:
    """What a worker gets: ``uow()`` opens a unit of work; ``engine`` for read-only queries."""

    def __init__(self, engine, tables, clock, request_id, on_events):
        self.engine, self.tables, self.clock = engine, tables, clock
        self._request_id, self._on_events = request_id, on_events

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.engine, self.tables, self.clock, self._request_id, self._on_events)


class Database(DependencyProvider):
    """The package's own database; runs the outbox relay for the service's events. ``retention``: more tables
    its relay prunes, ``[(name, timestamp column, config key of the days to keep (0/unset = keep))]``."""

    def __init__(self, package: str, tables: ReliabilityTables, relay: bool = True, retention=()):
        self.package, self.tables, self.with_relay, self.retention = package, tables, relay, tuple(retention)
        self.relay = None

    def setup(self):
        cfg = self.container.config
        env = dict(os.environ)
        for key in ("DATABASE_URL", "DATABASE_SCHEMA"):  # config (tests) wins over the environment
            if cfg.get(key):
                env[f"{self.package.upper()}_{key}"] = cfg[key]
        self.engine = make_engine(db_target(self.package, env))
        self.clock = SystemClock()
        if self.with_relay:
            publish = ConfirmedPublisher(cfg[AMQP_URI_CONFIG_KEY], self.container.service_name, cfg)
            extra = [(name, column, float(cfg.get(key) or 0)) for name, column, key in self.retention]
            pruner = Pruner(self.engine, self.tables, self.container.service_name, self.clock,
                            float(cfg.get("OUTBOX_RETENTION_DAYS") or 7), float(cfg.get("INBOX_RETENTION_DAYS") or 90),
                            extra=extra)
            self.relay = OutboxRelay(self.engine, self.tables.outbox, publish, self.container.service_name,
                                     float(cfg.get("OUTBOX_POLL_SECONDS", 1.0)), pruner=pruner)

    def start(self):
        if self.relay:
            self.container.spawn_managed_thread(self.relay.run)

    def stop(self):
        if self.relay:
            self.relay.stop()

    def kill(self):
        self.stop()

    def get_dependency(self, worker_ctx):
        wake = self.relay.wake if self.relay else None
        return DbHandle(self.engine, self.tables, self.clock, worker_ctx.data.get("request_id"), wake)
