"""Console login, logout, lockout, CSRF, language and session cookie (Flask test client, fake RPC)."""
import datetime as dt
import re

import pytest

from estatedesk_common.demo import DEMO_PASSWORD

from gateway import lockout

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def console_login(client, username="agent@demo", password=DEMO_PASSWORD, next_=None):
    url = "/login" + (f"?next={next_}" if next_ else "")
    return client.post(url, data={"username": username, "password": password, "csrf_token": csrf_of(client)})


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="zh-CN">' in html
    assert "员工登录" in html and "用户名" in html and "Staff login" not in html


def test_language_switch_is_kept_in_the_session(client):
    html = client.get("/login?lang=en").get_data(as_text=True)
    assert "Staff login" in html and '<html lang="en">' in html
    assert "Staff login" in client.get("/login").get_data(as_text=True)  # remembered
    assert "员工登录" in client.get("/login?lang=zh_CN").get_data(as_text=True)
    assert "员工登录" in client.get("/login?lang=fr").get_data(as_text=True)  # unknown: unchanged


def test_login_sets_a_hardened_session_cookie_and_goes_home(client):
    response = console_login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_session_cookie_is_secure_over_https(client):
    token = CSRF.search(client.get("/login", base_url="https://localhost").get_data(as_text=True)).group(1)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"username": "agent@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


def test_login_follows_local_next_only(client):
    assert console_login(client, next_="/complaints").headers["Location"] == "/complaints"
    client.post("/logout", data={"csrf_token": csrf_of(client, "/complaints/new")})
    assert console_login(client, next_="//evil.example/x").headers["Location"] == "/"


def test_wrong_password_is_refused_in_the_users_language(client):
    response = console_login(client, password="nope")
    assert response.status_code == 401 and "用户名或密码错误" in response.get_data(as_text=True)
    client.get("/login?lang=en")
    assert "Wrong username or password" in console_login(client, password="nope").get_data(as_text=True)


def test_pages_need_a_login(client):
    response = client.get("/complaints?estate=DEMO-RES")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/complaints")


def test_logout_ends_the_session(client, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    console_login(client)
    assert client.get("/").status_code == 200
    token = csrf_of(client, "/")
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("path, data", [
    ("/login", {"username": "agent@demo", "password": DEMO_PASSWORD}),
    ("/logout", {}),
    ("/complaints/new", {"estate": "DEMO-RES", "description": "x", "phone": "13800138000"}),
    ("/t/demo/status", {"reference": "TS20261124-AAAAAA", "phone": "13800138000"}),
])
def test_post_without_or_with_a_wrong_csrf_token_is_refused(client, fake_rpc, path, data):
    for extra in ({}, {"csrf_token": "forged"}):
        response = client.post(path, data=data | extra)
        assert response.status_code == 400, path
        assert "表单已过期" in response.get_data(as_text=True)
    assert fake_rpc.calls == []


def test_api_is_exempt_from_csrf_and_ignores_the_session_cookie(client, login):
    console_login(client)
    assert client.get("/api/v1/me").status_code == 401  # the page session is not an API credential
    assert login().status_code == 200  # JSON POST without any CSRF token


def test_five_failures_lock_the_username_for_fifteen_minutes(client, app):
    for _ in range(lockout.MAX_FAILURES - 1):
        assert "用户名或密码错误" in console_login(client, password="wrong").get_data(as_text=True)
    locked = console_login(client, password="wrong").get_data(as_text=True)
    assert "账户已锁定" in locked and "15 分钟" in locked
    response = console_login(client)  # the right password does not help now
    assert response.status_code == 401 and "账户已锁定" in response.get_data(as_text=True)
    api = client.post("/api/v1/auth/token", json={"username": "agent@demo", "password": DEMO_PASSWORD})
    assert api.status_code == 429 and api.get_json()["error"] == "account_locked"
    assert 0 < int(api.headers["Retry-After"]) <= 15 * 60
    assert console_login(client, username="supervisor@demo").status_code == 302  # other users unaffected


def test_lock_expires_and_success_clears_the_count(app):
    engine = app.extensions["db"]
    start = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
    for i in range(lockout.MAX_FAILURES - 1):
        assert lockout.attempt_login(engine, "agent@demo", "wrong", now=start + dt.timedelta(seconds=i)) is None
    with pytest.raises(lockout.AccountLocked) as locked:
        lockout.attempt_login(engine, "agent@demo", "wrong", now=start + dt.timedelta(minutes=1))
    assert locked.value.until == start + dt.timedelta(minutes=16)
    later = start + dt.timedelta(minutes=17)
    assert lockout.attempt_login(engine, "agent@demo", DEMO_PASSWORD, now=later) is not None
    for i in range(lockout.MAX_FAILURES - 1):  # counting starts again from zero
        assert lockout.attempt_login(engine, "agent@demo", "wrong", now=later + dt.timedelta(seconds=i)) is None


def test_unknown_usernames_are_locked_like_real_ones(app):
    engine = app.extensions["db"]
    for _ in range(lockout.MAX_FAILURES - 1):
        assert lockout.attempt_login(engine, "nobody@demo", "x") is None
    with pytest.raises(lockout.AccountLocked):
        lockout.attempt_login(engine, "nobody@demo", "x")


def test_failures_spread_over_more_than_the_window_do_not_lock(app):
    engine = app.extensions["db"]
    start = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
    for i in range(lockout.MAX_FAILURES * 2):
        assert lockout.attempt_login(engine, "agent@demo", "wrong", now=start + dt.timedelta(minutes=16 * i)) is None


def test_deactivated_user_loses_the_page_session(client, app, fake_rpc):
    from sqlalchemy import update

    from gateway.tables import users

    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    console_login(client)
    assert client.get("/").status_code == 200
    with app.extensions["db"].begin() as conn:
        conn.execute(update(users).where(users.c.username == "agent@demo").values(active=False))
    assert client.get("/").status_code == 302
