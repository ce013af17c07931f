"""/settings/sla: the policy in force, the YAML editor, the live preview (console JSON) and saving versions."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from gateway.tables import audit_log

from test_gateway_console_pages import CSRF, ESTATES, console_login

IN_FORCE = {
    "policy_version": "group@v1 + estate:DEMO-RES@v2", "at": "2026-11-24T02:00:00+00:00",
    "levels": [{"scope": "group", "version": 1, "document": {"timezone": "Asia/Shanghai"}, "effective_from": None},
               {"scope": "estate:DEMO-RES", "version": 2,
                "document": {"severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "45m"}]}}},
                "effective_from": "2026-11-20T00:00:00+00:00"}],
    "document": {"timezone": "Asia/Shanghai", "severities": {"moderate": {"stages": [
        {"name": "first_contact", "limit": "45m", "source": "estate:DEMO-RES", "source_version": 2},
        {"name": "resolution", "limit": "3wd", "source": "group", "source_version": 1}], "categories": {}}}},
}
VERSIONS = {"items": [{"scope": "estate:DEMO-RES", "version": 2, "effective_from": "2026-11-20T00:00:00+00:00",
                       "created_by": None, "created_at": "2026-11-20T00:00:00+00:00"}]}
PREVIEW = {"policy_version": "group@v1 + estate:DEMO-RES", "timezone": "Asia/Shanghai", "severity": "moderate",
           "category": None, "stages": [{"name": "first_contact", "due_at": "2026-11-24T10:30:00+08:00",
                                         "explanation": "受理后 30 分钟", "explanation_en": "30 min after receipt"}]}

PRESETS = {"items": [
    {"name": "seed002", "title": "seed 002: 轻微 / 中度 / 重大", "kind": "group", "default_severity": "moderate",
     "severities": [{"key": "minor", "label": "轻微"}, {"key": "moderate", "label": "中度"}], "text": "name: s2\n"},
    {"name": "seed001", "title": "seed 001: 一般 / 重要 / 重大", "kind": "group", "default_severity": "general",
     "severities": [{"key": "general", "label": "一般"}, {"key": "important", "label": "重要"}],
     "text": "name: s1\ndefault_severity: general\n"},
    {"name": "seed004_handover", "title": "seed 004: 交房阶段", "kind": "override", "default_severity": None,
     "severities": [], "text": "name: s4\n"}]}


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "get_sla_policy", IN_FORCE)
    fake_rpc.reply("workflow", "list_sla_policy_versions", VERSIONS)
    fake_rpc.reply("workflow", "list_sla_presets", PRESETS)

    def as_user(username="manager@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def test_gateway_console_settings_manager_sees_own_estates_policy_and_layer(as_user, fake_rpc):
    html = as_user().get("/settings/sla").get_data(as_text=True)
    assert "时限设置" in html and "group@v1 + estate:DEMO-RES@v2" in html and "版本历史" in html
    assert 'value="estate:DEMO-NEW"' in html and 'value="estate:DEMO-RES"' in html
    assert 'value="group"' not in html and "estate:DEMO-OFFICE" not in html  # only the manager's estates
    assert "first_contact, limit: 45m" in html  # the layer's own YAML in the editor
    [policy] = calls(fake_rpc, "get_sla_policy")
    assert policy["args"] == ({"code": "DEMO-RES", "region": "EAST"}, None)  # the first estate offered


def test_gateway_console_settings_group_admin_gets_group_and_regions(as_user, fake_rpc):
    html = as_user("admin@demo").get("/settings/sla?scope=region:EAST").get_data(as_text=True)
    assert 'value="group"' in html and 'value="region:EAST" selected' in html and "estate:DEMO-OFFICE" in html


def test_gateway_console_settings_head_office_gets_group_and_regions_not_estates(as_user, fake_rpc):
    html = as_user("hq@demo").get("/settings/sla?scope=group").get_data(as_text=True)
    assert 'value="group" selected' in html and 'value="region:EAST"' in html
    assert 'value="estate:' not in html, "an estate's override is its site manager's"


@pytest.mark.parametrize("user", ["agent@demo", "supervisor@demo", "committee@demo"])
def test_gateway_console_settings_other_roles_are_refused(as_user, user):
    assert as_user(user).get("/settings/sla").status_code == 403


def _token(client):
    return CSRF.search(client.get("/settings/sla?scope=estate:DEMO-RES").get_data(as_text=True)).group(1)


def test_gateway_console_settings_preview_sends_the_text_as_the_scopes_layer(as_user, fake_rpc):
    client = as_user()
    fake_rpc.reply("workflow", "preview_sla", PREVIEW)
    r = client.post("/settings/sla/preview", headers={"X-CSRFToken": _token(client)}, json={
        "scope": "estate:DEMO-RES", "document": "severities: {}", "severity": "moderate",
        "received_at": "2026-11-24T10:00"})
    assert r.status_code == 200
    assert r.get_json()["stages"] == [{"name": "first_contact", "label": "首次联系业主",
                                       "due_at": "2026-11-24T10:30:00+08:00", "due_local": "2026-11-24 10:30",
                                       "explanation": "受理后 30 分钟"}]
    [call] = calls(fake_rpc, "preview_sla")
    assert call["args"] == ("severities: {}", "2026-11-24T10:00:00+08:00", "moderate", None,
                            {"code": "DEMO-RES", "region": "EAST"}, None)
    assert call["kwargs"] == {"scope": "estate:DEMO-RES"}


def test_gateway_console_settings_preview_shows_policy_problems_with_lines(as_user, fake_rpc, remote_error):
    client = as_user()
    fake_rpc.reply("workflow", "preview_sla", remote_error(
        "PolicyRejected", 422, "policy_invalid", field="policy",
        problems=[{"path": "severities.moderate.stages.0.limit", "line": 4, "problem": "bad limit 'soon'"}]))
    r = client.post("/settings/sla/preview", headers={"X-CSRFToken": _token(client)}, json={
        "scope": "estate:DEMO-RES", "document": "x: 1", "severity": "moderate", "received_at": "2026-11-24T10:00"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "policy_invalid" and "行号" in body["message"]
    assert body["details"]["problems"][0]["line"] == 4


def test_gateway_console_settings_preview_refuses_another_estate_and_needs_csrf(as_user, fake_rpc):
    client = as_user()
    token = _token(client)
    body = {"scope": "estate:DEMO-OFFICE", "document": "x: 1", "severity": "moderate",
            "received_at": "2026-11-24T10:00"}
    assert client.post("/settings/sla/preview", headers={"X-CSRFToken": token}, json=body).status_code == 403
    body["scope"] = "estate:DEMO-RES"
    assert client.post("/settings/sla/preview", json=body).status_code == 400
    assert not calls(fake_rpc, "preview_sla")


def test_gateway_console_settings_preview_without_session_is_json_401(client):
    r = client.post("/settings/sla/preview", json={})
    assert r.status_code in (400, 401)  # CSRF first for an anonymous POST, never a redirect
    assert r.status_code != 302


def test_gateway_console_settings_save_shows_the_recompute_report(as_user, fake_rpc, app):
    client = as_user()
    fake_rpc.reply("workflow", "save_sla_policy", {
        "scope": "estate:DEMO-RES", "version": 3, "effective_from": "2026-11-24T02:00:00+00:00",
        "recomputed": [{"reference": "TS20261124-AAAAAA", "stage": "first_contact",
                        "old_due": "2026-11-24T11:00:00+08:00", "new_due": "2026-11-24T10:30:00+08:00"}],
        "unchanged": 2, "failed": []})
    r = client.post("/settings/sla", data={"csrf_token": _token(client), "scope": "estate:DEMO-RES",
                                           "document": "severities: {}", "effective_from": "",
                                           "recompute_open": "1"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/settings/sla?scope=estate:DEMO-RES")
    [call] = calls(fake_rpc, "save_sla_policy")
    assert call["args"][:4] == ("estate:DEMO-RES", "severities: {}", None, True)
    assert {"code": "DEMO-OFFICE", "region": "EAST"} in call["args"][4]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存：第 3 版" in html and "1 件时限变更，2 件不变，0 件失败" in html and "TS20261124-AAAAAA" in html
    with app.extensions["db"].connect() as conn:  # audited as the API's save is
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "sla_policy_saved")).mappings()
    assert row["target_id"] == "estate:DEMO-RES" and {k: v for k, v in row["detail"].items() if k not in ("changes", "before_unread")} == {"recompute_open": True}
    assert row["username"] == "manager@demo"


def test_gateway_console_settings_save_refused_keeps_text_and_lists_lines(as_user, fake_rpc, remote_error, app):
    client = as_user()
    fake_rpc.reply("workflow", "save_sla_policy", remote_error(
        "PolicyRejected", 422, "policy_invalid", field="policy",
        problems=[{"path": "severities.moderate", "line": 2, "problem": "unknown key"}]))
    r = client.post("/settings/sla", data={"csrf_token": _token(client), "scope": "estate:DEMO-RES",
                                           "document": "severities:\n  moderate: {oops: 1}\n",
                                           "effective_from": "2026-12-01T09:00"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "第 2 行" in html and "unknown key" in html and "oops: 1" in html
    with app.extensions["db"].connect() as conn:  # a refused save is not a change
        assert not conn.execute(select(audit_log).where(audit_log.c.action == "sla_policy_saved")).all()
    [call] = calls(fake_rpc, "save_sla_policy")
    assert call["args"][2] == "2026-12-01T09:00:00+08:00"


def test_gateway_console_settings_manager_cannot_save_another_estate_or_the_group(as_user, fake_rpc):
    client = as_user()
    token = _token(client)
    for scope in ("estate:DEMO-OFFICE", "group", "region:EAST"):
        r = client.post("/settings/sla", data={"csrf_token": token, "scope": scope, "document": "x: 1"})
        assert r.status_code == 403
    assert not calls(fake_rpc, "save_sla_policy")


def test_gateway_console_settings_a_group_admin_loads_a_preset_into_the_editor(as_user, fake_rpc):
    client = as_user("admin@demo")
    html = client.get("/settings/sla?scope=group").get_data(as_text=True)
    assert 'id="preset-form"' in html and 'value="seed001"' in html and "seed004_handover" not in html
    html = client.get("/settings/sla?scope=group&preset=seed001").get_data(as_text=True)
    assert "default_severity: general" in html  # in the editor, not saved
    assert 'id="preset-loaded"' in html and "已载入编辑器" in html and 'value="seed001" selected' in html
    assert '<option value="general">' in html  # the preview offers the preset's severities
    assert calls(fake_rpc, "save_sla_policy") == []


def test_gateway_console_settings_an_estate_layer_offers_only_the_override_preset(as_user, fake_rpc):
    client = as_user()
    html = client.get("/settings/sla?scope=estate:DEMO-RES&preset=seed001").get_data(as_text=True)
    assert 'value="seed004_handover"' in html and 'value="seed001"' not in html
    assert "请选择列出的预设方案之一" in html and "first_contact, limit: 45m" in html  # refused: the layer stays
    html = client.get("/settings/sla?scope=estate:DEMO-RES&preset=seed004_handover").get_data(as_text=True)
    assert "name: s4" in html and 'id="preset-loaded"' in html
