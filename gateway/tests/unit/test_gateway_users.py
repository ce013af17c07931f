"""User administration (API and console), token revocation on deactivation/role change, the password policy,
own password change and admin-issued reset links."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, OTHER_TENANT, demo_id

from gateway import passwords
from gateway.tables import ROLES, password_resets

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ESTATES = [{"code": "DEMO-RES", "name": "示范住宅"}, {"code": "DEMO-OFFICE", "name": "示范写字楼"}]


@pytest.fixture(autouse=True)
def _estates(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)


def bearer_of(login, user="admin@demo", password=DEMO_PASSWORD) -> dict:
    response = login(user, password)
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def create(client, admin, username=None, roles=(("agent", "DEMO-RES"),), **extra):
    body = {"username": username or f"u{uuid.uuid4().hex[:8]}@demo", "display_name": "新同事",
            "roles": [list(r) for r in roles]} | extra
    return client.post("/api/v1/users", json=body, headers=admin)


def page_login(client, user, password=DEMO_PASSWORD):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token})


def csrf(client, path="/account") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def test_gateway_users_admin_creates_a_user_who_logs_in_with_the_initial_password(client, login):
    admin = bearer_of(login)
    response = create(client, admin, "new.agent@demo")
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    created = response.get_json()
    assert created["roles"] == [["agent", "DEMO-RES"]] and created["active"] and not created["totp_enabled"]
    assert passwords.problem(created["initial_password"], "new.agent@demo") is None
    me = client.get("/api/v1/me", headers=bearer_of(login, "new.agent@demo", created["initial_password"]))
    assert me.get_json()["roles"] == [{"role": "agent", "estate": "DEMO-RES"}]
    listed = client.get("/api/v1/users", headers=admin).get_json()["items"]
    assert "initial_password" not in str(listed) and "new.agent@demo" in {u["username"] for u in listed}
    assert all(not u["username"].endswith("@other") for u in listed), "another tenant's users are not listed"


@pytest.mark.parametrize("username,roles,status,code,field", [
    ("agent@demo", [["agent", "DEMO-RES"]], 409, "username_taken", "username"),
    ("hq@other", [["agent", "DEMO-RES"]], 409, "username_taken", "username"),
    (None, [["janitor", None]], 422, "unknown_role", "roles.0"),
    (None, [["agent", "DEMO-RES"], ["agent", "OTHER-RES"]], 422, "unknown_estate", "roles.1"),
    (None, [["agent"]], 422, "validation_failed", "roles"),
    ("has space", [], 422, "validation_failed", "username"),
])
def test_gateway_users_create_refusals(client, login, username, roles, status, code, field):
    response = create(client, bearer_of(login), username, roles)
    body = response.get_json()
    assert (response.status_code, body["error"]) == (status, code), body
    assert body["details"]["field"].startswith(field)


def test_gateway_users_only_group_admins(client, login):
    for user in ("agent@demo", "hq@demo", "manager@demo"):
        headers = bearer_of(login, user)
        assert client.get("/api/v1/users", headers=headers).status_code == 403
        assert create(client, headers).status_code == 403
        target = demo_id("user", "agent@demo")
        assert client.patch(f"/api/v1/users/{target}", json={"active": False}, headers=headers).status_code == 403


def test_gateway_users_deactivation_ends_tokens_and_sessions(client, app, login):
    admin = bearer_of(login)
    agent = bearer_of(login, "agent@demo")
    browser = app.test_client()
    assert page_login(browser, "agent@demo").status_code == 302
    assert client.get("/api/v1/complaints/x", headers=agent).status_code != 401
    target = demo_id("user", "agent@demo")
    response = client.patch(f"/api/v1/users/{target}", json={"active": False}, headers=admin)
    assert response.status_code == 200 and response.get_json()["active"] is False
    refused = client.get("/api/v1/me", headers=agent)
    assert refused.status_code == 401 and refused.get_json()["error"] == "invalid_token"
    assert client.get("/api/v1/estates", headers=agent).status_code == 401
    assert browser.get("/").status_code == 302, "the console session ends too"
    assert login("agent@demo").status_code == 401
    client.patch(f"/api/v1/users/{target}", json={"active": True}, headers=admin)
    assert client.get("/api/v1/me", headers=agent).status_code == 401, "reactivation does not revive old tokens"
    assert login("agent@demo").status_code == 200
    actions = [e["action"] for e in client.get("/api/v1/audit", query_string={"user": target},
                                                headers=admin).get_json()["items"]]
    assert "user_deactivated" in str(client.get("/api/v1/audit", headers=admin).get_json())
    assert actions, "the target's own logins are listed under its id"


def test_gateway_users_role_change_ends_tokens_and_is_audited_with_before_and_after(client, login):
    admin = bearer_of(login)
    supervisor = bearer_of(login, "supervisor@demo")
    target = demo_id("user", "supervisor@demo")
    response = client.patch(f"/api/v1/users/{target}", headers=admin, json={
        "roles": [["cs_supervisor", "DEMO-RES"], ["cs_supervisor", "DEMO-OFFICE"]], "display_name": "王主管"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["roles"] == [["cs_supervisor", "DEMO-OFFICE"], ["cs_supervisor", "DEMO-RES"]]
    assert client.get("/api/v1/me", headers=supervisor).status_code == 401
    fresh = client.get("/api/v1/me", headers=bearer_of(login, "supervisor@demo")).get_json()
    assert fresh["display_name"] == "王主管" and len(fresh["roles"]) == 2
    changed = client.get("/api/v1/audit", query_string={"action": "user_roles_changed"}, headers=admin)
    detail = changed.get_json()["items"][0]["detail"]
    assert detail["before"] == [["cs_supervisor", "DEMO-RES"]] and len(detail["after"]) == 2


def test_gateway_users_a_name_change_keeps_tokens(client, login):
    admin = bearer_of(login)
    agent = bearer_of(login, "agent@demo")
    client.patch(f"/api/v1/users/{demo_id('user', 'agent@demo')}", json={"display_name": "小张"}, headers=admin)
    assert client.get("/api/v1/me", headers=agent).status_code == 200


def test_gateway_users_admin_cannot_lock_themself_out(client, login):
    admin = bearer_of(login)
    me = demo_id("user", "admin@demo")
    for body, field in (({"active": False}, "active"), ({"roles": [["head_office", None]]}, "roles")):
        response = client.patch(f"/api/v1/users/{me}", json=body, headers=admin)
        assert response.status_code == 422 and response.get_json()["error"] == "cannot_change_self"
        assert response.get_json()["details"]["field"] == field


def test_gateway_users_another_tenants_user_is_not_found(client, login):
    admin = bearer_of(login)
    foreign = demo_id("user", "hq@other")
    for method, path, body in (("patch", f"/api/v1/users/{foreign}", {"active": False}),
                               ("post", f"/api/v1/users/{foreign}/password-reset", None),
                               ("delete", f"/api/v1/users/{foreign}/totp", None),
                               ("patch", "/api/v1/users/not-a-uuid", {"active": False})):
        response = getattr(client, method)(path, json=body, headers=admin)
        assert response.status_code == 404 and response.get_json()["error"] == "user_not_found", path
    assert login("hq@other").status_code == 200, "still active"


@pytest.mark.parametrize("password,reason", [
    ("short1", "too_short"), ("agent@demo", "is_username"), ("AGENT@DEMO", "is_username"),
    ("Password123", "too_common"), ("x" * 1025, "too_long"), ("correct horse battery", None),
])
def test_gateway_users_password_policy(password, reason):
    assert passwords.problem(password, "agent@demo") == reason


def test_gateway_users_own_password_change(client, login):
    agent = bearer_of(login, "agent@demo")
    wrong = client.post("/api/v1/me/password", headers=agent,
                        json={"current_password": "nope-nope-nope", "new_password": "a-much-better-secret"})
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "wrong_password"
    weak = client.post("/api/v1/me/password", headers=agent,
                       json={"current_password": DEMO_PASSWORD, "new_password": "1234567890"})
    assert weak.status_code == 422 and weak.get_json()["error"] == "password_too_common"
    assert "常见" in weak.get_json()["message"]
    ok = client.post("/api/v1/me/password", headers=agent,
                     json={"current_password": DEMO_PASSWORD, "new_password": "a-much-better-secret"})
    assert ok.status_code == 200
    assert client.get("/api/v1/me", headers=agent).status_code == 401, "the old token ends"
    assert login("agent@demo").status_code == 401
    assert login("agent@demo", "a-much-better-secret").status_code == 200


def test_gateway_users_reset_link_sets_a_password_once_within_an_hour(client, app, login):
    admin = bearer_of(login)
    target = demo_id("user", "agent@demo")
    issued = client.post(f"/api/v1/users/{target}/password-reset", headers=admin)
    assert issued.status_code == 201 and issued.headers["Cache-Control"] == "no-store"
    token, url = issued.get_json()["token"], issued.get_json()["url"]
    assert url.endswith(f"/reset-password/{token}")
    with app.extensions["db"].connect() as conn:
        stored = conn.execute(password_resets.select()).first()
    assert token not in str(tuple(stored)), "only the hash is stored"
    weak = client.post("/api/v1/auth/password-reset", json={"token": token, "new_password": "agent@demo"})
    assert weak.status_code == 422 and weak.get_json()["error"] == "password_is_username"
    ok = client.post("/api/v1/auth/password-reset", json={"token": token, "new_password": "reset-secret-2026"})
    assert ok.status_code == 200 and ok.get_json()["username"] == "agent@demo"
    again = client.post("/api/v1/auth/password-reset", json={"token": token, "new_password": "reset-secret-2027"})
    assert again.status_code == 404 and again.get_json()["error"] == "password_reset_invalid"
    assert login("agent@demo", "reset-secret-2026").status_code == 200


def test_gateway_users_reset_link_expires_and_is_superseded(app):
    engine = app.extensions["db"]
    target, by = demo_id("user", "agent@demo"), demo_id("user", "admin@demo")
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    with engine.begin() as conn:
        old = passwords.issue_reset(conn, DEMO_TENANT["id"], target, by, now=past)
        assert passwords.reset_target(conn, old["token"]) is None, "expired after an hour"
        first = passwords.issue_reset(conn, DEMO_TENANT["id"], target, by)
        second = passwords.issue_reset(conn, DEMO_TENANT["id"], target, by)
        assert passwords.reset_target(conn, first["token"]) is None, "superseded"
        assert passwords.reset_target(conn, second["token"])["username"] == "agent@demo"
        assert passwords.issue_reset(conn, OTHER_TENANT["id"], target, by) is None, "not that tenant's user"


def test_gateway_users_console_create_edit_and_reset(client, login):
    assert page_login(client, "admin@demo").status_code == 302
    page = client.get("/admin/users")
    assert page.status_code == 200 and "用户管理" in page.get_data(as_text=True)
    assert all(f'<option value="{role}"' in page.get_data(as_text=True) for role in ROLES), "every role offered"
    created = client.post("/admin/users", data={
        "csrf_token": csrf(client, "/admin/users"), "username": "page.user@demo", "display_name": "页面用户",
        "role": ["agent", "", "site_manager"], "estate": ["DEMO-RES", "", "DEMO-RES"]})
    html = created.get_data(as_text=True)
    assert created.status_code == 201, html[:500]
    initial = re.search(r'id="initial-password">([^<]+)<', html).group(1)
    assert login("page.user@demo", initial).status_code == 200
    user_id = next(u["id"] for u in client.get("/api/v1/users", headers=bearer_of(login)).get_json()["items"]
                   if u["username"] == "page.user@demo")
    assert client.get(f"/admin/users/{user_id}").status_code == 200
    saved = client.post(f"/admin/users/{user_id}", data={
        "csrf_token": csrf(client, f"/admin/users/{user_id}"), "display_name": "页面用户二",
        "role": ["agent"], "estate": ["DEMO-OFFICE"]})  # no "active": deactivates
    assert saved.status_code == 302
    assert login("page.user@demo", initial).status_code == 401
    bad = client.post(f"/admin/users/{user_id}", data={
        "csrf_token": csrf(client, f"/admin/users/{user_id}"), "active": "1", "role": ["agent"],
        "estate": ["NOWHERE"]})
    assert bad.status_code == 422 and "不属于本集团" in bad.get_data(as_text=True)
    reset = client.post(f"/admin/users/{user_id}/password-reset",
                        data={"csrf_token": csrf(client, f"/admin/users/{user_id}")})
    url = re.search(r'id="reset-url">([^<]+)<', reset.get_data(as_text=True)).group(1)
    assert "/reset-password/" in url
    assert client.get(f"/admin/users/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/admin/users/{demo_id('user', 'hq@other')}").status_code == 404


def test_gateway_users_console_reset_page_and_own_password(client, app, login):
    with app.extensions["db"].begin() as conn:
        issued = passwords.issue_reset(conn, DEMO_TENANT["id"], demo_id("user", "agent@demo"),
                                       demo_id("user", "admin@demo"))
    path = f"/reset-password/{issued['token']}"
    assert "agent@demo" in client.get(path).get_data(as_text=True)
    differ = client.post(path, data={"csrf_token": csrf(client, path), "new_password": "reset-secret-2026",
                                     "confirm_password": "reset-secret-2027"})
    assert differ.status_code == 422 and "不一致" in differ.get_data(as_text=True)
    done = client.post(path, data={"csrf_token": csrf(client, path), "new_password": "reset-secret-2026",
                                   "confirm_password": "reset-secret-2026"})
    assert done.status_code == 302
    assert client.get(path).status_code == 404
    assert client.get("/reset-password/forged").status_code == 404
    assert page_login(client, "agent@demo", "reset-secret-2026").status_code == 302
    other_browser = app.test_client()
    page_login(other_browser, "agent@demo", "reset-secret-2026")
    changed = client.post("/account/password", data={
        "csrf_token": csrf(client), "current_password": "reset-secret-2026", "new_password": "third-secret-2026",
        "confirm_password": "third-secret-2026"})
    assert changed.status_code == 302
    assert client.get("/account").status_code == 200, "this browser stays logged in"
    assert other_browser.get("/account").status_code == 302, "other sessions end"
    weak = client.post("/account/password", data={
        "csrf_token": csrf(client), "current_password": "third-secret-2026", "new_password": "short",
        "confirm_password": "short"})
    assert weak.status_code == 422 and "至少需要 10 个字符" in weak.get_data(as_text=True)
