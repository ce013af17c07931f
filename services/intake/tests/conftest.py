import datetime as dt
import imaplib
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass

import pytest

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations"))


class FixedClock:
    def __init__(self, now=None):
        self._now = now or dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 next day in Shanghai

    def now(self):
        return self._now


@pytest.fixture
def intake_db():
    with migrated_test_db("intake", MIGRATIONS) as target:
        yield target


@pytest.fixture
def intake_engine(intake_db):
    engine = make_engine(intake_db)
    yield engine
    engine.dispose()


@pytest.fixture
def clock():
    return FixedClock()


# --- A real Dovecot IMAP server for the mailbox tests: the one scripts/test.sh started (same ESTATEDESK_VAR and
# IMAP_PORT) if it runs, else a private one from scripts/dovecot.sh in a temp dir on a free port, stopped after.
# Each test gets its own mail user, so tests never see each other's mail.

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
SCRIPT = os.path.join(ROOT, "scripts", "dovecot.sh")


@dataclass
class Dovecot:
    env: dict
    port: int

    def add_user(self) -> tuple[str, str]:
        user, password = f"t{uuid.uuid4().hex[:12]}@test", uuid.uuid4().hex
        subprocess.run([SCRIPT, "adduser", user, password], env=self.env, check=True, timeout=30,
                       capture_output=True)
        # Dovecot re-reads the passwd-file at most once a second: wait for the next second to begin
        time.sleep(1.05 - time.time() % 1)
        return user, password

    def client(self, user, password) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(user, password)
        imap.select("INBOX")
        return imap


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _running(env) -> bool:
    return subprocess.run([SCRIPT, "status"], env=env, capture_output=True, timeout=30).returncode == 0


@pytest.fixture(scope="session")
def dovecot():
    if not os.path.exists("/usr/sbin/dovecot"):
        pytest.skip("dovecot is not installed (apt package dovecot-imapd; `make test` installs it)")
    if os.geteuid() != 0:
        pytest.skip("scripts/dovecot.sh starts the Dovecot master as root")
    env = dict(os.environ)
    if env.get("ESTATEDESK_VAR") and env.get("IMAP_PORT") and _running(env):
        yield Dovecot(env, int(env["IMAP_PORT"]))
        return
    var = tempfile.mkdtemp(prefix="estatedesk-dovecot-")
    os.chmod(var, 0o755)  # the mail user (nobody) must reach its maildirs below
    port = _free_port()
    env.update(ESTATEDESK_VAR=var, IMAP_PORT=str(port))
    subprocess.run([SCRIPT, "start"], env=env, check=True, timeout=60)
    try:
        yield Dovecot(env, port)
    finally:
        subprocess.run([SCRIPT, "stop"], env=env, timeout=60)
        shutil.rmtree(var, ignore_errors=True)
