"""The WeChat section of the integrations page (``/admin/integrations``): a group admin sets an account's
AppSecret (write-only: shown as 已设置, never filled in or echoed) and its template message ids; checked here in
the user's language before intake, CSRF, an audit row without the secret; intake's refusals mapped to fields.
And the owner's status page reached by the tenant's id (the link in WeChat template messages)."""
from __future__ import annotations

import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT

from gateway import audit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
ACCOUNT = {"id": str(uuid.uuid4()), "app_id": "wx0123456789abcdef", "estate_code": "DEMO-RES", "enabled": True,
           "created_at": "2026-11-24T02:00:00+00:00", "app_secret_set": True,
           "templates": {"acknowledgement": "tplAck0001", "progress": "tplProgress0001"}}
UNSET = ACCOUNT | {"id": str(uuid.uuid4()), "app_id": "wx00000000000000ff", "app_secret_set": False, "templates": {}}
SECRET = "f00dfacef00dfacef00dfacef00dface"
PATH = f"/admin/integrations/wechat/{ACCOUNT['id']}"


@pytest.fixture(autouse=True)
def _services(fake_rpc):
    fake_rpc.reply("notify", "list_webhooks", [])
    fake_rpc.reply("intake", "list_wechat_accounts", [ACCOUNT, UNSET])
    fake_rpc.reply("notify", "get_mail_settings", {"mode": "platform", "password_set": False})  # 发件邮箱 section

    def update(account_id, changes):
        templates = {m: v for m, v in changes["templates"].items() if v}
        return ACCOUNT | {"templates": templates, "changed": {
            "app_secret": "app_secret" in changes,
            "templates": sorted(m for m, v in changes["templates"].items() if ACCOUNT["templates"].get(m) != v)}}
    fake_rpc.reply("intake", "update_wechat_account", update)


def page_login(client, user="admin@demo"):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": user, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def csrf(client, path="/admin/integrations") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def form(client, **over) -> dict:
    data = {"csrf_token": csrf(client), "app_secret": "", "tpl_acknowledgement": "tplAck0001",
            "tpl_progress": "tplProgress0001", "tpl_resolved": "", "tpl_callback_survey": ""}
    return data | over


def updates(fake_rpc) -> list:
    return [c for c in fake_rpc.calls if c["method"] == "update_wechat_account"]


def test_the_section_shows_whether_a_secret_is_set_and_the_template_ids_never_a_secret(client):
    page_login(client)
    html = client.get("/admin/integrations").get_data(as_text=True)
    assert "微信公众号" in html and "wx0123456789abcdef" in html and "wx00000000000000ff" in html
    assert html.count("已设置") == 1 and html.count("未设置") == 1
    assert 'value="tplAck0001"' in html and 'value="tplProgress0001"' in html and "受理回执模板 ID" in html
    assert re.findall(r'name="app_secret" type="password" value=""', html) and len(
        re.findall(r'name="app_secret"[^>]*value="[^"]+"', html)) == 0
    en = client.get("/admin/integrations?lang=en").get_data(as_text=True)
    assert "WeChat official accounts" in en and "Not set" in en and "Acknowledgement template ID" in en


def test_saving_calls_intake_audits_without_the_secret_and_redirects(client, app, fake_rpc):
    page_login(client)
    response = client.post(PATH, data=form(client, app_secret=f" {SECRET} ", tpl_resolved="tplResolved0001",
                                           tpl_acknowledgement=""))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/integrations#wechat-h")
    [call] = updates(fake_rpc)
    assert call["args"] == (ACCOUNT["id"], {"app_secret": SECRET, "templates": {
        "acknowledgement": None, "progress": "tplProgress0001", "resolved": "tplResolved0001",
        "callback_survey": None}})
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"] and call["context"]["roles"]
    with app.extensions["db"].connect() as conn:
        [row] = audit.entries(conn, DEMO_TENANT["id"], audit.Query(action="wechat_account_updated"))["items"]
    assert row["target_id"] == ACCOUNT["id"] and row["username"] == "admin@demo"
    detail = row["detail"]
    assert {k: v for k, v in detail.items() if k != "changes"} == {
        "app_id": "wx0123456789abcdef", "app_secret_changed": True,
        "templates": {"acknowledgement": None, "resolved": "tplResolved0001"}}
    assert detail["changes"]["app_secret"] == "changed", "a secret is recorded as changed, never its value"
    assert SECRET not in str(row)
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert "公众号 wx0123456789abcdef 的设置已保存。" in page and SECRET not in page


def test_an_empty_secret_field_leaves_the_secret_alone(client, fake_rpc, app):
    page_login(client)
    assert client.post(PATH, data=form(client)).status_code == 302
    [call] = updates(fake_rpc)
    assert "app_secret" not in call["args"][1]
    with app.extensions["db"].connect() as conn:
        [row] = audit.entries(conn, DEMO_TENANT["id"], audit.Query(action="wechat_account_updated"))["items"]
    assert row["detail"]["app_secret_changed"] is False


@pytest.mark.parametrize("over, field, zh", [
    ({"app_secret": "short"}, "app_secret", "AppSecret 应为 8 至 128 位字母、数字或符号"),
    ({"app_secret": "with a space inside"}, "app_secret", "不含空格"),
    ({"tpl_progress": "bad id!"}, "tpl_progress", "模板 ID 最多 64 位"),
    ({"tpl_callback_survey": "x" * 65}, "tpl_callback_survey", "模板 ID 最多 64 位"),
])
def test_bad_values_are_refused_in_the_users_language_before_intake(client, fake_rpc, over, field, zh):
    page_login(client)
    response = client.post(PATH, data=form(client, **over))
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and zh in html and f'id="e-{field}-{ACCOUNT["id"]}"' in html
    assert updates(fake_rpc) == []
    if field == "app_secret":  # the refused secret is not echoed back
        assert over["app_secret"] not in html
    client.get("/admin/integrations?lang=en")
    english = client.post(PATH, data=form(client, **over)).get_data(as_text=True)
    assert "The AppSecret is 8 to 128" in english or "A template ID is up to 64" in english


def test_intakes_refusals_are_mapped_to_the_field_or_the_status(client, fake_rpc, remote_error):
    page_login(client)
    fake_rpc.reply("intake", "update_wechat_account", remote_error(
        "ValidationFailed", 422, "validation_failed", "bad", field="templates.resolved"))
    refused = client.post(PATH, data=form(client, tpl_resolved="tplResolved0001"))
    assert refused.status_code == 422 and f'id="e-tpl_resolved-{ACCOUNT["id"]}"' in refused.get_data(as_text=True)
    fake_rpc.reply("intake", "update_wechat_account", remote_error(
        "WeChatAccountNotFound", 404, "wechat_account_not_found", field="id"))
    assert client.post(PATH, data=form(client)).status_code == 404
    fake_rpc.reply("intake", "update_wechat_account", remote_error("Forbidden", 403, "forbidden"))
    assert client.post(PATH, data=form(client)).status_code == 403
    assert client.post("/admin/integrations/wechat/" + "x" * 37, data=form(client)).status_code == 404
    assert client.post("/admin/integrations/wechat/a.b", data=form(client)).status_code == 404


def test_the_form_needs_the_csrf_token_and_a_group_admin(client, fake_rpc):
    page_login(client)
    assert client.post(PATH, data={"app_secret": SECRET, "tpl_progress": "tpl1"}).status_code == 400
    for user in ("agent@demo", "hq@demo", "manager@demo"):
        page_login(client, user)
        token = csrf(client, "/")
        assert client.post(PATH, data={"csrf_token": token, "app_secret": SECRET}).status_code == 403
    assert updates(fake_rpc) == []
    client.post("/logout", data={"csrf_token": csrf(client, "/")})
    assert client.post(PATH, data={}).status_code in (302, 400)


def test_the_owner_status_page_takes_the_tenant_id_as_well_as_the_slug(client):
    by_id = client.get(f"/t/{DEMO_TENANT['id']}/status")
    assert by_id.status_code == 200 and "投诉进度查询" in by_id.get_data(as_text=True)
    assert client.get(f"/t/{uuid.uuid4()}/status").status_code == 404
