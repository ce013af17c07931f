"""The real gateway app on a throwaway SQLite accounts DB seeded with the demo tenants, and a fake RPC
(the unit layer of ``gateway/tests/unit``: no broker, no services)."""
from __future__ import annotations

import json
import shutil

import pytest
from nameko.exceptions import RemoteError

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_ESTATES, DEMO_PASSWORD
from estatedesk_common.migrate import upgrade

from .routes import SECRET


def remote_error(status: int, code: str, **details) -> RemoteError:
    return RemoteError("EstateDeskError", json.dumps({"error": code, "status": status, "message": code,
                                                     "details": details}))


class FakeRpc:
    """Answers like an empty tenant: directories and lists empty or the demo estates, anything else 404."""

    def __init__(self):
        self.calls = []
        self.replies = {
            ("intake", "list_estates"): [{k: e[k] for k in ("code", "name", "kind", "timezone", "region")}
                                         for e in DEMO_ESTATES],
            ("intake", "list_complaints"): {"total": 0, "items": []},
            ("workflow", "list_cases"): {"total": 0, "items": []},
        }

    def call(self, service, method, *args, timeout=None, **kwargs):
        self.calls.append((service, method, args, kwargs))
        reply = self.replies.get((service, method))
        if reply is None:
            raise remote_error(404, "not_found")
        return reply

    def call_many(self, calls, timeout=None, return_exceptions=False):
        out = []
        for service, method, args in calls:
            try:
                out.append(self.call(service, method, *args))
            except Exception as exc:
                if not return_exceptions:
                    raise
                out.append(exc)
        return out


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory):
    from gateway import accounts
    from gateway.cli import migrations_dir

    path = tmp_path_factory.mktemp("security-accounts") / "gateway.sqlite3"
    target = DbTarget(f"sqlite:///{path}", None)
    upgrade("gateway", migrations_dir(), target)
    engine = make_engine(target)
    accounts.seed_demo(engine)
    engine.dispose()
    return path


@pytest.fixture
def fake_rpc():
    return FakeRpc()


def make_app(seeded_db, directory, fake_rpc):
    from gateway.app import create_app

    copy = directory / "gateway.sqlite3"
    shutil.copy(seeded_db, copy)
    return create_app({"SECRET_KEY": SECRET, "DATABASE_URL": f"sqlite:///{copy}", "RPC": fake_rpc,
                       "CONFIGURE_LOGGING": False, "TOKEN_TTL": 600, "OWNER_RATE_LIMIT": "100000 per minute",
                       "LOGIN_RATE_LIMIT": "100000 per minute"})


@pytest.fixture
def app(seeded_db, tmp_path, fake_rpc):
    app = make_app(seeded_db, tmp_path, fake_rpc)
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    def auth(username="agent@demo"):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        assert r.status_code == 200, r.get_json()
        return {"Authorization": "Bearer " + r.get_json()["access_token"]}
    return auth
