"""TOTP second factor: enrolment (API and /account), login with a code (API and console), replay, recovery
codes, lockout, disable and the admin's reset."""
from __future__ import annotations

import datetime as dt
import re
import time

import pyotp
import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, demo_id

from gateway import totp
from gateway.tables import recovery_codes

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
AGENT = demo_id("user", "agent@demo")


def bearer_of(login, user="agent@demo", password=DEMO_PASSWORD, code=None) -> dict:
    response = login(user, password) if code is None else login(user, password, code)
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


@pytest.fixture
def login(client):
    def login(username="agent@demo", password=DEMO_PASSWORD, code=None):
        body = {"username": username, "password": password} | ({"totp": code} if code is not None else {})
        return client.post("/api/v1/auth/token", json=body)

    return login


def code_at(secret: str, seconds_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(int(time.time()) + seconds_from_now)


@pytest.fixture
def enrolled(client, login):
    """agent@demo with TOTP on: ``(secret, recovery codes)``; the confirming code's step is spent."""
    headers = bearer_of(login)
    started = client.post("/api/v1/me/totp", headers=headers)
    assert started.status_code == 201, started.get_json()
    secret = started.get_json()["secret"]
    confirmed = client.post("/api/v1/me/totp/confirm", json={"code": code_at(secret, -30)}, headers=headers)
    assert confirmed.status_code == 200, confirmed.get_json()
    return secret, confirmed.get_json()["recovery_codes"]


def test_gateway_totp_enrolment_answers_uri_qr_and_ten_codes(client, login, app):
    headers = bearer_of(login)
    started = client.post("/api/v1/me/totp", headers=headers).get_json()
    assert started["otpauth_uri"].startswith("otpauth://totp/EstateDesk:agent%40demo?secret=" + started["secret"])
    assert started["qr_svg"].lstrip().startswith("<?xml") and "<script" not in started["qr_svg"]
    assert login().status_code == 200, "not required before it is confirmed"
    wrong = client.post("/api/v1/me/totp/confirm", json={"code": "000000"}, headers=headers)
    assert wrong.status_code == 422 and wrong.get_json()["error"] == "totp_invalid_code"
    done = client.post("/api/v1/me/totp/confirm", json={"code": code_at(started["secret"])}, headers=headers)
    codes = done.get_json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10 and all(len(c) == 14 for c in codes)
    with app.extensions["db"].connect() as conn:
        stored = str(conn.execute(recovery_codes.select()).all())
    assert not any(c.replace("-", "") in stored for c in codes), "only hashes are stored"
    again = client.post("/api/v1/me/totp", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"] == "totp_already_enabled"


def test_gateway_totp_login_needs_the_code_once_it_is_on(client, login, enrolled):
    secret, _codes = enrolled
    missing = login()
    assert missing.status_code == 401 and missing.get_json()["error"] == "totp_required"
    assert missing.get_json()["details"]["field"] == "totp" and "动态验证码" in missing.get_json()["message"]
    wrong = login(code="123456")
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_credentials"
    headers = bearer_of(login, code=code_at(secret))
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    replay = login(code=code_at(secret))
    assert replay.status_code == 401, "a code works once"
    assert login(password="wrong-password", code=code_at(secret, 30)).status_code == 401


def test_gateway_totp_recovery_codes_work_once(client, login, enrolled):
    _secret, codes = enrolled
    assert login(code=codes[0].upper()).status_code == 200, "case and dashes do not matter"
    assert login(code=codes[0]).status_code == 401
    admin = bearer_of(login, "admin@demo")
    items = client.get("/api/v1/audit", query_string={"user": "agent@demo"}, headers=admin).get_json()["items"]
    actions = [e["action"] for e in items]
    assert "recovery_code_used" in actions and "totp_enabled" in actions
    assert {"factors": "password+recovery_code"} in [e["detail"] for e in items if e["action"] == "login_ok"]


def test_gateway_totp_wrong_codes_count_towards_the_lockout(login, enrolled):
    secret, _codes = enrolled
    for _ in range(5):
        login(code="999999")
    locked = login(code=code_at(secret))
    assert locked.status_code == 429 and locked.get_json()["error"] == "account_locked"


def test_gateway_totp_disable_needs_password_and_code(client, login, enrolled):
    secret, _codes = enrolled
    headers = bearer_of(login, code=code_at(secret))
    no_pw = client.post("/api/v1/me/totp/disable", json={"password": "nope", "code": code_at(secret, 30)},
                        headers=headers)
    assert no_pw.status_code == 422 and no_pw.get_json()["error"] == "wrong_password"
    off = client.post("/api/v1/me/totp/disable", json={"password": DEMO_PASSWORD, "code": code_at(secret, 30)},
                      headers=headers)
    assert off.status_code == 200 and off.get_json() == {"enabled": False}
    assert login().status_code == 200
    again = client.post("/api/v1/me/totp/disable", json={"password": DEMO_PASSWORD, "code": "1"}, headers=headers)
    assert again.status_code == 409


def test_gateway_totp_admin_reset_ends_tokens_and_removes_the_factor(client, login, enrolled, app):
    secret, _codes = enrolled
    agent = bearer_of(login, code=code_at(secret))
    admin = bearer_of(login, "admin@demo")
    reset = client.delete(f"/api/v1/users/{AGENT}/totp", headers=admin)
    assert reset.status_code == 200 and reset.get_json()["totp_enabled"] is False
    assert client.get("/api/v1/me", headers=agent).status_code == 401
    assert login().status_code == 200
    with app.extensions["db"].connect() as conn:
        assert totp.remaining_codes(conn, DEMO_TENANT["id"], AGENT) == 0
    assert client.delete(f"/api/v1/users/{AGENT}/totp", headers=bearer_of(login, "hq@demo")).status_code == 403


def test_gateway_totp_codes_outside_the_window_are_refused(app):
    secret = pyotp.random_base32()
    now = dt.datetime.now(dt.timezone.utc)
    assert totp._step(secret, pyotp.TOTP(secret).at(now - dt.timedelta(seconds=90)), now, None) is None
    assert totp._step(secret, pyotp.TOTP(secret).at(now - dt.timedelta(seconds=30)), now, None) is not None
    assert totp._step(secret, "12345", now, None) is None and totp._step(secret, "abcdef", now, None) is None


def page_login(client, user="agent@demo", password=DEMO_PASSWORD):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    return client.post("/login", data={"username": user, "password": password, "csrf_token": token})


def test_gateway_totp_console_enrolment_and_two_step_login(client, app):
    assert page_login(client).status_code == 302
    account = client.get("/account")
    assert account.status_code == 200 and "设置两步验证" in account.get_data(as_text=True)
    token = CSRF.search(account.get_data(as_text=True)).group(1)
    assert client.post("/account/totp", data={"csrf_token": token}).status_code == 302
    html = client.get("/account").get_data(as_text=True)
    assert "<svg" in html and "otpauth://totp/" in html
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', html).group(1)
    wrong = client.post("/account/totp/confirm", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 422 and "验证码不正确" in wrong.get_data(as_text=True)
    done = client.post("/account/totp/confirm", data={"csrf_token": token, "code": code_at(secret, -30)})
    assert done.status_code == 200 and len(re.findall(r"<li><code>", done.get_data(as_text=True))) == 10

    browser = app.test_client()
    step = page_login(browser)
    assert step.status_code == 200 and 'name="totp"' in step.get_data(as_text=True)
    assert browser.get("/").status_code == 302, "not logged in after the password alone"
    token = CSRF.search(step.get_data(as_text=True)).group(1)
    bad = browser.post("/login", data={"csrf_token": token, "step": "totp", "totp": "000000"})
    assert bad.status_code == 401 and "验证码不正确" in bad.get_data(as_text=True)
    ok = browser.post("/login", data={"csrf_token": token, "step": "totp", "totp": code_at(secret)})
    assert ok.status_code == 302 and browser.get("/account").status_code == 200

    stranger = app.test_client()
    token = CSRF.search(stranger.get("/login").get_data(as_text=True)).group(1)
    forged = stranger.post("/login", data={"csrf_token": token, "step": "totp", "totp": code_at(secret, 30)})
    assert forged.status_code == 401 and stranger.get("/").status_code == 302, "no password step, no login"
