import time

import jwt
import pytest

from estatedesk_common.demo import DEMO_TENANT, DEMO_USERS, demo_id


def test_token_for_valid_credentials(login, app):
    response = login("manager@demo")
    assert response.status_code == 200
    body = response.get_json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 600
    claims = jwt.decode(body["access_token"], app.config["SECRET_KEY"], algorithms=["HS256"])
    assert claims["sub"] == demo_id("user", "manager@demo")
    assert claims["tid"] == DEMO_TENANT["id"]
    assert sorted(map(tuple, claims["roles"])) == sorted(DEMO_USERS["manager@demo"][1])
    assert claims["exp"] - claims["iat"] == 600 and claims["jti"]


@pytest.mark.parametrize("username,password", [
    ("agent@demo", "wrong-password"),
    ("nobody@demo", "demo-password"),
])
def test_bad_credentials_get_one_answer(login, username, password):
    response = login(username, password)
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_inactive_user_cannot_log_in(app, login):
    from sqlalchemy import update

    from gateway.tables import users

    with app.extensions["db"].begin() as conn:
        conn.execute(update(users).where(users.c.username == "agent@demo").values(active=False))
    response = login("agent@demo")
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_credentials"


def test_login_body_must_name_username_and_password(client):
    response = client.post("/api/v1/auth/token", json={"username": "agent@demo"})
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == "password"


def test_missing_token_is_unauthenticated(client):
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.get_json()["error"] == "unauthenticated"


def test_wrong_scheme_is_unauthenticated(client):
    response = client.get("/api/v1/me", headers={"Authorization": "Basic YWdlbnQ6eA=="})
    assert response.get_json()["error"] == "unauthenticated"


def test_expired_token(client, bearer):
    headers = bearer(ttl=60, now=time.time() - 3600)
    response = client.get("/api/v1/estates", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["error"] == "token_expired"


@pytest.mark.parametrize("token", [
    "garbage",
    jwt.encode({"sub": "u", "tid": DEMO_TENANT["id"], "roles": [], "iat": int(time.time()),
                "exp": int(time.time()) + 600, "jti": "j"}, "another-key-" + "y" * 32, algorithm="HS256"),
    jwt.encode({"sub": "u", "tid": DEMO_TENANT["id"], "roles": [], "iat": int(time.time()),
                "exp": int(time.time()) + 600, "jti": "j"}, None, algorithm="none"),
])
def test_forged_or_garbage_token(client, token):
    response = client.get("/api/v1/estates", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_token"


def test_token_without_tenant_is_invalid(client, app):
    now = int(time.time())
    token = jwt.encode({"sub": "u", "roles": [], "iat": now, "exp": now + 600, "jti": "j"},
                       app.config["SECRET_KEY"], algorithm="HS256")
    response = client.get("/api/v1/estates", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["error"] == "invalid_token"


def test_me_shows_the_principal(client, login):
    token = login("supervisor@demo").get_json()["access_token"]
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert body["username"] == "supervisor@demo"
    assert body["display_name"] == DEMO_USERS["supervisor@demo"][0]
    assert body["tenant"] == {"id": DEMO_TENANT["id"], "slug": "demo", "name": DEMO_TENANT["name_zh"]}
    assert body["roles"] == [{"role": "cs_supervisor", "estate": "DEMO-RES"}]


def test_me_does_not_cross_tenants(client, bearer):
    """A validly signed token naming a real user under another tenant finds nobody."""
    other_tenant = "00000000-0000-4000-8000-000000000001"
    response = client.get("/api/v1/me", headers=bearer(tenant_id=other_tenant,
                                                        user_id=demo_id("user", "agent@demo")))
    assert response.status_code == 401
