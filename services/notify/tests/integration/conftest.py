"""A real nameko container on RabbitMQ (vhost per test, nameko's fixtures), a real SMTP server (aiosmtpd,
in-process), a real Kannel (``kannel.py``) and a migrated database: temp SQLite, or a fresh schema in
``TEST_DATABASE_URL`` (Postgres)."""
import os
import time

import pytest
from aiosmtpd.controller import Controller
from nameko.testing.utils import find_free_port

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db, service_config

from notify_kannel import Kannel, kannel_installed

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
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}",  # the DLR endpoint; never nameko's :8000
    })


@pytest.fixture(scope="session")
def kannel(tmp_path_factory):
    """The Kannel of the test run (scripts/test.sh starts it; its ports come from the environment), else a
    private one started here on free ports. Skipped only when the Kannel binaries are not installed."""
    if not kannel_installed():
        pytest.skip("Kannel is not installed (apt packages kannel, kannel-extras; `make test` installs them)")
    shared = Kannel.from_env()
    if shared and shared.running():
        yield shared
        return
    private = Kannel.private(str(tmp_path_factory.mktemp("kannel")))
    private.start()
    yield private
    private.stop()


@pytest.fixture
def spare_kannel(tmp_path):
    """A second Kannel, not started: "Kannel down" until the test starts it."""
    if not kannel_installed():
        pytest.skip("Kannel is not installed (apt packages kannel, kannel-extras; `make test` installs them)")
    instance = Kannel.private(str(tmp_path))
    yield instance
    instance.stop()

