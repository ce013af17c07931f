"""/settings/routing: the rules of a scope, the row form, field errors next to their fields, CSRF, the audit row."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway.tables import audit_log
from test_gateway_console_pages import CSRF, ESTATES, console_login

RULES = {"items": [
    {"scope": "group", "estate": None, "category": None, "department": "客服中心", "team": ["supervisor@demo"],
     "strategy": "round_robin", "last_assignee": None, "updated_at": "2026-11-20T00:00:00+00:00", "updated_by": None},
    {"scope": "estate:DEMO-RES", "estate": "DEMO-RES", "category": "sanitation", "department": "环境部",
     "team": ["agent@demo"], "strategy": "least_loaded", "last_assignee": None,
     "updated_at": "2026-11-20T00:00:00+00:00", "updated_by": None}]}
CATEGORIES = [{"key": "sanitation", "name": "环境卫生", "name_en": "Sanitation", "keywords": []},
              {"key": "security", "name": "安全秩序", "name_en": "Security", "keywords": []}]


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("intake", "list_categories", CATEGORIES)
    fake_rpc.reply("workflow", "list_routing_rules", lambda estate: {"items": [
        r for r in RULES["items"] if estate is None or r["scope"] in ("group", f"estate:{estate}")]})
    fake_rpc.reply("workflow", "save_routing_rules", lambda scope, rules: {"scope": scope, "items": rules})

    def as_user(username="manager@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def _token(client, scope="estate:DEMO-RES"):
    return CSRF.search(client.get(f"/settings/routing?scope={scope}").get_data(as_text=True)).group(1)


def _form(token, scope="estate:DEMO-RES", rows=(), remove=()):
    data = {"csrf_token": token, "scope": scope, "category": [], "department": [], "team": [], "strategy": [],
            "remove": list(remove)}
    for row in rows:
        for key in ("category", "department", "team", "strategy"):
            data[key].append(row.get(key, ""))
    return data


def test_gateway_console_routing_manager_sees_own_estates_and_the_group_rules_read_only(as_user, fake_rpc):
    html = as_user().get("/settings/routing").get_data(as_text=True)
    assert "派单规则" in html and 'value="estate:DEMO-NEW"' in html and 'value="estate:DEMO-RES"' in html
    assert 'value="group"' not in html and "estate:DEMO-OFFICE" not in html  # only the manager's estates
    html = as_user().get("/settings/routing?scope=estate:DEMO-RES").get_data(as_text=True)
    assert 'id="inherited-rules"' in html and "客服中心" in html  # the group's rule, shown as applying
    assert 'id="routing-rules"' in html and "环境部" in html and "客服专员 张" in html and "当前工单最少者" in html
    assert 'id="routing-form"' in html and 'value="环境部"' in html  # the estate's own rule in the form
    assert '<datalist id="staff-names">' in html and 'id="staff-list"' in html  # _staff_picker.html
    assert calls(fake_rpc, "list_routing_rules")[-1]["args"] == ("DEMO-RES",)


def test_gateway_console_routing_group_admin_edits_the_group_and_head_office_only_reads(as_user):
    html = as_user("admin@demo").get("/settings/routing?scope=group").get_data(as_text=True)
    assert 'value="group" selected' in html and "estate:DEMO-OFFICE" in html and 'id="routing-form"' in html
    html = as_user("hq@demo").get("/settings/routing?scope=group&lang=en").get_data(as_text=True)
    assert "Routing rules" in html and 'id="routing-form"' not in html and 'id="read-only"' in html


@pytest.mark.parametrize("user", ["agent@demo", "supervisor@demo", "committee@demo"])
def test_gateway_console_routing_other_roles_are_refused(as_user, user):
    assert as_user(user).get("/settings/routing").status_code == 403


def test_gateway_console_routing_manager_adds_a_rule_and_the_save_is_audited(as_user, fake_rpc, app):
    client = as_user()
    rows = [{"category": "sanitation", "department": "环境部", "team": "agent@demo", "strategy": "least_loaded"},
            {"category": "security", "department": "秩序部", "team": "agent@demo，supervisor@demo",
             "strategy": "round_robin"}, {"category": "", "department": "", "team": "", "strategy": "round_robin"}]
    r = client.post("/settings/routing", data=_form(_token(client), rows=rows))
    assert r.status_code == 302 and r.headers["Location"].endswith("/settings/routing?scope=estate:DEMO-RES")
    [call] = calls(fake_rpc, "save_routing_rules")
    assert call["args"] == ("estate:DEMO-RES", [
        {"category": "sanitation", "department": "环境部", "team": ["agent@demo"], "strategy": "least_loaded"},
        {"category": "security", "department": "秩序部", "team": ["agent@demo", "supervisor@demo"],
         "strategy": "round_robin"}])
    assert "已保存 锦绣花园 的 2 条派单规则。" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.extensions["db"].connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "routing_rules_saved")).mappings()
    assert row["target_id"] == "estate:DEMO-RES" and {k: v for k, v in row["detail"].items() if k not in ("changes", "before_unread")} == {"rules": 2} and row["username"] == "manager@demo"


def test_gateway_console_routing_a_removed_row_is_dropped(as_user, fake_rpc):
    client = as_user()
    rows = [{"department": "环境部", "team": "agent@demo", "strategy": "round_robin"},
            {"category": "security", "department": "秩序部", "team": "agent@demo", "strategy": "round_robin"}]
    assert client.post("/settings/routing", data=_form(_token(client), rows=rows, remove=["0"])).status_code == 302
    [call] = calls(fake_rpc, "save_routing_rules")
    assert [r["department"] for r in call["args"][1]] == ["秩序部"]


@pytest.mark.parametrize("lang,texts", [
    ("zh_CN", ["请填写责任部门", "不是本集团的在用账号：nobody@demo", "每个类别只能有一条规则", "请选择分配方式"]),
    ("en", ["Enter the responsible department", "Not an active user of the group: nobody@demo",
            "Only one rule per category", "Choose how a member is picked"])])
def test_gateway_console_routing_errors_are_shown_next_to_their_fields(as_user, fake_rpc, lang, texts):
    client = as_user()
    client.get(f"/settings/routing?lang={lang}")
    rows = [{"category": "sanitation", "department": "", "team": "agent@demo", "strategy": "round_robin"},
            {"category": "sanitation", "department": "环境部", "team": "nobody@demo", "strategy": "random"}]
    r = client.post("/settings/routing", data=_form(_token(client), rows=rows))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and all(t in html for t in texts), html
    assert 'id="e0-department"' in html and 'id="e1-team"' in html and 'id="e1-category"' in html
    assert 'id="e1-strategy"' in html and 'value="nobody@demo"' in html  # the input is kept
    assert not calls(fake_rpc, "save_routing_rules")


def test_gateway_console_routing_workflow_refusal_lands_on_its_field(as_user, fake_rpc, remote_error):
    client = as_user()
    fake_rpc.reply("workflow", "save_routing_rules", remote_error(
        "ValidationFailed", 422, "validation_failed", field="rules[0].department"))
    r = client.post("/settings/routing", data=_form(_token(client), rows=[
        {"department": "环境部", "team": "agent@demo", "strategy": "round_robin"}]))
    assert r.status_code == 422 and 'id="e0-department"' in r.get_data(as_text=True)


def test_gateway_console_routing_manager_cannot_save_another_estate_or_the_group(as_user, fake_rpc):
    client = as_user()
    token = _token(client)
    row = [{"department": "环境部", "team": "agent@demo", "strategy": "round_robin"}]
    for scope in ("estate:DEMO-OFFICE", "group", "estate:NOPE"):
        assert client.post("/settings/routing", data=_form(token, scope=scope, rows=row)).status_code == 403
    hq = as_user("hq@demo")
    assert hq.post("/settings/routing", data=_form(_token(hq, "group"), scope="group", rows=row)).status_code == 403
    assert not calls(fake_rpc, "save_routing_rules")


def test_gateway_console_routing_save_needs_the_csrf_token(as_user, fake_rpc):
    client = as_user()
    data = _form("", rows=[{"department": "环境部", "team": "agent@demo", "strategy": "round_robin"}])
    del data["csrf_token"]
    assert client.post("/settings/routing", data=data).status_code == 400
    assert not calls(fake_rpc, "save_routing_rules")
