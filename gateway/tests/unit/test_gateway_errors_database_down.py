"""A database that is down or restarting is a 503 with Retry-After, never a 500 (found by the fault run,
tests/e2e/test_zz_fault_run.py: PostgreSQL restarted under the running system gave 500s from the gateway's login
check)."""
import pytest
import sqlalchemy.exc
from nameko.exceptions import RemoteError


def _refused():
    return sqlalchemy.exc.OperationalError("SELECT 1", {}, OSError("Connection refused"))


def test_the_gateways_own_database_down_is_503(client, auth_headers, app, monkeypatch):
    def connect():
        raise _refused()
    monkeypatch.setattr(app.extensions["db"], "connect", connect)
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "service_unavailable"


@pytest.mark.parametrize("exc", [_refused(), RemoteError("OperationalError", "connection refused"),
                                 RemoteError("DisconnectionError", "server closed the connection")])
def test_a_services_database_down_is_503(client, auth_headers, fake_rpc, exc):
    fake_rpc.reply("intake", "list_estates", exc)
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "service_unavailable"


def test_other_remote_database_errors_stay_500(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "list_estates", RemoteError("ProgrammingError", "no such column"))
    assert client.get("/api/v1/estates", headers=auth_headers).status_code == 500
