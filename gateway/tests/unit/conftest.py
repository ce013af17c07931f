"""Unit layer: Flask test client, a throwaway SQLite accounts database seeded with the demo tenant, a fake RPC."""
from __future__ import annotations

import json
import shutil
import uuid

import pytest
from nameko.exceptions import RemoteError

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT
from estatedesk_common.migrate import upgrade

from gateway import accounts, rpc
from gateway.app import create_app
from gateway.cli import migrations_dir

SECRET = "unit-test-secret-" + "x" * 32


def remote_error(cls: str, status: int, code: str, message: str = "", **details) -> RemoteError:
    """What a service's EstateDeskError looks like at the gateway."""
    value = json.dumps({"error": code, "status": status, "message": message or code, "details": details})
    return RemoteError(cls, value)


class FakeRpc:
    """Stands in for ``rpc.ServiceClient``; records each call with the context the real client would send."""

    def __init__(self):
        self.replies = {}
        self.calls = []

    def reply(self, service, method, result):
        """``result``: a value, an exception to raise, or a callable taking the call's args."""
        self.replies[(service, method)] = result

    def call(self, service, method, *args, timeout=None, **kwargs):
        self.calls.append({"service": service, "method": method, "args": args, "kwargs": kwargs,
                           "timeout": timeout, "context": rpc.call_context()})
        result = self.replies.get((service, method), KeyError(f"no fake reply for {service}.{method}"))
        if isinstance(result, BaseException):
            raise result
        return result(*args) if callable(result) else result

    def call_many(self, calls, timeout=None, return_exceptions=False):
        results = []
        for service, method, args in calls:
            try:
                results.append(self.call(service, method, *args, timeout=timeout))
            except Exception as exc:
                if not return_exceptions:
                    raise
                results.append(exc)
        return results


@pytest.fixture(scope="session")
def seeded_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("accounts") / "gateway.sqlite3"
    target = DbTarget(f"sqlite:///{path}", None)
    upgrade("gateway", migrations_dir(), target)
    engine = make_engine(target)
    accounts.seed_demo(engine)
    engine.dispose()
    return path


@pytest.fixture
def db_url(seeded_db, tmp_path):
    copy = tmp_path / "gateway.sqlite3"
    shutil.copy(seeded_db, copy)
    return f"sqlite:///{copy}"


@pytest.fixture
def fake_rpc():
    fake = FakeRpc()
    # the complaint forms' building choice: by default no estate has registered buildings (free text)
    fake.reply("intake", "list_building_choices", {})
    return fake


@pytest.fixture
def app(db_url, fake_rpc):
    app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "RPC": fake_rpc, "CONFIGURE_LOGGING": False,
                      "TOKEN_TTL": 600})
    yield app
    app.extensions["db"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def login(client):
    def login(username="agent@demo", password=DEMO_PASSWORD):
        return client.post("/api/v1/auth/token", json={"username": username, "password": password})

    return login


@pytest.fixture
def token(login):
    response = login()
    assert response.status_code == 200, response.get_json()
    return response.get_json()["access_token"]


@pytest.fixture
def auth_headers(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(name="remote_error")
def _remote_error():
    return remote_error


@pytest.fixture
def bearer(app):
    """Headers with a token for any principal (e.g. an expired one), signed with the app's key."""
    from gateway.accounts import Principal
    from gateway.auth import issue_token

    def bearer(tenant_id=DEMO_TENANT["id"], user_id=None, roles=(("agent", "DEMO-RES"),), ttl=600, now=None):
        principal = Principal(tenant_id, user_id or str(uuid.uuid4()), tuple(roles))
        return {"Authorization": "Bearer " + issue_token(principal, SECRET, ttl, now=now)}

    return bearer
