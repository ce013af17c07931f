"""/settings/alerts (the console's alert recipients) and GET/PUT /api/v1/staff-contacts, with the FakeRpc."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway.tables import audit_log
from test_gateway_console_pages import CSRF, ESTATES, console_login

CONTACTS = [{"id": "c1", "role": "cs_supervisor", "estate": "DEMO-RES", "name": "客服主管 李",
             "email": "supervisor@demo.example", "phone": "", "locale": "zh_CN"},
            {"id": "c2", "role": "head_office", "estate": None, "name": "总部运营", "email": "hq@demo.example",
             "phone": "021-5555", "locale": "en"}]
FIELDS = ("role", "estate", "name", "email", "phone", "locale")


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("notify", "list_staff_contacts", CONTACTS)
    fake_rpc.reply("notify", "set_staff_contacts", lambda contacts: [c | {"id": "x"} for c in contacts])
    fake_rpc.reply("notify", "get_digest_settings", {"enabled": True, "hour": 8, "timezone": "Asia/Shanghai",
                                                     "opt_outs": [], "roles": [], "updated_at": None,
                                                     "updated_by": None})  # the page's daily digest card
    return fake_rpc


@pytest.fixture
def as_user(client, rpc):
    def as_user(username="admin@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def saved(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "set_staff_contacts"]


def _token(client):
    return CSRF.search(client.get("/settings/alerts").get_data(as_text=True)).group(1)


def _form(token, rows, remove=()):
    data = {k: [row.get(k, "") for row in rows] for k in FIELDS}
    return data | {"csrf_token": token, "remove": list(remove)}


@pytest.mark.parametrize("user", ["admin@demo", "hq@demo"])
def test_gateway_console_alerts_group_roles_see_the_recipients(as_user, user):
    html = as_user(user).get("/settings/alerts").get_data(as_text=True)
    assert "提醒接收人" in html and "各类提醒发给谁" in html and "时限预警" in html
    assert 'value="supervisor@demo.example"' in html and 'value="021-5555"' in html
    assert '<option value="DEMO-RES" selected>' in html and 'id="c2-email"' in html  # two rows + two empty
    assert 'id="c4-email"' not in html


@pytest.mark.parametrize("user", ["manager@demo", "supervisor@demo", "agent@demo"])
def test_gateway_console_alerts_other_roles_are_refused(as_user, rpc, user):
    client = as_user(user)
    assert client.get("/settings/alerts").status_code == 403
    token = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    assert client.post("/settings/alerts", data=_form(token, CONTACTS)).status_code == 403
    assert not saved(rpc)


def test_gateway_console_alerts_save_replaces_the_list_and_is_audited(as_user, rpc, app):
    client = as_user()
    rows = [CONTACTS[0] | {"estate": "DEMO-RES"}, CONTACTS[1] | {"estate": ""},
            {"role": "site_manager", "estate": "DEMO-NEW", "name": "项目经理 王", "email": "wang@demo.example",
             "phone": "", "locale": "zh_CN"}, {"role": "cs_supervisor", "locale": "zh_CN"}]  # the last: empty
    r = client.post("/settings/alerts", data=_form(_token(client), rows, remove=["1"]))
    assert r.status_code == 302 and r.headers["Location"].endswith("/settings/alerts")
    [call] = saved(rpc)
    assert call["args"] == ([
        {"role": "cs_supervisor", "estate": "DEMO-RES", "name": "客服主管 李", "email": "supervisor@demo.example",
         "phone": "", "locale": "zh_CN"},
        {"role": "site_manager", "estate": "DEMO-NEW", "name": "项目经理 王", "email": "wang@demo.example",
         "phone": "", "locale": "zh_CN"}],)
    assert "已保存 2 位提醒接收人。" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.extensions["db"].connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "staff_contacts_saved")).mappings()
    assert {k: v for k, v in row["detail"].items() if k not in ("changes", "before_unread")} == {"contacts": 2} and row["username"] == "admin@demo"  # rows kept, never addresses


@pytest.mark.parametrize("lang,texts", [("zh_CN", ["请填写有效的电子邮箱。", "请选择本集团的项目", "请选择角色。"]),
                                        ("en", ["Enter a valid e-mail address.", "Choose one of the group's estates",
                                                "Choose a role."])])
def test_gateway_console_alerts_errors_are_shown_next_to_their_fields(as_user, rpc, lang, texts):
    client = as_user()
    client.get(f"/settings/alerts?lang={lang}")
    rows = [{"role": "cs_supervisor", "estate": "DEMO-RES", "name": "李", "email": "not-an-address", "locale": "zh_CN"},
            {"role": "janitor", "estate": "DEMO-OTHER", "name": "x", "email": "x@demo.example", "locale": "en"}]
    r = client.post("/settings/alerts", data=_form(_token(client), rows))
    html = r.get_data(as_text=True).replace("&#39;", "'")
    assert r.status_code == 422 and all(t in html for t in texts), html
    assert 'id="e0-email"' in html and 'id="e1-estate"' in html and 'id="e1-role"' in html
    assert 'value="not-an-address"' in html  # the input is kept
    assert not saved(rpc)


def test_gateway_console_alerts_notify_refusal_lands_on_its_field(as_user, rpc, remote_error):
    client = as_user()
    rpc.reply("notify", "set_staff_contacts", remote_error("ValidationFailed", 422, "validation_failed",
                                                           field="contacts[0].email"))
    r = client.post("/settings/alerts", data=_form(_token(client), CONTACTS[:1]))
    assert r.status_code == 422 and 'id="e0-email"' in r.get_data(as_text=True)


def test_gateway_console_alerts_save_needs_the_csrf_token(as_user, rpc):
    client = as_user()
    data = _form("", CONTACTS)
    del data["csrf_token"]
    assert client.post("/settings/alerts", data=data).status_code == 400
    assert not saved(rpc)


# --- GET/PUT /api/v1/staff-contacts

ADMIN, HQ = (("group_admin", None),), (("head_office", None),)


@pytest.mark.parametrize("roles", [ADMIN, HQ])
def test_gateway_staff_contacts_api_group_roles_read_and_replace(client, bearer, rpc, roles):
    r = client.get("/api/v1/staff-contacts", headers=bearer(roles=roles))
    assert r.status_code == 200 and r.get_json() == {"items": CONTACTS}
    body = {"contacts": [{"role": "site_manager", "estate": "DEMO-RES", "email": "wang@demo.example"}]}
    r = client.put("/api/v1/staff-contacts", headers=bearer(roles=roles), json=body)
    assert r.status_code == 200, r.get_json()
    [call] = saved(rpc)
    assert call["args"] == ([{"role": "site_manager", "estate": "DEMO-RES", "email": "wang@demo.example",
                              "name": "", "phone": "", "locale": "zh_CN"}],)
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"]


@pytest.mark.parametrize("roles", [(("site_manager", "DEMO-RES"),), (("cs_supervisor", "DEMO-RES"),),
                                   (("agent", "DEMO-RES"),), (("committee_member", "DEMO-RES"),)])
def test_gateway_staff_contacts_api_other_roles_are_403(client, bearer, rpc, roles):
    assert client.get("/api/v1/staff-contacts", headers=bearer(roles=roles)).status_code == 403
    r = client.put("/api/v1/staff-contacts", headers=bearer(roles=roles), json={"contacts": []})
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert [c for c in rpc.calls if c["service"] == "notify"] == []


@pytest.mark.parametrize("contact,name", [
    ({"role": "janitor", "email": "a@b.cn"}, "role"),
    ({"role": "site_manager", "email": "nope"}, "email"),
    ({"role": "site_manager", "email": "a@b.cn", "locale": "fr"}, "locale"),
    ({"role": "site_manager", "email": "a@b.cn", "estate": "OTHER-TENANT"}, "estate"),
])
def test_gateway_staff_contacts_api_bad_bodies_are_422_naming_the_field(client, bearer, rpc, contact, name):
    r = client.put("/api/v1/staff-contacts", headers=bearer(roles=ADMIN), json={"contacts": [contact]})
    assert r.status_code == 422, r.get_json()
    details = r.get_json()["details"]
    fields = details.get("fields") or {}
    assert name in fields.get("contacts", {}).get("0", {}) or details["field"] == f"contacts.0.{name}", details
    assert not saved(rpc)


def test_gateway_staff_contacts_api_save_is_audited(client, bearer, rpc, app):
    body = {"contacts": [{"role": "head_office", "email": "hq@demo.example"}]}
    assert client.put("/api/v1/staff-contacts", headers=bearer(roles=ADMIN), json=body).status_code == 200
    with app.extensions["db"].connect() as conn:
        actions = conn.execute(select(audit_log.c.action, audit_log.c.detail).where(
            audit_log.c.tenant_id == DEMO_TENANT["id"])).all()
    assert ("staff_contacts_saved", {"contacts": 1}) in [(a[0], {k: v for k, v in a[1].items() if k not in ("changes", "before_unread")})
                                                        for a in actions]
