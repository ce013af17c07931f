"""The tenant's outgoing mail server (发件邮箱): ``/api/v1/mail-settings`` and the section of ``/admin/integrations``:
group admins only, validation with code and field, the password never echoed (API, page, audit), CSRF, the test
mail's outcome in the user's language (notify faked; the real SMTP conversation is in notify's integration tests)."""
from __future__ import annotations

import json
import re

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT

from gateway import audit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "Auth-Code-Never-Echoed-42"
PLATFORM = {"mode": "platform", "host": "", "port": None, "security": None, "username": "", "password_set": False,
            "from_address": "", "from_name": "", "updated_at": None, "updated_by": None}
CUSTOM = {"mode": "custom", "host": "smtp.exmail.qq.com", "port": 465, "security": "tls", "username": "kefu@jinxiu.cn",
          "password_set": True, "from_address": "kefu@jinxiu.cn", "from_name": "锦绣物业客服",
          "updated_at": "2026-11-24T02:00:00+00:00", "updated_by": "u-admin"}
BODY = {"mode": "custom", "host": "smtp.exmail.qq.com", "port": 465, "security": "tls", "username": "kefu@jinxiu.cn",
        "password": PASSWORD, "from_address": "kefu@jinxiu.cn", "from_name": "锦绣物业客服"}


@pytest.fixture(autouse=True)
def _services(fake_rpc):
    state = {"settings": dict(PLATFORM)}

    def save(data):
        before = state["settings"]
        after = PLATFORM if data["mode"] == "platform" else CUSTOM | {
            k: data[k] for k in ("host", "port", "security", "username", "from_address", "from_name")}
        state["settings"] = after
        return {"settings": after, "before": before, "password_changed": bool(data.get("password"))}

    fake_rpc.reply("notify", "get_mail_settings", lambda: state["settings"])
    fake_rpc.reply("notify", "save_mail_settings", save)
    fake_rpc.reply("notify", "send_test_mail", lambda to, locale, settings: {
        "ok": False, "stage": "auth", "error": "auth_failed", "reply": "535 5.7.8 Error: authentication failed",
        "server": "smtp.exmail.qq.com:465", "security": "tls"})
    fake_rpc.reply("notify", "list_webhooks", [])
    fake_rpc.reply("intake", "list_wechat_accounts", [])
    return state


def _token(client, user="admin@demo"):
    r = client.post("/api/v1/auth/token", json={"username": user, "password": DEMO_PASSWORD})
    return {"Authorization": "Bearer " + r.get_json()["access_token"]}


def _calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def _audit(app):
    with app.extensions["db"].connect() as conn:
        return audit.entries(conn, DEMO_TENANT["id"], audit.Query(action="mail_settings_saved"))["items"]


# -- API --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("user", ["agent@demo", "hq@demo", "manager@demo", "supervisor@demo"])
def test_only_group_admins_reach_the_mail_settings_api(client, fake_rpc, user):
    headers = _token(client, user)
    assert client.get("/api/v1/mail-settings", headers=headers).status_code == 403
    assert client.put("/api/v1/mail-settings", json=BODY, headers=headers).status_code == 403
    assert client.post("/api/v1/mail-settings/test", json={"to": "me@example.com"}, headers=headers).status_code == 403
    assert not [c for c in fake_rpc.calls if c["service"] == "notify"]
    assert client.get("/api/v1/mail-settings").status_code == 401


def test_save_passes_the_settings_on_never_echoes_the_password_and_audits_without_it(client, app, fake_rpc):
    headers = _token(client)
    r = client.put("/api/v1/mail-settings", json=BODY, headers=headers)
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    assert r.get_json()["host"] == "smtp.exmail.qq.com" and r.get_json()["password_set"] is True
    assert PASSWORD not in r.get_data(as_text=True) and "before" not in r.get_json()
    [call] = _calls(fake_rpc, "save_mail_settings")
    assert call["args"][0]["password"] == PASSWORD and call["context"]["roles"] == [["group_admin", None]]
    got = client.get("/api/v1/mail-settings", headers=headers)
    assert got.get_json()["mode"] == "custom" and PASSWORD not in got.get_data(as_text=True)

    [row] = _audit(app)
    assert row["username"] == "admin@demo" and row["target_kind"] == "mail_settings"
    assert row["detail"]["before"]["mode"] == "platform" and row["detail"]["after"]["host"] == "smtp.exmail.qq.com"
    assert row["detail"]["password_changed"] is True and PASSWORD not in json.dumps(row, ensure_ascii=False)
    assert "password" not in row["detail"]["after"]


def test_an_empty_password_means_keep_the_stored_one(client, fake_rpc):
    client.put("/api/v1/mail-settings", json=BODY | {"password": ""}, headers=_token(client))
    assert _calls(fake_rpc, "save_mail_settings")[0]["args"][0]["password"] is None


@pytest.mark.parametrize("body, field", [
    (BODY | {"mode": "smtp"}, "mode"), ({k: v for k, v in BODY.items() if k != "mode"}, "mode"),
    (BODY | {"port": 0}, "port"), (BODY | {"port": "587"}, "port"), (BODY | {"security": "ssl3"}, "security"),
    (BODY | {"host": "h" * 254}, "host"), (BODY | {"password": "p" * 201}, "password"),
    (BODY | {"from_name": "名" * 101}, "from_name"), (BODY | {"skip_verify": True}, "skip_verify"),
])
def test_malformed_settings_are_422_naming_the_field_before_notify(client, app, fake_rpc, body, field):
    r = client.put("/api/v1/mail-settings", json=body, headers=_token(client))
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"] == "validation_failed" and r.get_json()["details"]["field"] == field
    assert not _calls(fake_rpc, "save_mail_settings") and not _audit(app)
    assert PASSWORD not in r.get_data(as_text=True)


def test_notifys_refusal_keeps_its_field_and_reason(client, app, fake_rpc, remote_error):
    fake_rpc.reply("notify", "save_mail_settings", remote_error(
        "ValidationFailed", 422, "validation_failed", "a login needs STARTTLS or TLS", field="security",
        reason="tls_required_for_login"))
    r = client.put("/api/v1/mail-settings", json=BODY | {"security": "none"}, headers=_token(client))
    assert r.status_code == 422 and r.get_json()["details"] == {"field": "security", "reason": "tls_required_for_login"}
    assert not _audit(app) and PASSWORD not in r.get_data(as_text=True)
    fake_rpc.reply("notify", "save_mail_settings", remote_error(
        "SecretsKeyMissing", 503, "secrets_key_missing", field="password"))
    r = client.put("/api/v1/mail-settings", json=BODY, headers=_token(client))
    assert r.status_code == 503 and "加密密钥" in r.get_json()["message"]


def test_the_test_mail_answers_the_failed_step_in_the_callers_language(client, fake_rpc):
    headers = _token(client)
    r = client.post("/api/v1/mail-settings/test", json={"to": "me@example.com", "settings": BODY}, headers=headers)
    body = r.get_json()
    assert r.status_code == 200 and (body["ok"], body["stage"], body["error"]) == (False, "auth", "auth_failed")
    assert "发件服务器拒绝登录" in body["message"] and "授权码" in body["message"]
    assert body["reply"].startswith("535") and PASSWORD not in r.get_data(as_text=True)
    [call] = _calls(fake_rpc, "send_test_mail")
    assert call["args"][:2] == ("me@example.com", "zh_CN") and call["args"][2]["password"] == PASSWORD
    assert call["timeout"] and call["timeout"] >= 30

    en = client.post("/api/v1/mail-settings/test", json={"to": "me@example.com"},
                     headers=headers | {"Accept-Language": "en-US,en;q=0.9"}).get_json()
    assert en["message"].startswith("The mail server refused the login")
    assert _calls(fake_rpc, "send_test_mail")[1]["args"] == ("me@example.com", "en", None)
    fake_rpc.reply("notify", "send_test_mail", lambda to, locale, settings: {
        "ok": True, "server": "smtp.exmail.qq.com:465", "security": "tls", "message_id": "<x@y>"})
    ok = client.post("/api/v1/mail-settings/test", json={"to": "me@example.com"}, headers=headers).get_json()
    assert ok["ok"] is True and ok["message"] == "测试邮件已通过 smtp.exmail.qq.com:465 发往 me@example.com，请查收。"
    bad = client.post("/api/v1/mail-settings/test", json={"to": "nobody"}, headers=headers)
    assert bad.status_code == 422 and bad.get_json()["details"]["field"] == "to"


# -- console ----------------------------------------------------------------------------------------------------

def page_login(client, user="admin@demo"):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": user, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302


def _csrf(client):
    return CSRF.search(client.get("/admin/integrations").get_data(as_text=True)).group(1)


def _form(client, **change):
    data = {"mode": "custom", "host": "smtp.exmail.qq.com", "port": "465", "security": "tls",
            "username": "kefu@jinxiu.cn", "password": PASSWORD, "from_address": "kefu@jinxiu.cn",
            "from_name": "锦绣物业客服", "csrf_token": _csrf(client)}
    return data | change


def test_the_section_shows_the_settings_and_only_that_a_password_is_set(client, _services):
    page_login(client)
    html = client.get("/admin/integrations").get_data(as_text=True)
    assert "发件邮箱" in html and "当前使用：平台的发件服务器" in html and "发送测试邮件" in html
    _services["settings"] = CUSTOM
    html = client.get("/admin/integrations").get_data(as_text=True)
    assert 'value="smtp.exmail.qq.com"' in html and "已设置" in html and "smtp.exmail.qq.com:465" in html
    assert re.search(r'name="password" type="password" value=""', html)
    assert "跳过" not in html and "verify" not in html.lower().replace("verified", "")  # no way to skip verification
    en = client.get("/admin/integrations?lang=en").get_data(as_text=True)
    assert "Outgoing mail (sender mailbox)" in en and "Set; leave empty to keep it" in en


@pytest.mark.parametrize("user", ["agent@demo", "hq@demo", "manager@demo"])
def test_the_forms_are_for_group_admins_only(client, fake_rpc, user):
    page_login(client)
    data = _form(client)
    page_login(client, user)
    data["csrf_token"] = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    assert client.post("/admin/integrations/mail", data=data).status_code == 403
    assert client.post("/admin/integrations/mail/test", data=data | {"test_to": "me@example.com"}).status_code == 403
    assert not _calls(fake_rpc, "save_mail_settings") and not _calls(fake_rpc, "send_test_mail")


def test_saving_needs_csrf_then_saves_audits_and_redirects(client, app, fake_rpc):
    page_login(client)
    data = _form(client)
    assert client.post("/admin/integrations/mail", data=data | {"csrf_token": "forged"}).status_code == 400
    assert not _calls(fake_rpc, "save_mail_settings")
    r = client.post("/admin/integrations/mail", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/integrations#mail-h")
    [call] = _calls(fake_rpc, "save_mail_settings")
    assert call["args"][0]["port"] == 465 and call["args"][0]["password"] == PASSWORD
    [row] = _audit(app)
    assert row["detail"]["after"]["mode"] == "custom" and PASSWORD not in json.dumps(row, ensure_ascii=False)
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert "发件邮箱设置已保存" in page and PASSWORD not in page
    assert client.post("/admin/integrations/mail", data=_form(client, mode="platform")).status_code == 302
    assert _calls(fake_rpc, "save_mail_settings")[1]["args"][0] == {"mode": "platform", "password": None}


def test_form_errors_in_the_users_language_and_the_typed_password_is_not_sent_back(client, fake_rpc, remote_error):
    page_login(client)
    r = client.post("/admin/integrations/mail", data=_form(client, host="", port="99999", from_address=""))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请填写发件服务器地址" in html and "端口须为 1 到 65535" in html
    assert "请填写发件人地址" in html and PASSWORD not in html and not _calls(fake_rpc, "save_mail_settings")

    fake_rpc.reply("notify", "save_mail_settings", remote_error(
        "ValidationFailed", 422, "validation_failed", field="password", reason="password_required_for_new_server"))
    r = client.post("/admin/integrations/mail", data=_form(client, password=""))
    assert r.status_code == 422 and "服务器或用户名已更改，请重新填写密码" in r.get_data(as_text=True)
    client.get("/admin/integrations?lang=en")
    fake_rpc.reply("notify", "save_mail_settings", remote_error(
        "ValidationFailed", 422, "validation_failed", field="security", reason="tls_required_for_login"))
    r = client.post("/admin/integrations/mail", data=_form(client, security="none"))
    assert r.status_code == 422 and "the password must not cross the network in clear text" in r.get_data(as_text=True)
    fake_rpc.reply("notify", "save_mail_settings", remote_error("Conflict", 409, "conflict", field="mode"))
    r = client.post("/admin/integrations/mail", data=_form(client))
    assert r.status_code == 422 and "Someone saved these settings at the same moment" in r.get_data(as_text=True)


def test_the_test_button_tries_the_forms_values_and_shows_the_servers_answer(client, fake_rpc):
    page_login(client)
    r = client.post("/admin/integrations/mail/test", data=_form(client, test_to="me@example.com"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "发件服务器拒绝登录" in html and "535 5.7.8 Error: authentication failed" in html
    assert PASSWORD not in html and 'value="me@example.com"' in html
    [call] = _calls(fake_rpc, "send_test_mail")
    assert call["args"][0:2] == ("me@example.com", "zh_CN") and call["args"][2]["password"] == PASSWORD
    assert not _calls(fake_rpc, "save_mail_settings")
    missing = client.post("/admin/integrations/mail/test", data=_form(client, test_to="nobody"))
    assert missing.status_code == 422 and "请填写接收测试邮件的邮箱地址" in missing.get_data(as_text=True)
