"""Audit log: what is written (logins, API keys, case actions, SLA saves, exports), that it is masked,
tenant-scoped, filterable, group_admin only, and that nothing can change it."""
from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, OTHER_TENANT

from estatedesk_common.observability import mask_pii

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
    fake_rpc.reply("workflow", "get_case", {"complaint_id": complaint_id, "estate_code": "DEMO-RES",
                                            "status": "received"})
    fake_rpc.reply("workflow", "act", {"complaint_id": complaint_id, "version": 3, "status": "contacted"})
    agent = headers_of(login, "agent@demo")
    response = client.post(f"/api/v1/complaints/{complaint_id}/actions", headers=agent | {"If-Match": '"2"'},
                           json={"action": "contact", "note": "业主电话 13812345678 已联系"})
    assert response.status_code == 200, response.get_json()
    items = entries(client, headers_of(login), action="case_action")
    assert len(items) == 1
    assert items[0]["target_kind"] == "complaint" and items[0]["target_id"] == complaint_id
    assert items[0]["detail"] == {"action": "contact", "changes": {
        "status": {"before": "received", "after": "contacted"}}} and items[0]["username"] == "agent@demo"
    assert "13812345678" not in str(items) and "已联系" not in str(items), "the note is a body: never audited"


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


def test_gateway_audit_changes_keep_values_mask_pii_and_never_secrets():
    found = audit.changes({"password": "old-secret", "email": "a@x.cn", "mode": "platform", "app_secret_set": True},
                          {"password": "new-secret", "email": "b@x.cn", "mode": "custom", "app_secret_set": True})
    assert found == {"email": {"before": "a@x.cn", "after": "b@x.cn"}, "mode": {"before": "platform", "after": "custom"},
                     "password": "changed"}
    assert "secret" not in str({k: v for k, v in found.items() if k != "password"})
    nested = audit.changes({"rules": [{"team": "A", "updated_at": "x"}]}, {"rules": [{"team": "B", "updated_at": "y"}]})
    assert nested == {"rules.0.team": {"before": "A", "after": "B"}}, "bookkeeping (updated_at) is no change"


def test_gateway_audit_settings_save_records_before_and_after_read_from_the_service(client, login, bearer, fake_rpc):
    stored = {"items": [{"scope": "group", "category": "repair", "department": "engineering", "team": ["manager@demo"], "strategy": "round_robin",
                         "updated_at": "2026-01-01T00:00:00+00:00"}]}

    def save(scope, rules):
        stored["items"] = [dict(r, scope=scope) for r in rules]
        return {"scope": scope, "rules": rules}

    fake_rpc.reply("workflow", "list_routing_rules", lambda estate=None: {"items": list(stored["items"])})
    fake_rpc.reply("workflow", "save_routing_rules", save)
    rules = [{"category": "repair", "department": "engineering", "team": ["agent@demo"]}]
    r = client.put("/api/v1/routing-rules", headers=bearer(roles=(("group_admin", None),)),
                   json={"scope": "group", "rules": rules})
    assert r.status_code == 200, r.get_json()
    [item] = entries(client, headers_of(login), action="routing_rules_saved")
    assert item["detail"]["changes"] == {"rules.0.team.0": {"before": mask_pii("manager@demo"),
                                                            "after": mask_pii("agent@demo")}}


def test_gateway_audit_refused_settings_make_no_read(client, bearer, fake_rpc):
    r = client.put("/api/v1/routing-rules", headers=bearer(roles=(("agent", "DEMO-RES"),)),
                   json={"scope": "group", "rules": []})
    assert r.status_code == 403 and fake_rpc.calls == []


def test_gateway_audit_classification_and_extension_decision_are_recorded(client, login, fake_rpc):
    complaint_id = str(uuid.uuid4())
    fake_rpc.reply("intake", "correct_classification", {
        "id": complaint_id, "category": "security", "severity": "minor",
        "previous": {"category": "sanitation", "severity": "minor"}})
    agent = headers_of(login, "agent@demo")
    assert client.post(f"/api/v1/complaints/{complaint_id}/classification", headers=agent,
                       json={"category": "security"}).status_code == 200
    case = {"complaint_id": complaint_id, "estate": "DEMO-RES", "status": "in_progress", "deadlines": [],
            "extensions": [{"request": 1, "stage": "resolution", "status": "pending",
                            "new_due_at": "2026-12-05T18:00:00+08:00"}]}
    fake_rpc.reply("workflow", "get_case", case)
    fake_rpc.reply("workflow", "act", {"complaint_id": complaint_id, "version": 5, "status": "in_progress"})
    manager = headers_of(login, "manager@demo")
    assert client.post(f"/api/v1/complaints/{complaint_id}/actions", headers=manager | {"If-Match": '"4"'},
                       json={"action": "decide_extension", "approve": True, "note": "同意"}).status_code == 200
    admin = headers_of(login)
    by_action = {e["detail"]["action"]: e["detail"] for e in entries(client, admin, action="case_action")}
    assert by_action["classify"]["changes"] == {"category": {"before": "sanitation", "after": "security"}}
    assert by_action["decide_extension"]["changes"] == {"extension.status": {"before": "pending", "after": "approved"}}


def test_gateway_audit_page_and_export_show_before_and_after(client, login, app):
    with app.extensions["db"].begin() as conn:
        audit.record(conn, DEMO_TENANT["id"], "case_action", target_kind="complaint", target_id="c-1", detail={
            "action": "assign", "changes": audit.changes({"assignee": "张三", "status": "received"},
                                                         {"assignee": "=李四", "status": "assigned"})})
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": "admin@demo", "password": DEMO_PASSWORD, "csrf_token": token})
    html = client.get("/admin/audit?action=case_action").get_data(as_text=True)
    assert "处理人" in html and "<del>张三</del> → <ins>=李四</ins>" in html and "变更（前 → 后）" in html
    csv_text = client.get("/admin/audit/export.csv?action=case_action").get_data().decode("utf-8-sig")
    assert "变更（前 → 后）" in csv_text and "处理人: 张三 → =李四" in csv_text
    assert "\n=" not in csv_text and ',"=' not in csv_text and ",=" not in csv_text, "formula-safe cells"


def test_xlsx_export_writes_control_characters_as_a_replacement():
    """A name stored with control characters (a fuzzer's staff contact) once made the XLSX export a 500."""
    import io

    from openpyxl import load_workbook

    from gateway import audit_export

    data = audit_export.to_xlsx(["a", "b"], [["名\x01字", "\x1bphone"], ["plain", 3]])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows == [("a", "b"), ("名\ufffd字", "\ufffdphone"), ("plain", 3)]
