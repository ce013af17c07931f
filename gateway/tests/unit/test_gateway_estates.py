"""Estates administration: GET/POST /api/v1/estates, PUT /api/v1/estates/<code> and the console's /admin/estates,
with the FakeRpc: roles and scope, validation naming the field (in the user's language on the page), intake's
refusals, audit rows, inactive estates left out of the owners' and agents' choices."""
import re

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway.tables import audit_log
from test_gateway_console_pages import ESTATES, console_login

ADMIN, HQ = (("group_admin", None),), (("head_office", None),)
OTHERS = [(("site_manager", "DEMO-RES"),), (("cs_supervisor", "DEMO-RES"),), (("agent", "DEMO-RES"),),
          (("committee_member", "DEMO-RES"),)]
REGIONS = [{"code": "EAST", "name": "华东区域"}]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW = {"code": "SH-XUHUI-01", "name": "徐汇苑", "kind": "residential", "region": "EAST", "timezone": "Asia/Shanghai",
       "address": "漕溪北路 1 号", "units": 1200}


def _estate(**over):
    return {"code": "SH-XUHUI-01", "name": "徐汇苑", "kind": "residential", "timezone": "Asia/Shanghai",
            "region": "EAST", "units": 1200, "address": "漕溪北路 1 号", "active": True} | over


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES + [_estate(active=False, code="OLD-1", name="旧项目")])
    fake_rpc.reply("intake", "list_regions", REGIONS)
    fake_rpc.reply("intake", "create_estate", lambda data: _estate(**data, created=True, changed=["code"]))
    fake_rpc.reply("intake", "update_estate",
                   lambda code, changes: _estate(code=code, **changes, created=False, changed=sorted(changes)))
    return fake_rpc


def writes(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] in ("create_estate", "update_estate")]


def audited(app, with_changes=False):
    """(estate, detail) of the estate_saved rows; ``changes`` (before/after, test_gateway_audit_changes.py) aside."""
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(select(audit_log.c.target_id, audit_log.c.detail).where(
            audit_log.c.tenant_id == DEMO_TENANT["id"], audit_log.c.action == "estate_saved"))
        return [(code, detail if with_changes else {k: v for k, v in detail.items() if k != "changes"})
                for code, detail in rows]


# --- the API

@pytest.mark.parametrize("roles", [ADMIN, HQ])
def test_gateway_estates_api_group_roles_add_and_change(client, bearer, rpc, app, roles):
    r = client.post("/api/v1/estates", headers=bearer(roles=roles), json=NEW)
    assert r.status_code == 201 and r.get_json()["code"] == "SH-XUHUI-01", r.get_json()
    r = client.put("/api/v1/estates/SH-XUHUI-01", headers=bearer(roles=roles), json={"units": 1300, "active": False})
    assert r.status_code == 200 and r.get_json()["active"] is False
    create, update = writes(rpc)
    assert create["args"] == (NEW | {},) and create["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert update["args"] == ("SH-XUHUI-01", {"units": 1300, "active": False})
    assert audited(app) == [("SH-XUHUI-01", {"created": True, "changed": ["code"], "active": True}),
                            ("SH-XUHUI-01", {"created": False, "changed": ["active", "units"], "active": False})]


@pytest.mark.parametrize("roles", OTHERS)
def test_gateway_estates_api_other_roles_cannot_write_and_read_their_scope(client, bearer, rpc, app, roles):
    assert client.post("/api/v1/estates", headers=bearer(roles=roles), json=NEW).status_code == 403
    r = client.put("/api/v1/estates/DEMO-RES", headers=bearer(roles=roles), json={"name": "x"})
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert writes(rpc) == [] and audited(app) == []
    listed = client.get("/api/v1/estates", headers=bearer(roles=roles)).get_json()
    assert [e["code"] for e in listed] == ["DEMO-RES"]


def test_gateway_estates_api_group_roles_read_every_estate_inactive_too(client, bearer, rpc):
    listed = client.get("/api/v1/estates", headers=bearer(roles=HQ)).get_json()
    assert [e["code"] for e in listed] == ["DEMO-RES", "DEMO-OFFICE", "DEMO-NEW", "OLD-1"]


@pytest.mark.parametrize("body,field", [
    ({k: v for k, v in NEW.items() if k != "code"}, "code"),
    (NEW | {"code": "-X"}, "code"), (NEW | {"code": "中文"}, "code"), (NEW | {"name": ""}, "name"),
    (NEW | {"kind": "castle"}, "kind"), (NEW | {"timezone": "Mars/Olympus"}, "timezone"),
    (NEW | {"timezone": "Asia"}, "timezone"), (NEW | {"units": 0}, "units"), (NEW | {"units": "12"}, "units"),
    (NEW | {"address": "x" * 201}, "address"), (NEW | {"colour": "red"}, "colour"),
])
def test_gateway_estates_api_bad_bodies_are_422_naming_the_field(client, bearer, rpc, app, body, field):
    r = client.post("/api/v1/estates", headers=bearer(roles=HQ), json=body)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == field, r.get_json()
    assert writes(rpc) == [] and audited(app) == []


@pytest.mark.parametrize("status,cls,code,field", [(409, "Conflict", "estate_exists", "code"),
                                                   (422, "ValidationFailed", "validation_failed", "region"),
                                                   (404, "NotFound", "estate_not_found", "code")])
def test_gateway_estates_api_intakes_refusals_are_passed_on(client, bearer, rpc, app, remote_error, status, cls,
                                                            code, field):
    rpc.reply("intake", "update_estate", remote_error(cls, status, code, field=field))
    r = client.put("/api/v1/estates/OTHER-RES", headers=bearer(roles=ADMIN), json={"region": "NOWHERE"},
                   environ_base={"HTTP_ACCEPT_LANGUAGE": "en"})
    assert r.status_code == status and r.get_json()["error"] == code and r.get_json()["details"]["field"] == field
    assert audited(app) == []


# --- the console page

@pytest.fixture
def as_user(client, rpc):
    def as_user(username="hq@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def _token(client, path="/admin/estates"):
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


@pytest.mark.parametrize("user", ["hq@demo", "admin@demo"])
def test_gateway_console_estates_page_lists_and_links_from_the_header(as_user, user):
    html = as_user(user).get("/admin/estates").get_data(as_text=True)
    assert 'href="/admin/estates">项目管理</a>' in html and 'id="estates"' in html
    assert '<tr data-estate="OLD-1">' in html and "已停用" in html and "华东区域" in html and "交房期" in html
    assert 'name="code"' in html and '<option value="EAST">华东区域 (EAST)</option>' in html


@pytest.mark.parametrize("user", ["agent@demo", "manager@demo", "supervisor@demo"])
def test_gateway_console_estates_page_is_403_for_other_roles(as_user, rpc, user):
    client = as_user(user)
    assert "/admin/estates" not in client.get("/").get_data(as_text=True)
    assert client.get("/admin/estates").status_code == 403
    token = _token(client, "/account")
    assert client.post("/admin/estates", data={"csrf_token": token, "code": "X1", "name": "x"}).status_code == 403
    assert writes(rpc) == []


def test_gateway_console_estate_is_added_audited_and_flashed(as_user, rpc, app):
    client = as_user()
    data = {"csrf_token": _token(client), "code": "sh-xuhui-01", "name": " 徐汇苑 ", "kind": "office",
            "region": "", "timezone": "Asia/Urumqi", "address": "", "units": "1,200"}
    r = client.post("/admin/estates", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/admin/estates")
    [call] = writes(rpc)
    assert call["args"] == ({"code": "sh-xuhui-01", "name": "徐汇苑", "kind": "office", "region": None,
                             "timezone": "Asia/Urumqi", "address": "", "units": 1200, "active": True},)
    assert audited(app)[0][0] == "SH-XUHUI-01"
    assert "已新增项目 sh-xuhui-01" in client.get("/admin/estates").get_data(as_text=True)


def test_gateway_console_bad_fields_are_shown_next_to_themselves_in_the_users_language(as_user, rpc, app):
    client = as_user()
    data = {"csrf_token": _token(client), "code": "-", "name": "", "kind": "castle", "timezone": "Mars/Olympus",
            "units": "many"}
    r = client.post("/admin/estates", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and writes(rpc) == [] and audited(app) == []
    for field in ("code", "name", "kind", "timezone", "units"):
        assert f'id="e-{field}"' in html, field
    assert "请选择项目类型。" in html and "请输入 1 至 1,000,000 的整数，或留空。" in html
    english = client.post("/admin/estates?lang=en", data=data).get_data(as_text=True)
    assert "Choose a kind of estate." in english


def test_gateway_console_a_taken_code_and_intakes_field_refusal_are_shown(as_user, rpc, remote_error):
    client = as_user()
    rpc.reply("intake", "create_estate", remote_error("Conflict", 409, "estate_exists", field="code"))
    data = {"csrf_token": _token(client), "code": "DEMO-RES", "name": "x", "kind": "office",
            "timezone": "Asia/Shanghai"}
    html = client.post("/admin/estates", data=data).get_data(as_text=True)
    assert 'id="e-code"' in html and "已有相同编号的项目。" in html
    rpc.reply("intake", "update_estate", remote_error("ValidationFailed", 422, "validation_failed", field="region"))
    r = client.post("/admin/estates/DEMO-RES", data=data | {"region": "NOWHERE"})
    assert r.status_code == 422 and 'id="e-region"' in r.get_data(as_text=True)


def test_gateway_console_estate_is_edited_and_deactivated(as_user, rpc, app):
    client = as_user()
    html = client.get("/admin/estates/DEMO-NEW").get_data(as_text=True)
    assert "编辑项目 DEMO-NEW" in html and 'name="code"' not in html and 'id="f-active"' in html
    assert client.get("/admin/estates/OTHER-RES").status_code == 404
    data = {"csrf_token": _token(client), "name": "滨江新城", "kind": "residential", "region": "EAST",
            "timezone": "Asia/Shanghai", "address": "", "units": ""}  # active unticked: deactivate
    assert client.post("/admin/estates/DEMO-NEW", data=data).status_code == 302
    [call] = writes(rpc)
    assert call["args"][0] == "DEMO-NEW" and call["args"][1]["active"] is False and call["args"][1]["units"] is None
    assert audited(app)[0][0] == "DEMO-NEW" and audited(app)[0][1]["active"] is False


def test_gateway_inactive_estates_leave_the_owner_and_agent_choices(client, rpc):
    assert "旧项目" not in client.get("/t/demo/complain").get_data(as_text=True)
    assert client.get("/t/demo/e/OLD-1/complain").status_code == 404
    assert console_login(client, username="agent@demo").status_code == 302
    assert 'value="OLD-1"' not in client.get("/complaints/new").get_data(as_text=True)
