"""Console pages for a group admin's integrations (API keys, webhooks and their delivery log), periodic report
subscriptions and runs, and the audit log export (console and API): roles, CSRF, validation in the user's
language, secrets shown once, audit rows, formula-safe cells."""
from __future__ import annotations

import csv
import io
import re
import uuid

import pytest
from openpyxl import load_workbook

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT

from gateway import api_keys, audit

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HOOK = {"id": str(uuid.uuid4()), "url": "https://hooks.example.com/estatedesk?token=s3cret", "events": ["case_opened"],
        "description": "工单系统", "active": True, "created_at": "2026-11-24T02:00:00+00:00"}
SUB = {"id": str(uuid.uuid4()), "kind": "monthly", "estate": None, "recipients": ["hq@example.com"],
       "locale": "zh_CN", "created_at": "2026-11-24T02:00:00+00:00"}
RUN = {"id": str(uuid.uuid4()), "subscription_id": SUB["id"], "from": "2026-10-01", "to": "2026-10-31",
       "subject": "10月投诉月报", "generated_at": "2026-11-01T01:00:00+00:00"}


@pytest.fixture(autouse=True)
def _services(fake_rpc):
    fake_rpc.reply("notify", "list_webhooks", [HOOK])
    fake_rpc.reply("notify", "create_webhook", lambda data: {
        "id": str(uuid.uuid4()), "url": data["url"], "events": data["events"], "description": data["description"],
        "active": True, "created_at": "2026-11-24T03:00:00+00:00", "secret": "whsec_shown_once"})
    fake_rpc.reply("notify", "delete_webhook", lambda i: {"id": i, "active": False})
    fake_rpc.reply("notify", "list_webhook_deliveries", lambda i: [
        {"id": str(uuid.uuid4()), "event_id": "e1", "event_type": "case_opened", "status": "failed", "attempts": 6,
         "last_status_code": 500, "last_error": "HTTP 500", "created_at": "2026-11-24T03:00:00+00:00",
         "delivered_at": None, "next_attempt_at": None}])
    fake_rpc.reply("reporting", "list_report_subscriptions", [SUB])
    fake_rpc.reply("reporting", "list_report_runs", [RUN])
    fake_rpc.reply("reporting", "subscribe_report", lambda data: SUB | data | {"id": str(uuid.uuid4())})
    fake_rpc.reply("reporting", "unsubscribe_report", lambda i: {"id": i, "active": False})
    fake_rpc.reply("reporting", "get_report_run", lambda i: {"id": i, "subject": RUN["subject"], "from": RUN["from"],
                                                             "to": RUN["to"], "html": "<html><body>报表</body></html>"})
    fake_rpc.reply("intake", "list_estates", [{"code": "DEMO-RES", "name": "示范住宅"}])
    fake_rpc.reply("intake", "list_wechat_accounts", [])  # the WeChat section: test_gateway_console_wechat.py
    fake_rpc.reply("notify", "get_mail_settings", {"mode": "platform", "password_set": False})  # 发件邮箱 section


def page_login(client, user="admin@demo"):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"username": user, "password": DEMO_PASSWORD, "csrf_token": token})
    assert response.status_code == 302, response.get_data(as_text=True)[:300]


def csrf(client, path="/admin/integrations") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def audit_rows(app, action: str) -> list[dict]:
    with app.extensions["db"].connect() as conn:
        return audit.entries(conn, DEMO_TENANT["id"], audit.Query(action=action, limit=50))["items"]


def calls(fake_rpc, method: str) -> list[dict]:
    return [c for c in fake_rpc.calls if c["method"] == method]


@pytest.mark.parametrize("user, path, status", [
    ("agent@demo", "/admin/integrations", 403), ("hq@demo", "/admin/integrations", 403),
    ("manager@demo", "/admin/integrations", 403), ("admin@demo", "/admin/integrations", 200),
    ("agent@demo", "/reports/subscriptions", 403), ("manager@demo", "/reports/subscriptions", 403),
    ("hq@demo", "/reports/subscriptions", 200), ("admin@demo", "/reports/subscriptions", 200),
    ("hq@demo", "/admin/audit/export.csv", 403), ("admin@demo", "/admin/audit/export.csv", 200),
])
def test_console_integrations_pages_are_for_their_roles_only(client, user, path, status):
    page_login(client, user)
    assert client.get(path).status_code == status


def test_console_integrations_logged_out_goes_to_login_and_nav_links_follow_the_roles(client):
    assert client.get("/admin/integrations").headers["Location"].startswith("/login?next=")
    page_login(client, "hq@demo")
    home = client.get("/").get_data(as_text=True)
    assert "/reports/subscriptions" in home and "/admin/integrations" not in home
    page_login(client, "admin@demo")
    home = client.get("/").get_data(as_text=True)
    assert "/reports/subscriptions" in home and "/admin/integrations" in home


def test_console_integrations_api_key_is_shown_once_works_and_is_revoked_with_audit(client, app):
    page_login(client)
    response = client.post("/admin/integrations/api-keys", data={
        "csrf_token": csrf(client), "name": "呼叫中心 CTI", "scopes": ["cti"]})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    raw = re.search(r'<code id="new-api-key">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    with app.app_context():
        principal = api_keys.authenticate(raw, "cti", app.extensions["db"])
        assert principal is not None and principal.tenant_id == DEMO_TENANT["id"]
        assert api_keys.authenticate(raw, "open311", app.extensions["db"]) is None, "only the scope chosen"
    listing = client.get("/admin/integrations").get_data(as_text=True)
    assert raw not in listing and raw[:8] in listing and "呼叫中心 CTI" in listing
    [issued] = audit_rows(app, "api_key_issued")
    key_id = issued["target_id"]
    assert issued["username"] == "admin@demo" and raw not in str(issued)

    revoked = client.post(f"/admin/integrations/api-keys/{key_id}/revoke", data={"csrf_token": csrf(client)})
    assert revoked.status_code == 302
    with app.app_context():
        assert api_keys.authenticate(raw, "cti", app.extensions["db"]) is None
    assert [e["target_id"] for e in audit_rows(app, "api_key_revoked")] == [key_id]
    assert client.post(f"/admin/integrations/api-keys/{uuid.uuid4()}/revoke",
                       data={"csrf_token": csrf(client)}).status_code == 404


def test_console_integrations_api_key_validation_in_the_users_language(client, app):
    page_login(client)
    refused = client.post("/admin/integrations/api-keys", data={"csrf_token": csrf(client), "name": " "})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "请填写名称" in text and "请选择密钥的用途" in text
    client.get("/admin/integrations?lang=en")
    refused = client.post("/admin/integrations/api-keys", data={
        "csrf_token": csrf(client), "name": "x", "scopes": ["root"]})
    assert refused.status_code == 422 and "Choose what the key may be used for." in refused.get_data(as_text=True)
    assert audit_rows(app, "api_key_issued") == []


@pytest.mark.parametrize("path", ["/admin/integrations/api-keys", "/admin/integrations/webhooks",
                                  f"/admin/integrations/webhooks/{HOOK['id']}/delete", "/reports/subscriptions",
                                  f"/reports/subscriptions/{SUB['id']}/delete"])
def test_console_integrations_forms_need_the_csrf_token(client, fake_rpc, path):
    page_login(client)
    response = client.post(path, data={"name": "x", "scopes": ["cti"], "url": "https://a.example", "kind": "weekly",
                                       "events": ["case_opened"], "recipients": "a@example.com"})
    assert response.status_code == 400
    assert not [c for c in fake_rpc.calls if c["method"] in ("create_webhook", "delete_webhook", "subscribe_report",
                                                             "unsubscribe_report")]


def test_console_integrations_webhook_secret_once_audit_without_url_path_and_delete(client, app, fake_rpc):
    page_login(client)
    page = client.get("/admin/integrations").get_data(as_text=True)
    assert HOOK["url"].replace("&", "&amp;") in page and "whsec_" not in page
    created = client.post("/admin/integrations/webhooks", data={
        "csrf_token": csrf(client), "url": "https://receiver.example.com/hook?key=abc",
        "events": ["case_opened", "sla_breached"], "description": "测试"})
    assert created.status_code == 201 and "whsec_shown_once" in created.get_data(as_text=True)
    [call] = calls(fake_rpc, "create_webhook")
    assert call["args"][0]["events"] == ["case_opened", "sla_breached"]
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"]
    [row] = audit_rows(app, "webhook_created")
    assert {k: v for k, v in row["detail"].items() if k != "changes"} == {
        "host": "receiver.example.com", "events": ["case_opened", "sla_breached"]}
    assert row["detail"]["changes"]["host"] == {"before": None, "after": "receiver.example.com"}
    assert "whsec_shown_once" not in str(row)

    deleted = client.post(f"/admin/integrations/webhooks/{HOOK['id']}/delete", data={"csrf_token": csrf(client)})
    assert deleted.status_code == 302
    assert [r["target_id"] for r in audit_rows(app, "webhook_deleted")] == [HOOK["id"]]


@pytest.mark.parametrize("form, field, message", [
    ({"url": "ftp://x.example", "events": ["case_opened"]}, "url", "请填写接收地址"),
    ({"url": "https://u:p@x.example", "events": ["case_opened"]}, "url", "地址中不要包含用户名和密码"),
    ({"url": "https://x.example", "events": []}, "events", "请至少选择一个事件"),
    ({"url": "https://x.example", "events": ["nope"]}, "events", "请至少选择一个事件"),
])
def test_console_integrations_webhook_form_is_checked_before_notify(client, fake_rpc, form, field, message):
    page_login(client)
    response = client.post("/admin/integrations/webhooks", data=form | {"csrf_token": csrf(client)})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert calls(fake_rpc, "create_webhook") == []


def test_console_integrations_notify_refusals_are_translated(client, fake_rpc, remote_error):
    fake_rpc.reply("notify", "create_webhook",
                   remote_error("ValidationFailed", 422, "validation_failed", "url must use https", field="url"))
    page_login(client)
    response = client.post("/admin/integrations/webhooks", data={
        "csrf_token": csrf(client), "url": "http://x.example", "events": ["case_opened"]})
    assert response.status_code == 422 and "地址必须以 https:// 开头" in response.get_data(as_text=True)


def test_console_integrations_delivery_log_and_unknown_ids(client, fake_rpc, remote_error):
    page_login(client)
    log = client.get(f"/admin/integrations/webhooks/{HOOK['id']}")
    text = log.get_data(as_text=True)
    assert log.status_code == 200 and "失败" in text and "HTTP 500" in text and "重新投递" in text
    assert client.get("/admin/integrations/webhooks/not-a-uuid").status_code == 404
    fake_rpc.reply("notify", "list_webhook_deliveries",
                   remote_error("WebhookNotFound", 404, "webhook_not_found", field="id"))
    assert client.get(f"/admin/integrations/webhooks/{uuid.uuid4()}").status_code == 404


def test_console_reports_subscribe_validates_calls_reporting_and_audits(client, app, fake_rpc):
    page_login(client, "hq@demo")
    path = "/reports/subscriptions"
    bad = client.post(path, data={"csrf_token": csrf(client, path), "kind": "daily", "recipients": "not-mail"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请选择周报、月报或季报" in text and "不是有效的电子邮箱地址：not-mail" in text
    assert calls(fake_rpc, "subscribe_report") == []
    done = client.post(path, data={"csrf_token": csrf(client, path), "kind": "weekly", "estate": "DEMO-RES",
                                   "recipients": "a@example.com\nb@example.com", "locale": "en"})
    assert done.status_code == 302
    [call] = calls(fake_rpc, "subscribe_report")
    assert call["args"][0] == {"kind": "weekly", "estate": "DEMO-RES", "recipients": ["a@example.com", "b@example.com"],
                               "locale": "en"}
    [row] = audit_rows(app, "report_subscribed")
    assert row["detail"] == {"kind": "weekly", "estate": "DEMO-RES", "recipients": 2}
    ended = client.post(f"{path}/{SUB['id']}/delete", data={"csrf_token": csrf(client, path)})
    assert ended.status_code == 302 and [r["target_id"] for r in audit_rows(app, "report_unsubscribed")] == [SUB["id"]]


def test_console_reports_runs_are_listed_and_downloaded_with_a_strict_csp(client):
    page_login(client)
    listing = client.get("/reports/subscriptions").get_data(as_text=True)
    assert "10月投诉月报" in listing and f"/reports/runs/{RUN['id']}?download=1" in listing
    download = client.get(f"/reports/runs/{RUN['id']}?download=1")
    assert download.status_code == 200 and "报表" in download.get_data(as_text=True)
    assert download.headers["Content-Disposition"] == 'attachment; filename="report_2026-10-01_2026-10-31.html"'
    assert download.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get("/reports/runs/not-a-uuid").status_code == 404
    assert f"/reports/runs/{RUN['id']}/export.csv" in listing and f"/reports/runs/{RUN['id']}/export.xlsx" in listing


def test_console_report_run_exports_in_the_pages_language(client, fake_rpc):
    import base64
    fake_rpc.reply("reporting", "export_report_run", lambda i, f, loc: {
        "filename": f"weekly_report_2026-10-01_2026-10-31.{f}", "content_base64": base64.b64encode(b"\xef\xbb\xbfa").decode()})
    page_login(client)
    xlsx = client.get(f"/reports/runs/{RUN['id']}/export.xlsx")
    assert xlsx.status_code == 200 and xlsx.mimetype.startswith("application/vnd.openxmlformats")
    assert xlsx.headers["Content-Disposition"] == 'attachment; filename="weekly_report_2026-10-01_2026-10-31.xlsx"'
    client.get(f"/reports/runs/{RUN['id']}/export.csv?lang=en")
    assert [c["args"] for c in fake_rpc.calls if c["method"] == "export_report_run"] == [
        (RUN["id"], "xlsx", "zh_CN"), (RUN["id"], "csv", "en")]
    assert client.get(f"/reports/runs/{RUN['id']}/export.pdf").status_code == 404
    assert client.get("/reports/runs/not-a-uuid/export.csv").status_code == 404


def _hostile_row(app):
    with app.extensions["db"].begin() as conn:
        audit.record(conn, DEMO_TENANT["id"], "user_created", user_id=None, username="=HYPERLINK(\"http://x\")",
                     target_kind="user", target_id="+1", detail={"name": "@SUM(A1)"})


def test_console_audit_export_csv_is_filtered_formula_safe_and_audited(client, app):
    _hostile_row(app)
    page_login(client)
    page = client.get("/admin/audit?action=user_created").get_data(as_text=True)
    assert "/admin/audit/export.csv?action=user_created" in page
    response = client.get("/admin/audit/export.csv", query_string={"action": "user_created"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit_')
    body = response.get_data().decode("utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:3] == ["时间", "用户", "操作"] and len(rows) == 2, "filtered to the one user_created row"
    assert rows[1][1] == "'=HYPERLINK(\"http://x\")" and rows[1][2] == "创建用户" and rows[1][4] == "'+1"
    [row] = audit_rows(app, "audit_exported")
    assert row["detail"] == {"format": "csv", "rows": 1, "action": "user_created"}


def test_console_audit_export_xlsx_cells_are_strings(client, app):
    _hostile_row(app)
    page_login(client)
    response = client.get("/admin/audit/export.xlsx?action=user_created&lang=en")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert [c.value for c in sheet[1]][:3] == ["Time", "User", "Action"]
    assert sheet["B2"].value == "'=HYPERLINK(\"http://x\")" and sheet["B2"].data_type == "s"
    assert client.get("/admin/audit/export.pdf").status_code == 404


def test_api_audit_export_for_group_admins_in_the_callers_language(client, app, login):
    _hostile_row(app)
    admin = {"Authorization": "Bearer " + login("admin@demo").get_json()["access_token"]}
    hq = {"Authorization": "Bearer " + login("hq@demo").get_json()["access_token"]}
    assert client.get("/api/v1/audit/export.csv", headers=hq).status_code == 403
    response = client.get("/api/v1/audit/export.csv", query_string={"action": "user_created"},
                          headers=admin | {"Accept-Language": "en"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    rows = list(csv.reader(io.StringIO(response.get_data().decode("utf-8").lstrip("\ufeff"))))
    assert rows[0][:3] == ["Time", "User", "Action"] and rows[1][2] == "User created"
    assert rows[1][6].startswith("{") and "'@SUM" not in rows[1][6]  # JSON text starts with {: safe as it is
    assert rows[0][5] == "Changes (before → after)" and not rows[1][5].startswith(("=", "+", "-", "@"))
    bad = client.get("/api/v1/audit/export.csv", query_string={"action": "nope"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["details"]["field"] == "action"
    assert client.get("/api/v1/audit/export.txt", headers=admin).status_code == 404
    assert audit_rows(app, "audit_exported")[0]["username"] == "admin@demo"
