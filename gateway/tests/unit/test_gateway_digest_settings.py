"""The managers' daily digest setting: GET/PUT /api/v1/digest-settings and the card on /settings/alerts
(POST /settings/alerts/digest), with the FakeRpc: roles, validation naming the field, audit rows, notify's refusals."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT

from gateway.tables import audit_log
from test_gateway_console_alert_settings import CONTACTS, CSRF
from test_gateway_console_pages import ESTATES, console_login

SETTINGS = {"enabled": True, "hour": 8, "timezone": "Asia/Shanghai", "opt_outs": ["li@demo.example"],
            "roles": ["cs_supervisor", "site_manager", "head_office"], "updated_at": None, "updated_by": None}
ADMIN, HQ = (("group_admin", None),), (("head_office", None),)


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("notify", "list_staff_contacts", CONTACTS)
    fake_rpc.reply("notify", "get_digest_settings", SETTINGS)
    fake_rpc.reply("notify", "set_digest_settings", lambda settings: SETTINGS | settings)
    return fake_rpc


def saves(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "set_digest_settings"]


def audited(app):
    with app.extensions["db"].connect() as conn:
        rows = conn.execute(select(audit_log.c.action, audit_log.c.detail, audit_log.c.target_kind).where(
            audit_log.c.tenant_id == DEMO_TENANT["id"], audit_log.c.action == "digest_settings_saved"))
        # before/after (audit.SNAPSHOTS) aside: test_gateway_audit.py checks them
        return [(a, {k: v for k, v in d.items() if k not in ("changes", "before_unread")}, t) for a, d, t in rows]


# --- the API

@pytest.mark.parametrize("roles", [ADMIN, HQ])
def test_gateway_digest_api_group_roles_read_and_save(client, bearer, rpc, app, roles):
    r = client.get("/api/v1/digest-settings", headers=bearer(roles=roles))
    assert r.status_code == 200 and r.get_json() == SETTINGS
    body = {"enabled": False, "hour": 7, "timezone": "Asia/Urumqi", "opt_outs": ["wang@demo.example"]}
    r = client.put("/api/v1/digest-settings", headers=bearer(roles=roles), json=body)
    assert r.status_code == 200 and r.get_json()["hour"] == 7, r.get_json()
    [call] = saves(rpc)
    assert call["args"] == (body,) and call["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert audited(app) == [("digest_settings_saved", {"enabled": False, "hour": 7, "timezone": "Asia/Urumqi",
                                                       "opt_outs": 1}, "digest_settings")]  # never the addresses


def test_gateway_digest_api_defaults_the_zone_and_keeps_opt_outs_when_absent(client, bearer, rpc):
    r = client.put("/api/v1/digest-settings", headers=bearer(roles=ADMIN), json={"enabled": True, "hour": 9})
    assert r.status_code == 200
    assert saves(rpc)[0]["args"] == ({"enabled": True, "hour": 9, "timezone": "Asia/Shanghai"},)


@pytest.mark.parametrize("roles", [(("site_manager", "DEMO-RES"),), (("cs_supervisor", "DEMO-RES"),),
                                   (("agent", "DEMO-RES"),), (("committee_member", "DEMO-RES"),)])
def test_gateway_digest_api_other_roles_are_403(client, bearer, rpc, roles):
    assert client.get("/api/v1/digest-settings", headers=bearer(roles=roles)).status_code == 403
    r = client.put("/api/v1/digest-settings", headers=bearer(roles=roles), json={"enabled": True, "hour": 8})
    assert r.status_code == 403 and r.get_json()["error"] == "forbidden"
    assert [c for c in rpc.calls if c["service"] == "notify"] == []


@pytest.mark.parametrize("body,field", [
    ({"hour": 8}, "enabled"),
    ({"enabled": True}, "hour"),
    ({"enabled": True, "hour": 24}, "hour"),
    ({"enabled": True, "hour": "8"}, "hour"),
    ({"enabled": True, "hour": 8.5}, "hour"),
    ({"enabled": True, "hour": 8, "timezone": "Mars/Olympus"}, "timezone"),
    ({"enabled": True, "hour": 8, "timezone": "Asia"}, "timezone"),  # a directory of the zone database
    ({"enabled": True, "hour": 8, "timezone": "../etc/passwd"}, "timezone"),
    ({"enabled": True, "hour": 8, "opt_outs": ["ok@demo.example", "nope"]}, "opt_outs"),
    ({"enabled": True, "hour": 8, "opt_outs": [f"a{i}@demo.example" for i in range(201)]}, "opt_outs"),
])
def test_gateway_digest_api_bad_bodies_are_422_naming_the_field(client, bearer, rpc, app, body, field):
    r = client.put("/api/v1/digest-settings", headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["error"] == "validation_failed" and r.get_json()["details"]["field"] == field
    assert not saves(rpc) and audited(app) == []
    if body.get("opt_outs") and len(body["opt_outs"]) == 2:
        assert list(r.get_json()["details"]["fields"]["opt_outs"]) == ["1"]  # which address


def test_gateway_digest_api_notifys_refusal_is_passed_on(client, bearer, rpc, remote_error):
    rpc.reply("notify", "set_digest_settings", remote_error("ValidationFailed", 422, "validation_failed",
                                                            field="timezone"))
    r = client.put("/api/v1/digest-settings", headers=bearer(roles=ADMIN), json={"enabled": True, "hour": 8})
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "timezone"


# --- the console card on /settings/alerts

@pytest.fixture
def as_user(client, rpc):
    def as_user(username="admin@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def _token(client):
    return CSRF.search(client.get("/settings/alerts").get_data(as_text=True)).group(1)


@pytest.mark.parametrize("user", ["admin@demo", "hq@demo"])
def test_gateway_console_digest_card_shows_the_setting(as_user, user):
    html = as_user(user).get("/settings/alerts").get_data(as_text=True)
    assert 'id="digest"' in html and "每日摘要" in html and "项目经理" in html  # the roles that get it
    assert 'id="digest-enabled" name="enabled" type="checkbox" value="1" checked' in html
    assert '<option value="8" selected>08:00</option>' in html
    assert '<option value="Asia/Shanghai" selected>' in html and ">li@demo.example</textarea>" in html


def test_gateway_console_digest_save_is_sent_audited_and_flashed(as_user, rpc, app):
    client = as_user()
    data = {"csrf_token": _token(client), "hour": "7", "timezone": "Asia/Urumqi",
            "opt_outs": "Li@demo.example\r\nwang@demo.example, li@demo.example"}  # enabled unticked
    r = client.post("/settings/alerts/digest", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith("/settings/alerts#digest")
    [call] = saves(rpc)
    assert call["args"] == ({"enabled": False, "hour": 7, "timezone": "Asia/Urumqi",
                             "opt_outs": ["li@demo.example", "wang@demo.example", "li@demo.example"]},)
    assert "每日摘要设置已保存。" in client.get("/settings/alerts").get_data(as_text=True)
    assert audited(app) == [("digest_settings_saved", {"enabled": False, "hour": "7", "timezone": "Asia/Urumqi",
                                                       "opt_outs": 3}, "digest_settings")]


@pytest.mark.parametrize("lang,texts", [("zh_CN", ["请选择 0 至 23 点之间的整点。", "请选择时区。", "每行填写一个有效的电子邮箱"]),
                                        ("en", ["Choose an hour from 0 to 23.", "Choose a time zone.",
                                                "One valid e-mail address per line"])])
def test_gateway_console_digest_errors_are_shown_next_to_their_fields(as_user, rpc, app, lang, texts):
    client = as_user()
    client.get(f"/settings/alerts?lang={lang}")
    data = {"csrf_token": _token(client), "enabled": "1", "hour": "25", "timezone": "Mars/Olympus",
            "opt_outs": "not-an-address"}
    r = client.post("/settings/alerts/digest", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and all(t in html for t in texts), html
    assert 'id="e-digest-hour"' in html and 'id="e-digest-timezone"' in html and 'id="e-digest-opt_outs"' in html
    assert ">not-an-address</textarea>" in html and 'value="supervisor@demo.example"' in html  # input kept
    assert not saves(rpc) and audited(app) == []


def test_gateway_console_digest_notify_refusal_and_other_roles(as_user, client, rpc, remote_error):
    admin = as_user()
    rpc.reply("notify", "set_digest_settings", remote_error("ValidationFailed", 422, "validation_failed",
                                                            field="opt_outs[0]"))
    data = {"csrf_token": _token(admin), "enabled": "1", "hour": "8", "timezone": "Asia/Shanghai",
            "opt_outs": "x@demo.example"}
    r = admin.post("/settings/alerts/digest", data=data)
    assert r.status_code == 422 and 'id="e-digest-opt_outs"' in r.get_data(as_text=True)
    admin.post("/logout", data={"csrf_token": _token(admin)})
    manager = as_user("manager@demo")
    token = CSRF.search(manager.get("/").get_data(as_text=True)).group(1)
    assert manager.post("/settings/alerts/digest", data=data | {"csrf_token": token}).status_code == 403
    assert len(saves(rpc)) == 1  # the admin's only


def test_gateway_console_digest_save_needs_the_csrf_token(as_user, rpc):
    client = as_user()
    r = client.post("/settings/alerts/digest", data={"enabled": "1", "hour": "8", "timezone": "Asia/Shanghai"})
    assert r.status_code == 400 and not saves(rpc)
