"""/settings/duty: who is on duty now, the roster as rows, roles, field errors next to their rows, CSRF, the audit
row; and the queue's paused (deferred) cases."""
import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT, demo_id

from gateway.tables import audit_log
from test_gateway_console_pages import CSRF, ESTATES, console_login, item

ROSTER = {"estate": "DEMO-RES", "updated_at": "2026-11-20T00:00:00+00:00",
          "updated_by": demo_id("user", "manager@demo"),  # workflow keeps the caller's user id
          "off_hours_now": True, "on_duty_now": {"person": "agent@demo", "post": "消防监控中心"},
          "entries": [{"person": "agent@demo", "post": "消防监控中心", "weekdays": [], "date_from": None,
                       "date_to": None, "note": ""},
                      {"person": "supervisor@demo", "post": "值班", "weekdays": [2, 4], "date_from": "2026-12-01",
                       "date_to": "2026-12-31", "note": "十二月"}]}


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "get_duty_roster", lambda estate: ROSTER | {"estate": estate})
    fake_rpc.reply("workflow", "save_duty_roster", lambda estate, entries: {"estate": estate, "entries": entries})

    def as_user(username="manager@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def _token(client, estate="DEMO-RES"):
    return CSRF.search(client.get(f"/settings/duty?estate={estate}").get_data(as_text=True)).group(1)


def _form(token, estate="DEMO-RES", rows=(), remove=()):
    data = {"csrf_token": token, "estate": estate, "remove": list(remove)}
    for name in ("person", "post", "date_from", "date_to", "note"):
        data[name] = [row.get(name, "") for row in rows]
    for i, row in enumerate(rows):
        data[f"weekdays-{i}"] = [str(d) for d in row.get("weekdays", [])]
    return data


def test_gateway_console_duty_manager_sees_who_is_on_duty_and_the_roster_as_rows(as_user, fake_rpc):
    html = as_user().get("/settings/duty").get_data(as_text=True)
    assert "夜间值班表" in html and 'value="DEMO-NEW"' in html and 'value="DEMO-RES"' in html
    assert 'value="DEMO-OFFICE"' not in html  # only the manager's estates
    assert calls(fake_rpc, "get_duty_roster")[-1]["args"] == ("DEMO-NEW",)  # the first one by code
    html = as_user().get("/settings/duty?estate=DEMO-RES").get_data(as_text=True)
    assert "非工作时间" in html and 'id="on-duty-now"' in html and "客服专员 张" in html
    assert 'id="duty-roster"' in html and "周二、周四" in html and "2026-12-01 – 2026-12-31" in html
    assert "每晚" in html and 'id="duty-form"' in html and 'value="消防监控中心"' in html
    assert "项目经理 王 最后修改于 2026-11-20 08:00" in html
    assert 'name="weekdays-1" data-row-name="weekdays-" type="checkbox" value="2" checked' in html
    assert html.count("data-row>") == 4  # two entries and two empty rows
    assert 'href="/settings/duty"' in html  # the navigation link


def test_gateway_console_duty_group_roles_edit_and_the_supervisor_only_reads(as_user, fake_rpc):
    for user in ("admin@demo", "hq@demo"):
        html = as_user(user).get("/settings/duty?estate=DEMO-OFFICE").get_data(as_text=True)
        assert 'value="DEMO-OFFICE" selected' in html and 'id="duty-form"' in html, user
    html = as_user("supervisor@demo").get("/settings/duty?lang=en").get_data(as_text=True)
    assert "Night duty roster" in html and 'id="duty-roster"' in html and "Out of business hours" in html
    assert 'id="duty-form"' not in html and 'id="read-only"' in html and "DEMO-NEW" not in html


def test_gateway_console_duty_daytime_shows_the_routing_rules_apply(as_user, fake_rpc):
    fake_rpc.reply("workflow", "get_duty_roster", lambda estate: ROSTER | {"off_hours_now": False,
                                                                           "on_duty_now": None})
    html = as_user().get("/settings/duty?estate=DEMO-RES&lang=en").get_data(as_text=True)
    assert "Within business hours" in html and 'id="on-duty-now"' not in html


@pytest.mark.parametrize("user", ["agent@demo", "committee@demo"])
def test_gateway_console_duty_other_roles_are_refused(as_user, user):
    assert as_user(user).get("/settings/duty").status_code == 403


def test_gateway_console_duty_manager_adds_a_night_entry_and_the_save_is_audited(as_user, fake_rpc, app):
    client = as_user()
    rows = [{"person": "agent@demo", "post": "消防监控中心"},
            {"person": "supervisor@demo", "post": "", "weekdays": [5, 1], "date_from": "2026-12-01",
             "date_to": "2026-12-31", "note": "十二月"},
            {"person": "", "post": "值班"}]  # an empty row (the post is prefilled)
    r = client.post("/settings/duty", data=_form(_token(client), rows=rows))
    assert r.status_code == 302 and r.headers["Location"].endswith("/settings/duty?estate=DEMO-RES")
    [call] = calls(fake_rpc, "save_duty_roster")
    assert call["args"] == ("DEMO-RES", [
        {"person": "agent@demo", "post": "消防监控中心", "weekdays": [], "date_from": None, "date_to": None,
         "note": None},
        {"person": "supervisor@demo", "post": "值班", "weekdays": [1, 5], "date_from": "2026-12-01",
         "date_to": "2026-12-31", "note": "十二月"}])
    assert "已保存 锦绣花园 的 2 条值班安排。" in client.get(r.headers["Location"]).get_data(as_text=True)
    with app.extensions["db"].connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "duty_roster_saved")).mappings()
    assert row["target_id"] == "DEMO-RES" and {k: v for k, v in row["detail"].items() if k not in ("changes", "before_unread")} == {"entries": 2} and row["username"] == "manager@demo"


def test_gateway_console_duty_a_removed_row_is_dropped_and_an_empty_roster_saves(as_user, fake_rpc):
    client = as_user()
    rows = [{"person": "agent@demo"}, {"person": "supervisor@demo", "weekdays": [3]}]
    assert client.post("/settings/duty", data=_form(_token(client), rows=rows, remove=["0"])).status_code == 302
    assert client.post("/settings/duty", data=_form(_token(client), rows=[])).status_code == 302
    first, second = calls(fake_rpc, "save_duty_roster")
    assert [e["person"] for e in first["args"][1]] == ["supervisor@demo"] and second["args"] == ("DEMO-RES", [])


@pytest.mark.parametrize("lang,texts", [
    ("zh_CN", ["不是本集团的在用账号：nobody@demo", "请选择值班人员", "请按 YYYY-MM-DD 填写日期，且不早于开始日期",
               "请勾选周一至周日"]),
    ("en", ["Not an active user of the group: nobody@demo", "Choose the person on duty",
            "Enter a date as YYYY-MM-DD, not before the first date", "Tick weekdays from Monday to Sunday"])])
def test_gateway_console_duty_errors_are_shown_next_to_their_rows(as_user, fake_rpc, lang, texts):
    client = as_user()
    client.get(f"/settings/duty?lang={lang}")
    rows = [{"person": "nobody@demo"}, {"person": "", "note": "没有人", "weekdays": [8]},
            {"person": "agent@demo", "date_from": "2026-12-31", "date_to": "2026-12-01"}]
    r = client.post("/settings/duty", data=_form(_token(client), rows=rows))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and all(t in html for t in texts), html
    assert 'id="e0-person"' in html and 'id="e1-person"' in html and 'id="e1-weekdays"' in html
    assert 'id="e2-date_to"' in html and 'value="nobody@demo"' in html and 'value="没有人"' in html  # kept
    assert not calls(fake_rpc, "save_duty_roster")


@pytest.mark.parametrize("field", ["entries[1].date_to", "entries.1.date_to"])
def test_gateway_console_duty_workflow_refusal_lands_on_its_row(as_user, fake_rpc, remote_error, field):
    client = as_user()
    fake_rpc.reply("workflow", "save_duty_roster", remote_error(
        "ValidationFailed", 422, "validation_failed", field=field))
    r = client.post("/settings/duty", data=_form(_token(client), rows=[
        {"person": "agent@demo"}, {"person": "supervisor@demo", "date_to": "2026-12-01"}]))
    assert r.status_code == 422 and 'id="e1-date_to"' in r.get_data(as_text=True)


def test_gateway_console_duty_manager_and_supervisor_cannot_save_what_they_do_not_manage(as_user, fake_rpc):
    client = as_user()
    token = _token(client)
    for estate in ("DEMO-OFFICE", "NOPE"):
        assert client.post("/settings/duty", data=_form(token, estate=estate,
                                                        rows=[{"person": "agent@demo"}])).status_code == 403
    supervisor = as_user("supervisor@demo")
    assert supervisor.post("/settings/duty", data=_form(_token(supervisor), rows=[
        {"person": "agent@demo"}])).status_code == 403
    assert not calls(fake_rpc, "save_duty_roster")


def test_gateway_console_duty_save_needs_the_csrf_token(as_user, fake_rpc):
    client = as_user()
    data = _form("", rows=[{"person": "agent@demo"}])
    del data["csrf_token"]
    assert client.post("/settings/duty", data=data).status_code == 400
    assert not calls(fake_rpc, "save_duty_roster")


def test_gateway_console_queue_shows_a_deferred_case_as_paused_not_overdue(as_user, fake_rpc):
    late = {"stage": "first_contact", "due_at": "2020-01-01T00:00:00+00:00"}
    fake_rpc.reply("workflow", "list_cases", lambda **kw: {"total": 2, "items": [
        item(reference="TS-DEFERRED", status="deferred", next_deadline=late, overdue=False,
             deferred_until="2026-11-25T00:30:00+00:00"),
        item(reference="TS-LATE", status="assigned", next_deadline=late, overdue=True)]})
    html = as_user().get("/queue").get_data(as_text=True)
    assert 'data-reference="TS-DEFERRED" data-sla="paused"' in html
    assert 'data-reference="TS-LATE" data-sla="overdue"' in html
    assert "暂缓" in html and "至 2026-11-25 08:30" in html
    html = as_user().get("/queue?lang=en").get_data(as_text=True)
    assert "Paused" in html and "until 2026-11-25 08:30" in html
