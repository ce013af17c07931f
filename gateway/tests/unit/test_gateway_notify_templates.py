"""/settings/templates (消息模板) and /api/v1/notify-templates, with the FakeRpc standing in for notify."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway.tables import audit_log
from test_gateway_console_pages import CSRF, ESTATES, console_login

MESSAGES = {"messages": [{"message": "acknowledgement", "parts": ["subject", "body_txt", "body_html", "sms"]},
                         {"message": "superior_report", "parts": ["subject", "body_txt", "body_html", "sms"]}],
            "overrides": []}


def _part(default, inherited=None, override=None):
    in_force = "estate" if override else "tenant" if inherited else "default"
    return {"default": default, "inherited": inherited, "override": override, "version": None,
            "updated_at": None, "updated_by": None, "in_force": in_force}


def _template(message="acknowledgement", locale="zh_CN", estate=None, subject_override=None):
    return {"message": message, "locale": locale, "estate": estate, "variables": ["estate_name", "reference"],
            "parts": {"subject": _part("【{{ estate_name }}】您的投诉已受理", inherited="集团：{{ reference }}" if estate
                                       else None, override=subject_override),
                      "body_txt": _part("您好\n{{ reference }}\n"), "body_html": _part("<p>{{ reference }}</p>\n"),
                      "sms": _part("【{{ estate_name }}】已受理")}}


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("notify", "list_template_overrides", MESSAGES)
    fake_rpc.reply("notify", "get_template", lambda m, loc, estate: _template(m, loc, estate))
    fake_rpc.reply("notify", "save_template", lambda m, loc, parts, estate: _template(m, loc, estate))
    fake_rpc.reply("notify", "delete_template", lambda m, loc, estate, part=None: {"deleted": 1})
    fake_rpc.reply("notify", "preview_template", lambda m, loc, parts, estate: {
        "parts": {"subject": "【锦绣花园】收到", "body_html": '<p onclick="x()">TS1</p>'}, "errors": {}})
    return fake_rpc


@pytest.fixture
def as_user(client, rpc):
    def as_user(username="admin@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def _form(client, scope="group", **parts):
    token = CSRF.search(client.get("/settings/templates").get_data(as_text=True)).group(1)
    return {"csrf_token": token, "message": "acknowledgement", "locale": "zh_CN", "scope": scope} | parts


def test_gateway_templates_page_shows_the_parts_in_force_and_the_default(as_user):
    html = as_user().get("/settings/templates?scope=estate:DEMO-RES").get_data(as_text=True)
    assert "消息模板" in html and "业主受理回执" in html and 'id="t-subject"' in html and 'id="t-sms"' in html
    assert "集团：{{ reference }}</textarea>" in html  # an estate inherits the group's subject
    assert "EstateDesk 默认模板" in html and "{{ reference }}" in html
    assert '<option value="estate:DEMO-RES" selected>' in html and 'id="t-save"' in html


def test_gateway_templates_page_for_a_site_manager_group_is_read_only(as_user):
    html = as_user("manager@demo").get("/settings/templates").get_data(as_text=True)
    assert 'id="read-only"' in html and 'id="t-save"' not in html and " readonly" in html
    assert 'value="estate:DEMO-OFFICE"' not in html and 'value="estate:DEMO-RES"' in html


@pytest.mark.parametrize("user", ["agent@demo", "supervisor@demo"])
def test_gateway_templates_page_other_roles_are_refused(as_user, rpc, user):
    client = as_user(user)
    assert client.get("/settings/templates").status_code == 403
    token = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    data = {"csrf_token": token, "message": "acknowledgement", "locale": "zh_CN", "scope": "group", "subject": "x"}
    assert client.post("/settings/templates", data=data).status_code == 403
    assert not calls(rpc, "save_template")


def test_gateway_templates_save_stores_only_what_differs_and_is_audited(as_user, rpc, app):
    client = as_user()
    data = _form(client, scope="estate:DEMO-RES", subject="项目：{{ reference }}", body_txt="您好\r\n{{ reference }}\r\n",
                 body_html="<p>{{ reference }}</p>", sms="【{{ estate_name }}】已受理，请留意")
    r = client.post("/settings/templates", data=data)
    assert r.status_code == 302 and "scope=estate:DEMO-RES" in r.headers["Location"]
    [call] = calls(rpc, "save_template")
    assert call["args"] == ("acknowledgement", "zh_CN", {"subject": "项目：{{ reference }}", "body_txt": None,
                                                         "body_html": None, "sms": "【{{ estate_name }}】已受理，请留意"},
                            "DEMO-RES")
    assert "已保存业主受理回执（锦绣花园）的模板。" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.extensions["db"].connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "templates_saved")).mappings()
    assert row["target_id"] == "acknowledgement" and {k: v for k, v in row["detail"].items() if k not in ("changes", "before_unread")} == {"locale": "zh_CN", "scope": "estate:DEMO-RES"}


def test_gateway_templates_refusal_shows_the_line_next_to_the_part(as_user, rpc, remote_error):
    client = as_user()
    rpc.reply("notify", "save_template", remote_error("ValidationFailed", 422, "validation_failed",
                                                      "not allowed", field="parts.body_txt", line=2, errors={
                                                          "body_txt": {"message": "not allowed in a template: access "
                                                                       "to attribute '__class__'", "line": 2,
                                                                       "field": "parts.body_txt"}}))
    r = client.post("/settings/templates", data=_form(client, body_txt="x\n{{ ''.__class__ }}"))
    html = r.get_data(as_text=True).replace("&#39;", "'")
    assert r.status_code == 422 and 'id="e-body_txt"' in html and "第 2 行：not allowed in a template" in html
    assert "x\n{{ ''.__class__ }}</textarea>" in html  # the input is kept


def test_gateway_templates_preview_shows_html_in_a_sandboxed_frame(as_user, rpc):
    client = as_user()
    r = client.post("/settings/templates/preview", data=_form(client, subject="【{{ estate_name }}】收到"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "【锦绣花园】收到</pre>" in html
    assert '<iframe sandbox ' in html and 'srcdoc="&lt;p onclick=&#34;x()&#34;&gt;TS1&lt;/p&gt;"' in html
    assert calls(rpc, "preview_template") and not calls(rpc, "save_template")


def test_gateway_templates_reset_and_csrf(as_user, rpc):
    client = as_user()
    data = _form(client, scope="estate:DEMO-NEW")
    assert client.post("/settings/templates/reset", data=data).status_code == 302
    assert calls(rpc, "delete_template")[0]["args"] == ("acknowledgement", "zh_CN", "DEMO-NEW")
    del data["csrf_token"]
    assert client.post("/settings/templates/reset", data=data).status_code == 400


def test_gateway_templates_a_scope_not_offered_is_403(as_user, rpc):
    client = as_user("manager@demo")
    for path in ("/settings/templates", "/settings/templates/reset", "/settings/templates/preview"):
        assert client.post(path, data=_form(client, scope="estate:DEMO-OFFICE", subject="x")).status_code == 403
    assert client.post("/settings/templates", data=_form(client, scope="group", subject="x")).status_code == 403
    assert not calls(rpc, "save_template") and not calls(rpc, "delete_template")


# --- /api/v1/notify-templates

ADMIN, MANAGER = (("group_admin", None),), (("site_manager", "DEMO-RES"),)
PATH = "/api/v1/notify-templates/acknowledgement/zh_CN"


def test_gateway_templates_api_reads_saves_previews_and_deletes(client, bearer, rpc, app):
    assert client.get("/api/v1/notify-templates", headers=bearer(roles=MANAGER)).get_json() == MESSAGES
    r = client.get(PATH, headers=bearer(roles=MANAGER), query_string={"estate": "DEMO-RES"})
    assert r.status_code == 200 and r.get_json()["parts"]["subject"]["in_force"] == "tenant"
    body = {"estate": "DEMO-RES", "parts": {"subject": "项目：{{ reference }}", "sms": None}}
    assert client.post(PATH + "/preview", headers=bearer(roles=MANAGER), json=body).status_code == 200
    assert client.put(PATH, headers=bearer(roles=MANAGER), json=body).status_code == 200
    assert calls(rpc, "save_template")[0]["args"] == ("acknowledgement", "zh_CN", body["parts"], "DEMO-RES")
    r = client.delete(PATH, headers=bearer(roles=ADMIN), query_string={"estate": "DEMO-RES", "part": "subject"})
    assert r.status_code == 200 and calls(rpc, "delete_template")[0]["args"] == (
        "acknowledgement", "zh_CN", "DEMO-RES", "subject")
    with app.extensions["db"].connect() as conn:
        actions = [r.action for r in conn.execute(select(audit_log.c.action).where(
            audit_log.c.tenant_id == DEMO_TENANT["id"]))]
    assert actions.count("templates_saved") == 1 and actions.count("templates_reset") == 1


@pytest.mark.parametrize("roles", [(("agent", "DEMO-RES"),), (("cs_supervisor", "DEMO-RES"),)])
def test_gateway_templates_api_other_roles_are_403(client, bearer, rpc, roles):
    assert client.get("/api/v1/notify-templates", headers=bearer(roles=roles)).status_code == 403
    assert client.put(PATH, headers=bearer(roles=roles), json={"parts": {"subject": "x"}}).status_code == 403
    assert client.delete(PATH, headers=bearer(roles=roles)).status_code == 403
    assert [c for c in rpc.calls if c["service"] == "notify"] == []


@pytest.mark.parametrize("body,field", [({"estate": "OTHER-RES", "parts": {"subject": "x"}}, "estate"),
                                        ({"parts": {}}, "parts"), ({"parts": {"footer": "x"}}, "parts"),
                                        ({"parts": {"subject": "x" * 20_001}}, "parts")])
def test_gateway_templates_api_bad_bodies_are_422(client, bearer, rpc, body, field):
    r = client.put(PATH, headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422 and r.get_json()["details"]["field"].startswith(field), r.get_json()
    assert not calls(rpc, "save_template")


def test_gateway_templates_api_unknown_estate_in_the_query_is_404(client, bearer, rpc):
    r = client.get(PATH, headers=bearer(roles=ADMIN), query_string={"estate": "OTHER-RES"})
    assert r.status_code == 404 and r.get_json()["error"] == "estate_not_found"
    assert not calls(rpc, "get_template")


def test_gateway_templates_api_passes_notifys_line_on(client, bearer, rpc, remote_error):
    rpc.reply("notify", "save_template", remote_error("ValidationFailed", 422, "validation_failed", "syntax error",
                                                      field="parts.body_html", line=3))
    r = client.put(PATH, headers=bearer(roles=ADMIN), json={"parts": {"body_html": "<p>\n\n{% if %}"}})
    assert r.status_code == 422 and r.get_json()["details"] == {"field": "parts.body_html", "line": 3}
