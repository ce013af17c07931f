"""Integration API keys: issue/revoke/authenticate, the ``require_api_key`` decorator and the admin API."""
from __future__ import annotations

import hashlib

import pytest
from flask import g
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT

from gateway import api_keys
from gateway.tables import api_keys as table


@pytest.fixture
def engine(app):
    return app.extensions["db"]


@pytest.fixture
def probe_app(app):
    """The app with one extra view behind ``require_api_key("cti")`` that shows what the decorator set."""
    @app.route("/api/v1/_probe", methods=["GET", "POST"], endpoint="probe_view")
    @api_keys.require_api_key("cti")
    def probe_view():
        from gateway import rpc

        return {"tenant": g.public_tenant_id, "principal": g.principal, "key": g.api_key.key_id,
                "context_tenant": rpc.call_context().get("tenant_id"), "user": rpc.call_context().get("user_id")}

    return app


def admin_headers(login) -> dict:
    response = login("admin@demo")
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def test_issued_key_is_stored_only_as_its_hash(engine):
    with engine.begin() as conn:
        raw = api_keys.issue(conn, DEMO_TENANT["id"], "CTI bridge", ["cti"])
        row = conn.execute(select(table).where(table.c.key_hash == hashlib.sha256(raw.encode()).hexdigest())).one()
        stored = [str(v) for v in conn.execute(select(table)).first()]
    assert len(raw) >= 40 and row.prefix == raw[:8] and row.scopes == ["cti"] and row.revoked_at is None
    assert all(raw not in value for value in stored)


def test_authenticate_checks_scope_revocation_and_records_use(app, engine):
    with engine.begin() as conn:
        raw, key_id = api_keys.issue_with_id(conn, OTHER_TENANT["id"], "open311 app", ["open311"])
    with app.app_context():
        principal = api_keys.authenticate(raw, "open311")
        assert principal == api_keys.ApiKeyPrincipal(OTHER_TENANT["id"], key_id, "open311 app", ("open311",))
        assert api_keys.authenticate(raw, "cti") is None
        assert api_keys.authenticate(raw + "x", "open311") is None
        assert api_keys.authenticate("", "open311") is None
        assert api_keys.authenticate("x" * 10_000, "open311") is None
    with engine.begin() as conn:
        assert api_keys.get_key(conn, OTHER_TENANT["id"], key_id)["last_used_at"] is not None
        assert api_keys.revoke(conn, OTHER_TENANT["id"], key_id) is True
        assert api_keys.revoke(conn, DEMO_TENANT["id"], key_id) is False  # another tenant's key: not found
    with app.app_context():
        assert api_keys.authenticate(raw, "open311") is None


@pytest.mark.parametrize("scopes", [[], ["root"], ["cti", "admin"]])
def test_issue_refuses_unknown_scopes(engine, scopes):
    with engine.begin() as conn, pytest.raises(ValueError):
        api_keys.issue(conn, DEMO_TENANT["id"], "x", scopes)


def test_demo_keys_are_seeded(app):
    with app.app_context():
        demo = api_keys.authenticate("demo-api-key", "cti")
        other = api_keys.authenticate("other-api-key", "open311")
        assert demo.tenant_id == DEMO_TENANT["id"] and set(demo.scopes) == {"open311", "cti"}
        assert other.tenant_id == OTHER_TENANT["id"] and api_keys.authenticate("other-api-key", "cti") is None


@pytest.mark.parametrize("how", ["x-api-key", "authorization", "query", "form"])
def test_decorator_reads_the_key_and_sets_the_tenant_without_a_user(probe_app, client, how):
    headers, kwargs, method = {}, {}, "get"
    if how == "x-api-key":
        headers["X-Api-Key"] = "demo-api-key"
    elif how == "authorization":
        headers["Authorization"] = "ApiKey demo-api-key"
    elif how == "query":
        kwargs["query_string"] = {"api_key": "demo-api-key"}
    else:
        method, kwargs["data"] = "post", {"api_key": "demo-api-key"}
    response = getattr(client, method)("/api/v1/_probe", headers=headers, **kwargs)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["tenant"] == body["context_tenant"] == DEMO_TENANT["id"]
    assert body["principal"] is None and body["user"] is None and body["key"]


@pytest.mark.parametrize("headers", [{}, {"X-Api-Key": "wrong"}, {"Authorization": "ApiKey other-api-key"},
                                     {"Authorization": "Bearer demo-api-key"}])
def test_decorator_refuses_with_401_json(probe_app, client, headers):
    response = client.get("/api/v1/_probe", headers=headers)  # other-api-key lacks the cti scope
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_api_key" and response.get_json()["message"]
    assert response.headers["WWW-Authenticate"].startswith("ApiKey")


def test_a_bearer_token_does_not_decide_the_tenant_of_a_key_view(probe_app, client, login):
    other = login("hq@other").get_json()["access_token"]
    response = client.get("/api/v1/_probe", headers={"X-Api-Key": "demo-api-key", "Authorization": f"Bearer {other}"})
    assert response.get_json()["tenant"] == DEMO_TENANT["id"] and response.get_json()["principal"] is None


def test_admin_api_issues_lists_and_revokes(client, login):
    headers = admin_headers(login)
    created = client.post("/api/v1/api-keys", json={"name": " 呼叫中心 ", "scopes": ["cti"]}, headers=headers)
    assert created.status_code == 201 and created.headers["Cache-Control"] == "no-store"
    key = created.get_json()
    assert key["name"] == "呼叫中心" and key["prefix"] == key["key"][:8] and key["scopes"] == ["cti"]
    listed = client.get("/api/v1/api-keys", headers=headers).get_json()["items"]
    assert key["id"] in [k["id"] for k in listed] and all("key" not in k and "key_hash" not in k for k in listed)
    revoked = client.delete(f"/api/v1/api-keys/{key['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.get_json()["active"] is False
    with client.application.app_context():
        assert api_keys.authenticate(key["key"], "cti") is None


def test_admin_api_is_group_admin_only_and_tenant_scoped(client, login, engine):
    with engine.begin() as conn:
        _, other_key = api_keys.issue_with_id(conn, OTHER_TENANT["id"], "theirs", ["open311"])
    headers = admin_headers(login)
    assert client.delete(f"/api/v1/api-keys/{other_key}", headers=headers).status_code == 404
    assert client.delete("/api/v1/api-keys/not-a-uuid", headers=headers).status_code == 404
    assert other_key not in client.get("/api/v1/api-keys", headers=headers).get_data(as_text=True)
    hq = {"Authorization": f"Bearer {login('hq@demo').get_json()['access_token']}"}
    assert client.get("/api/v1/api-keys", headers=hq).status_code == 403
    assert client.post("/api/v1/api-keys", json={"name": "x", "scopes": ["cti"]}, headers=hq).status_code == 403
    assert client.get("/api/v1/api-keys").status_code == 401


@pytest.mark.parametrize("body, field", [({"scopes": ["cti"]}, "name"), ({"name": "x", "scopes": []}, "scopes"),
                                         ({"name": "x", "scopes": ["admin"]}, "scopes"),
                                         ({"name": "x" * 101, "scopes": ["cti"]}, "name")])
def test_admin_api_validates(client, login, body, field):
    response = client.post("/api/v1/api-keys", json=body, headers=admin_headers(login))
    assert response.status_code == 422 and response.get_json()["details"]["field"] == field
