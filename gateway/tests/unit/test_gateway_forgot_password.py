"""Self-service password reset ("forgot password"): users' e-mail addresses (admin API, console, demo seed, audit),
the neutral answer (no enumeration), the limits, CSRF, the link's host from configuration, the token kept out of
the logs, and the link setting a new password."""
from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
from nameko.exceptions import RpcTimeout

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, OTHER_TENANT, demo_id

from gateway.app import create_app
from gateway.tables import password_resets, users

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET = "forgot-password-test-secret-" + "y" * 32
PUBLIC = "https://desk.example.cn"
AGENT = demo_id("user", "agent@demo")
ESTATES = [{"code": "DEMO-RES", "name": "示范住宅"}, {"code": "DEMO-OFFICE", "name": "示范写字楼"}]


def make_app(db_url, fake_rpc, **config):
    return create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "RPC": fake_rpc, "CONFIGURE_LOGGING": False,
                       "TOKEN_TTL": 600, "PUBLIC_BASE_URL": PUBLIC, "PASSWORD_RESET_MIN_SECONDS": 0} | config)


@pytest.fixture
def app(db_url, fake_rpc):
    fake_rpc.reply("notify", "queue_password_reset", {"message_id": str(uuid.uuid4()), "status": "queued"})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    app = make_app(db_url, fake_rpc)
    yield app
    app.extensions["db"].dispose()


def ask(client, username, **kwargs):
    token = CSRF.search(client.get("/forgot-password", **kwargs).get_data(as_text=True)).group(1)
    return client.post("/forgot-password", data={"username": username, "csrf_token": token}, **kwargs)


def mails(fake_rpc) -> list:
    return [c for c in fake_rpc.calls if (c["service"], c["method"]) == ("notify", "queue_password_reset")]


def neutral(response) -> str:
    """The page without what differs per request anyway (CSRF tokens)."""
    return CSRF.sub("", response.get_data(as_text=True))


def set_email(app, username, email):
    with app.extensions["db"].begin() as conn:
        conn.execute(users.update().where(users.c.username == username).values(email=email))


def test_gateway_forgot_login_page_links_to_the_form(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/forgot-password"' in page and "忘记密码" in page
    form = client.get("/forgot-password")
    assert form.status_code == 200 and 'name="username"' in form.get_data(as_text=True)
    assert "Forgot password" in client.get("/forgot-password?lang=en").get_data(as_text=True)


def test_gateway_forgot_same_answer_for_unknown_inactive_no_email_and_real_users(app, client, fake_rpc):
    set_email(app, "hq@demo", None)
    with app.extensions["db"].begin() as conn:
        conn.execute(users.update().where(users.c.username == "committee@demo").values(active=False))
    answers = {name: ask(client, name) for name in
               ("nobody@demo", "hq@demo", "committee@demo", "agent@demo")}
    assert {r.status_code for r in answers.values()} == {200}
    assert len({neutral(r) for r in answers.values()}) == 1, "one page for every case"
    assert 'id="reset-requested"' in neutral(answers["agent@demo"])
    sent = mails(fake_rpc)
    assert len(sent) == 1, "only the active user with an address gets a mail"
    email, locale, link, expires_at = sent[0]["args"]
    assert (email, locale) == ("agent@demo.example", "zh_CN")
    assert link.startswith(f"{PUBLIC}/reset-password/") and expires_at
    assert sent[0]["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert "user_id" not in sent[0]["context"] and "roles" not in sent[0]["context"], "no person behind the call"
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(password_resets.select()).all()
    assert [(r.user_id, r.created_by) for r in rows] == [(AGENT, "self-service")]


def test_gateway_forgot_from_a_signed_in_browser_acts_for_nobody(client, fake_rpc):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "agent@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    ask(client, "hq@other")
    [sent] = mails(fake_rpc)
    assert sent["args"][0] == "hq@other.example"
    assert sent["context"]["tenant_id"] == OTHER_TENANT["id"] and "roles" not in sent["context"]


def test_gateway_forgot_link_host_comes_from_configuration_not_the_host_header(client, fake_rpc):
    answer = ask(client, "agent@demo", base_url="http://evil.example",
                 headers={"X-Forwarded-Host": "evil.example"})
    assert answer.status_code == 200
    link = mails(fake_rpc)[0]["args"][2]
    assert link.startswith(PUBLIC + "/reset-password/") and "evil" not in link


def test_gateway_forgot_english_page_sends_an_english_mail(client, fake_rpc):
    client.get("/forgot-password?lang=en")
    ask(client, "agent@demo")
    assert mails(fake_rpc)[0]["args"][1] == "en"


def test_gateway_forgot_mailed_link_sets_a_new_password_once(app, client, fake_rpc, login):
    ask(client, "agent@demo")
    path = mails(fake_rpc)[0]["args"][2][len(PUBLIC):]
    page = client.get(path)
    assert page.status_code == 200 and "agent@demo" in page.get_data(as_text=True)
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    done = client.post(path, data={"csrf_token": token, "new_password": "mailed-secret-2026",
                                   "confirm_password": "mailed-secret-2026"})
    assert done.status_code == 302
    assert login("agent@demo", "mailed-secret-2026").status_code == 200
    assert login("agent@demo", DEMO_PASSWORD).status_code == 401
    assert client.get(path).status_code == 404, "used once"


def test_gateway_forgot_a_new_request_supersedes_the_previous_link(client, fake_rpc):
    ask(client, "agent@demo")
    ask(client, "agent@demo")
    first, second = (c["args"][2][len(PUBLIC):] for c in mails(fake_rpc))
    assert client.get(first).status_code == 404 and client.get(second).status_code == 200


def test_gateway_forgot_token_and_link_are_not_logged(client, fake_rpc, caplog):
    caplog.set_level(logging.DEBUG)
    ask(client, "agent@demo")
    link = mails(fake_rpc)[0]["args"][2]
    token = link.rsplit("/", 1)[1]
    assert token and token not in caplog.text and "agent@demo.example" not in caplog.text
    assert "password reset e-mail queued" in caplog.text


def test_gateway_forgot_needs_csrf(client, fake_rpc):
    refused = client.post("/forgot-password", data={"username": "agent@demo"})
    assert refused.status_code == 400 and mails(fake_rpc) == []


def test_gateway_forgot_empty_username_is_a_form_error(client, fake_rpc):
    response = ask(client, "  ")
    assert response.status_code == 422 and "请输入用户名" in response.get_data(as_text=True)
    assert mails(fake_rpc) == []


def test_gateway_forgot_per_username_limit_sends_nothing_and_answers_alike(client, fake_rpc):
    answers = [ask(client, name) for name in ("agent@demo", "Agent@demo", "agent@demo", "agent@demo")]
    assert {r.status_code for r in answers} == {200} and len({neutral(r) for r in answers}) == 1
    # logins are case-sensitive (Agent@demo is nobody) but the count is not: 3 per hour, then nothing more
    assert len(mails(fake_rpc)) == 2
    assert ask(client, "supervisor@demo").status_code == 200 and len(mails(fake_rpc)) == 3, "others unaffected"


def test_gateway_forgot_per_ip_limit(db_url, fake_rpc):
    fake_rpc.reply("notify", "queue_password_reset", {"status": "queued"})
    app = make_app(db_url, fake_rpc, PASSWORD_RESET_RATE_LIMIT="2 per minute")
    client = app.test_client()
    assert [ask(client, f"user{i}@demo").status_code for i in range(3)] == [200, 200, 429]
    other_ip = ask(client, "user9@demo", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other_ip.status_code == 200
    app.extensions["db"].dispose()


def test_gateway_forgot_notify_down_still_answers_neutrally(client, fake_rpc, caplog):
    fake_rpc.reply("notify", "queue_password_reset", RpcTimeout("notify.queue_password_reset"))
    answer = ask(client, "agent@demo")
    assert answer.status_code == 200 and neutral(answer) == neutral(ask(client, "nobody@demo"))
    assert "not queued: RpcTimeout" in caplog.text


def test_gateway_forgot_answer_takes_the_configured_least_time(db_url, fake_rpc):
    app = make_app(db_url, fake_rpc, PASSWORD_RESET_MIN_SECONDS=0.3)
    client = app.test_client()
    token = CSRF.search(client.get("/forgot-password").get_data(as_text=True)).group(1)
    started = time.monotonic()
    client.post("/forgot-password", data={"username": "nobody@demo", "csrf_token": token})
    assert time.monotonic() - started >= 0.3
    app.extensions["db"].dispose()


# -- the users' e-mail addresses ------------------------------------------------------------------------------

def admin_headers(login) -> dict:
    return {"Authorization": f"Bearer {login('admin@demo').get_json()['access_token']}"}


def test_gateway_forgot_demo_users_have_example_addresses(client, login):
    listed = client.get("/api/v1/users", headers=admin_headers(login)).get_json()["items"]
    assert {u["username"]: u["email"] for u in listed}["supervisor@demo"] == "supervisor@demo.example"


@pytest.mark.parametrize("email", ["not-an-address", "a@b", "two@@example.com", "x@example.com\nBcc: y@z.cn",
                                   "a" * 250 + "@example.com"])
def test_gateway_forgot_admin_email_is_validated(client, login, email):
    response = client.patch(f"/api/v1/users/{AGENT}", json={"email": email}, headers=admin_headers(login))
    body = response.get_json()
    assert response.status_code == 422 and body["details"]["field"] == "email", body
    assert body["error"] in ("invalid_email", "validation_failed")


def test_gateway_forgot_admin_sets_and_removes_the_email_with_an_audit_entry(client, login):
    admin = admin_headers(login)
    changed = client.patch(f"/api/v1/users/{AGENT}", json={"email": " zhang.san@wuye.example.cn "}, headers=admin)
    assert changed.status_code == 200 and changed.get_json()["email"] == "zhang.san@wuye.example.cn"
    removed = client.patch(f"/api/v1/users/{AGENT}", json={"email": ""}, headers=admin)
    assert removed.status_code == 200 and removed.get_json()["email"] is None
    entries = client.get("/api/v1/audit?action=user_email_changed", headers=admin).get_json()["items"]
    assert len(entries) == 2 and all(e["target_id"] == AGENT for e in entries)
    assert "zhang.san@" not in str(entries), "addresses are masked in the audit log"
    created = client.post("/api/v1/users", json={"username": "mail.user@demo", "display_name": "邮件",
                                                 "roles": [["agent", "DEMO-RES"]], "email": "mail@wuye.example.cn"},
                          headers=admin)
    assert created.status_code == 201 and created.get_json()["email"] == "mail@wuye.example.cn"


def test_gateway_forgot_console_admin_edits_the_email(app, client):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "admin@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    path = f"/admin/users/{AGENT}"
    page = client.get(path).get_data(as_text=True)
    assert 'value="agent@demo.example"' in page

    def save(email):
        token = CSRF.search(client.get(path).get_data(as_text=True)).group(1)
        return client.post(path, data={"csrf_token": token, "display_name": "客服专员 张", "email": email,
                                       "active": "1", "role": ["agent", "agent"],
                                       "estate": ["DEMO-RES", "DEMO-OFFICE"]})

    bad = save("nope")
    assert bad.status_code == 422 and "有效的电子邮箱" in bad.get_data(as_text=True)
    assert save("zhang@wuye.example.cn").status_code == 302
    with app.extensions["db"].connect() as conn:
        assert conn.execute(users.select().where(users.c.id == AGENT)).first().email == "zhang@wuye.example.cn"
