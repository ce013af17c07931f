"""Gateway replicas share their rate limits through a real memcached (``GATEWAY_RATE_LIMIT_STORAGE``, ``web.py``).

Two ``create_app`` instances in this process stand for two gateway replicas behind a load balancer. Each test starts
its own ``memcached`` on a free loopback port (Debian's package: ``scripts/bootstrap.sh --test``) and stops it at the
end; the accounts database is a throwaway SQLite seeded like the unit layer's (the limits do not depend on it, so the
PostgreSQL phase runs these on SQLite too). The sign-in limit is set low (``LOGIN_RATE_LIMIT``, "4 per hour": a
window no test run crosses) and driven through ``POST /api/v1/auth/token`` with a new username per request, so
``lockout`` (per username) never answers instead.
"""
from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

import eventlet
import pytest

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.migrate import upgrade
from gateway import accounts
from gateway.app import create_app
from gateway.cli import migrations_dir

pytestmark = pytest.mark.integration

SECRET = "integration-test-secret-" + "x" * 32
BUDGET = 4
MEMCACHED = shutil.which("memcached")
FALLBACK_WARNING = "Rate limit storage unreachable - falling back to in-memory storage"


@dataclass
class Memcached:
    port: int
    proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"memcached://127.0.0.1:{self.port}"

    def start(self) -> None:
        cmd = [MEMCACHED, "-l", "127.0.0.1", "-p", str(self.port), "-U", "0", "-m", "16"]
        if os.geteuid() == 0:
            cmd += ["-u", "nobody"]  # memcached refuses to run as root without -u
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while self.stats() is None:
            if self.proc.poll() is not None:
                pytest.fail(f"memcached exited {self.proc.returncode}: {self.proc.stderr.read().decode()}")
            if time.monotonic() > deadline:
                pytest.fail(f"memcached did not answer on port {self.port} within 10 s")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def stats(self) -> dict[str, str] | None:
        """memcached's ``stats`` (None when nothing answers)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"stats\r\n")
                data = b""
                while not data.endswith(b"END\r\n"):
                    chunk = sock.recv(65536)
                    if not chunk:
                        return None
                    data += chunk
        except OSError:
            return None
        return {parts[1]: parts[2] for parts in (line.split() for line in data.decode().splitlines())
                if len(parts) == 3 and parts[0] == "STAT"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def memcached():
    if MEMCACHED is None:
        pytest.skip("no memcached binary (Debian package memcached; scripts/bootstrap.sh --test installs it)")
    server = Memcached(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def seeded_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("shared-limits") / "gateway.sqlite3"
    target = DbTarget(f"sqlite:///{path}", None)
    upgrade("gateway", migrations_dir(), target)
    engine = make_engine(target)
    accounts.seed_demo(engine)
    engine.dispose()
    return f"sqlite:///{path}"


class NoRpc:
    """The sign-in doors call no service; any call is a test failure."""

    def call(self, service, method, *args, **kwargs):
        raise AssertionError(f"unexpected RPC {service}.{method}")

    call_many = call


@pytest.fixture
def replicas(seeded_db, memcached):
    """Two gateway apps counting in the same memcached, as two replicas of one Deployment."""
    apps = [_replica(seeded_db, memcached.uri) for _ in range(2)]
    yield apps
    for app in apps:
        app.extensions["db"].dispose()


def _replica(db_url: str, storage: str):
    return create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "RPC": NoRpc(), "CONFIGURE_LOGGING": False,
                       "RATE_LIMIT_STORAGE": storage, "LOGIN_RATE_LIMIT": f"{BUDGET} per hour"})


_seq = iter(range(1_000_000))


def _sign_in(app, address: str):
    """One wrong-password sign-in from ``address`` (a new username each time): 401, or 429 when rate limited."""
    response = app.test_client().post("/api/v1/auth/token", json={"username": f"nobody{next(_seq)}@demo",
                                                                   "password": "guess"},
                                      environ_base={"REMOTE_ADDR": address})
    if response.status_code == 429:
        assert response.get_json()["error"] == "too_many_requests"  # the limiter, not lockout's account_locked
    return response.status_code


def _alternate(apps, address: str, count: int) -> list[int]:
    return [_sign_in(apps[i % len(apps)], address) for i in range(count)]


def test_replicas_share_one_budget_per_address(replicas):
    codes = _alternate(replicas, "198.51.100.7", 2 * BUDGET)
    assert codes == [401] * BUDGET + [429] * BUDGET, "the budget is shared, not one per replica"
    assert _sign_in(replicas[1], "198.51.100.8") == 401, "another address has its own budget"


def test_per_process_memory_gives_each_replica_its_own_budget(seeded_db):
    """The control: with the default ``memory://`` the same alternation gets twice the budget."""
    apps = [_replica(seeded_db, "memory://") for _ in range(2)]
    assert _alternate(apps, "198.51.100.9", 2 * BUDGET) == [401] * (2 * BUDGET)
    assert _alternate(apps, "198.51.100.9", 2) == [429, 429]


def test_one_memcached_connection_per_replica_not_per_request(replicas, memcached):
    """The gateway serves each request in its own greenthread; limits' thread-local client would connect anew for
    each (``web._shared_memcached_client``)."""
    before = int(memcached.stats()["total_connections"])  # the replicas' start-up checks are connected already
    codes = [eventlet.spawn(_sign_in, replicas[i % 2], f"203.0.113.{i}").wait() for i in range(12)]
    assert codes == [401] * 12
    assert int(memcached.stats()["total_connections"]) - before <= 1, "only the stats connection is new"


def test_with_the_store_down_replicas_keep_answering_and_limit_per_process(replicas, memcached, caplog):
    assert _alternate(replicas, "192.0.2.1", 2) == [401, 401]  # counted in memcached
    memcached.stop()
    caplog.set_level(logging.INFO)

    # each replica answers, warns, and counts in its own memory from now on (a fresh budget per replica)
    assert [_sign_in(replicas[0], "192.0.2.1") for _ in range(BUDGET + 1)] == [401] * BUDGET + [429]
    assert _sign_in(replicas[1], "192.0.2.1") == 401
    warnings = [r for r in caplog.records if r.name == "flask-limiter" and r.getMessage() == FALLBACK_WARNING]
    assert len(warnings) == 2 and {r.levelno for r in warnings} == {logging.WARNING}, "one warning per replica"

    # a replica started while the store is down starts anyway, and says so
    caplog.clear()
    late = _replica(replicas[0].config["DATABASE_URL"], memcached.uri)
    assert any(r.levelno == logging.WARNING and "does not answer" in r.getMessage() for r in caplog.records)
    assert _sign_in(late, "192.0.2.2") == 401
    late.extensions["db"].dispose()

    # back up: the replicas probe the store again (backing off, a few seconds here) and share it once more
    memcached.start()
    deadline = time.monotonic() + 30
    while sum(r.getMessage() == "Rate limit storage recovered" for r in caplog.records) < len(replicas):
        assert time.monotonic() < deadline, "the replicas did not return to the shared store within 30 s"
        for i, app in enumerate(replicas):
            _sign_in(app, f"192.0.2.{100 + i}")
        time.sleep(0.25)
    assert _alternate(replicas, "192.0.2.3", 2 * BUDGET) == [401] * BUDGET + [429] * BUDGET

