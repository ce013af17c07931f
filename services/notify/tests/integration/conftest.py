"""A real nameko container on RabbitMQ (vhost per test, nameko's fixtures), a real SMTP server (aiosmtpd,
in-process) and a migrated database: temp SQLite, or a fresh schema in ``TEST_DATABASE_URL`` (Postgres)."""
import os
import time

import pytest
from aiosmtpd.controller import Controller
from nameko.testing.utils import find_free_port

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db, service_config

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


class SmtpSink:
    """aiosmtpd server that keeps what it receives; can be started late (SMTP "down" until then)."""

    def __init__(self, port=None):
        self.port = port or find_free_port()
        self.received = []
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count, timeout=20.0):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received


def _wait_until(predicate, timeout=20.0, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")


@pytest.fixture
def wait_until():
    """``wait_until(predicate, timeout=20)``: the predicate's first truthy value, or AssertionError."""
    return _wait_until


@pytest.fixture
def db_target():
    with migrated_test_db("notify", MIGRATIONS) as target:
        yield target


@pytest.fixture
def engine(db_target):
    engine = make_engine(db_target)
    yield engine
    engine.dispose()


@pytest.fixture
def smtp_sink():
    sink = SmtpSink()
    yield sink
    sink.stop()


@pytest.fixture
def notify_config(rabbit_config, db_target, smtp_sink):
    return service_config(rabbit_config, db_target, **{
        "SMTP_HOST": "127.0.0.1", "SMTP_PORT": smtp_sink.port, "SMTP_FROM": "EstateDesk <noreply@estatedesk.local>",
        "SMTP_STARTTLS": False, "SMTP_TIMEOUT": 5, "MAILER_POLL_SECONDS": 0.2,
    })
