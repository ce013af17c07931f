"""Audit log: what is written (logins, API keys, case actions, SLA saves, exports), that it is masked,
tenant-scoped, filterable, group_admin only, and that nothing can change it."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, OTHER_TENANT

from gateway import audit
from gateway.tables import audit_log

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def headers_of(login, user="admin@demo") -> dict:
    response = login(user)
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def entries(client, headers, **params) -> list[dict]:
    response = client.get("/api/v1/audit", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def test_gateway_audit_logins_ok_and_failed_are_recorded_with_request_id_and_ip(client, login):
    assert login("agent@demo", "wrong-password").status_code == 401
    admin = headers_of(login)
    items = entries(client, admin, user="agent@demo")
    assert [e["action"] for e in items] == ["login_failed"]
    assert items[0]["detail"] == {"reason": "password", "locked": False}
    assert items[0]["ip"] == "127.0.0.1" and items[0]["request_id"]
    ok = entries(client, admin, action="login_ok", user="admin@demo")
    assert ok and ok[0]["detail"] == {"factors": "password"}


def test_gateway_audit_unknown_usernames_are_not_in_any_tenant_log(client, login, app):
    login("nobody@nowhere", "whatever-password")
    with app.extensions["db"].connect() as conn:
        assert conn.execute(audit_log.select().where(audit_log.c.username == "nobody@nowhere")).first() is None


def test_gateway_audit_lockout_is_recorded(client, login):
    for _ in range(5):
        login("manager@demo", "wrong-password")
    assert login("manager@demo", DEMO_PASSWORD).status_code == 429
    actions = [e["action"] for e in entries(client, headers_of(login), user="manager@demo")]
    assert actions[0] == "login_locked" and actions.count("login_failed") == 5


def test_gateway_audit_api_keys_issue_and_revoke(client, login):
    admin = headers_of(login)
    created = client.post("/api/v1/api-keys", json={"name": "CTI 13812345678", "scopes": ["cti"]}, headers=admin)
    assert created.status_code == 201
    key_id = created.get_json()["id"]
    assert client.delete(f"/api/v1/api-keys/{key_id}", headers=admin).status_code == 200
    items = entries(client, admin, action="api_key_issued") + entries(client, admin, action="api_key_revoked")
    assert {e["target_id"] for e in items} == {key_id}
    issued = items[0]["detail"]
    assert issued["name"] == "CTI 138****5678", "PII in details is masked"
    assert created.get_json()["key"] not in str(items)


def test_gateway_audit_case_action_is_recorded_without_the_body(client, login, fake_rpc):
    complaint_id = str(uuid.uuid4())
    fake_rpc.reply("workflow", "get_case", {"complaint_id": complaint_id, "estate_code": "DEMO-RES"})
    fake_rpc.reply("workflow", "act", {"complaint_id": complaint_id, "version": 3, "status": "contacted"})
    agent = headers_of(login, "agent@demo")
    response = client.post(f"/api/v1/complaints/{complaint_id}/actions", headers=agent | {"If-Match": '"2"'},
                           json={"action": "contact", "note": "业主电话 13812345678 已联系"})
    assert response.status_code == 200, response.get_json()
    items = entries(client, headers_of(login), action="case_action")
    assert len(items) == 1
    assert items[0]["target_kind"] == "complaint" and items[0]["target_id"] == complaint_id
    assert items[0]["detail"] == {"action": "contact"} and items[0]["username"] == "agent@demo"


def test_gateway_audit_refused_actions_are_not_recorded(client, login, fake_rpc):
    agent = headers_of(login, "agent@demo")
    client.post(f"/api/v1/complaints/{uuid.uuid4()}/actions", headers=agent, json={"action": "contact"})  # 428
    assert entries(client, headers_of(login), action="case_action") == []


def test_gateway_audit_export_is_recorded(client, login, fake_rpc):
    fake_rpc.reply("reporting", "export", {"filename": "league.csv", "content_base64": "YSxi"})
    admin = headers_of(login)
    response = client.get("/api/v1/reports/export.csv",
                          query_string={"from": "2026-11-01", "to": "2026-11-30"}, headers=admin)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    items = entries(client, admin, action="report_exported")
    assert items[0]["detail"]["format"] == "csv" and items[0]["detail"]["from"] == "2026-11-01"


def test_gateway_audit_is_tenant_scoped_and_for_group_admins_only(client, login, app):
    with app.extensions["db"].begin() as conn:
        audit.record(conn, OTHER_TENANT["id"], "user_created", user_id=None, username="x@other",
                     target_kind="user", target_id="secret-target")
    admin = headers_of(login)
    assert "secret-target" not in str(entries(client, admin, limit=500))
    for user in ("agent@demo", "hq@demo", "manager@demo"):
        response = client.get("/api/v1/audit", headers=headers_of(login, user))
        assert response.status_code == 403


def test_gateway_audit_filters_and_validation(client, login, app):
    now = dt.datetime.now(dt.timezone.utc)
    with app.extensions["db"].begin() as conn:
        for days in (10, 5, 1):
            audit.record(conn, DEMO_TENANT["id"], "sla_policy_saved", target_kind="sla_policy", target_id="group",
                         at=now - dt.timedelta(days=days))
    admin = headers_of(login)
    since = (now - dt.timedelta(days=6)).isoformat()
    got = entries(client, admin, action="sla_policy_saved", **{"from": since})
    assert len(got) == 2 and got[0]["at"] > got[1]["at"], "newest first"
    page = client.get("/api/v1/audit", query_string={"action": "sla_policy_saved", "limit": 1, "offset": 1},
                      headers=admin).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    bad = client.get("/api/v1/audit", query_string={"action": "drop table"}, headers=admin)
    assert bad.status_code == 422 and bad.get_json()["details"]["field"] == "action"
    assert client.get("/api/v1/audit", query_string={"limit": 0}, headers=admin).status_code == 422


def test_gateway_audit_has_no_update_or_delete_route(app):
    for rule in app.url_map.iter_rules():
        if "audit" in rule.rule:
            assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule


def test_gateway_audit_unknown_action_is_a_programming_error(app):
    with app.extensions["db"].begin() as conn, pytest.raises(ValueError):
        audit.record(conn, DEMO_TENANT["id"], "made_up")


def test_gateway_audit_console_page_lists_entries_for_admins_only(client, login):
    login("agent@demo", "wrong-password")
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "admin@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    page = client.get("/admin/audit?action=login_failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "审计日志" in html and "agent@demo" in html and "登录失败" in html
    client.post("/logout", data={"csrf_token": CSRF.search(html).group(1)})
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "agent@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    assert client.get("/admin/audit").status_code == 403
