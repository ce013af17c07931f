"""/settings/sla/site: business hours, closures, extra working days, calendar and the escalation ladder as forms;
server-side checks with the message on the field (zh-CN, English), scope, live preview, saving a version."""
import copy

import pytest
from sqlalchemy import select

from estatedesk_common.demo import DEMO_TENANT
from gateway.tables import audit_log

from test_gateway_console_pages import CSRF, ESTATES, console_login

GROUP_DOC = {"timezone": "Asia/Shanghai", "calendar": "cn",
             "business_hours": [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:30"}],
             "closures": [], "extra_working_days": [], "default_severity": "moderate",
             "severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "1h"},
                                                    {"name": "resolution", "limit": "5wd"}]},
                            "major": {"warning_at": 0.5, "stages": [{"name": "first_contact", "limit": "15m"}]}}}
ESTATE_DOC = {"severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]}}}


def in_force(own=ESTATE_DOC, scope="estate:DEMO-RES"):
    merged = copy.deepcopy(GROUP_DOC)
    for sev, spec in merged["severities"].items():
        for st in spec["stages"]:
            st.update(source="group", source_version=1)
    levels = [{"scope": "group", "version": 1, "document": GROUP_DOC, "effective_from": None}]
    if own is not None:
        levels.append({"scope": scope, "version": 2, "document": own, "effective_from": "2026-11-20T00:00:00+00:00"})
        merged.update({k: v for k, v in own.items() if k != "severities"})
    return {"policy_version": "group@v1", "at": "2026-11-24T02:00:00+00:00", "levels": levels, "document": merged}


STAGES = lambda due: {"policy_version": "p", "timezone": "Asia/Shanghai", "severity": "moderate",  # noqa: E731
                      "category": None, "stages": [{"name": "resolution", "due_at": due, "explanation": "第 5 个工作日",
                                                    "explanation_en": "working day 5"}]}


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "get_sla_policy", in_force())
    fake_rpc.reply("workflow", "list_calendar_years", {"calendars": {"cn": list(range(2004, 2027)), "none": None}})

    def as_user(username="manager@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def token(client, scope="estate:DEMO-RES"):
    return CSRF.search(client.get(f"/settings/sla/site?scope={scope}").get_data(as_text=True)).group(1)


def form(client, scope="estate:DEMO-RES", **over):
    data = {"csrf_token": token(client, scope), "scope": scope, "set_calendar": "1", "set_days": "1",
            "set_ladder": "1", "timezone": "Asia/Shanghai", "calendar": "cn",
            "hours_start": ["08:30", "13:30", ""], "hours_end": ["12:00", "18:00", ""],
            "closure_date": ["2026-12-31", ""], "closure_reason": ["年终盘点", ""],
            "extra_date": ["2026-12-26"], "extra_reason": [""],
            "rung_role": ["cs_supervisor", "site_manager", "head_office", ""], "rung_limit": ["1h", "3h", "", ""],
            "warning_at": "80", "warning_major": "50", "effective_from": "", "recompute_open": "0"}
    data.update(over)
    return data


def test_gateway_console_sla_site_page_shows_forms_and_ladder(as_user, fake_rpc):
    html = as_user().get("/settings/sla/site?scope=estate:DEMO-RES").get_data(as_text=True)
    assert "营业时间与升级" in html and 'value="08:30"' in html and 'value="13:30"' in html
    assert 'id="ladder-table"' in html and "客服主管" in html and "2 小时 0 分钟后" in html  # default ladder
    assert "按各阶段时限的 50 %" in html  # major's own warning point
    assert 'id="set-calendar"' in html and 'id="set-calendar" name="set_calendar" type="checkbox" value="1" checked' not in html
    assert "仅新投诉" in html  # the open-cases choice is on the form
    assert 'value="group"' not in html and "estate:DEMO-OFFICE" not in html


def test_gateway_console_sla_site_valid_save_stores_the_layer(as_user, fake_rpc, app):
    client = as_user()
    fake_rpc.reply("workflow", "save_sla_policy", {"scope": "estate:DEMO-RES", "version": 3,
                                                   "effective_from": "2026-11-24T02:00:00+00:00", "recomputed": [],
                                                   "unchanged": 0, "failed": []})
    r = client.post("/settings/sla/site", data=form(client))
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    assert r.headers["Location"].endswith("/settings/sla/site?scope=estate:DEMO-RES")
    [call] = calls(fake_rpc, "save_sla_policy")
    scope, document, effective, recompute, directory = call["args"]
    assert (scope, effective, recompute) == ("estate:DEMO-RES", None, False)
    assert document == {
        "severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]},  # kept as it was
                       "major": {"warning_at": 0.5}},
        "timezone": "Asia/Shanghai", "calendar": "cn",
        "business_hours": [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "18:00"}],
        "closures": [{"date": "2026-12-31", "reason": "年终盘点"}], "extra_working_days": ["2026-12-26"],
        "escalation": [{"role": "cs_supervisor", "limit": "1h"}, {"role": "site_manager", "limit": "3h"},
                       {"role": "head_office"}], "warning_at": 0.8}
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已保存：第 3 版" in html and "未办结案件保持原时限" in html
    with app.extensions["db"].connect() as conn:
        [row] = conn.execute(select(audit_log).where(audit_log.c.tenant_id == DEMO_TENANT["id"],
                                                     audit_log.c.action == "sla_policy_saved")).mappings()
    assert row["target_id"] == "estate:DEMO-RES" and row["detail"]["recompute_open"] is False


def test_gateway_console_sla_site_unticked_sections_are_inherited_and_recompute_is_passed(as_user, fake_rpc):
    client = as_user()
    fake_rpc.reply("workflow", "save_sla_policy", {"scope": "estate:DEMO-RES", "version": 3,
                                                   "effective_from": "2026-11-24T02:00:00+00:00", "recomputed": [],
                                                   "unchanged": 4, "failed": []})
    data = form(client, recompute_open="1", effective_from="2026-12-01T08:00")
    for key in ("set_days", "set_ladder"):
        data.pop(key)
    assert client.post("/settings/sla/site", data=data).status_code == 302
    [call] = calls(fake_rpc, "save_sla_policy")
    document = call["args"][1]
    assert set(document) == {"severities", "timezone", "calendar", "business_hours"}
    assert document["severities"] == ESTATE_DOC["severities"]
    assert call["args"][2:4] == ("2026-12-01T08:00:00+08:00", True)


@pytest.mark.parametrize("over, field, zh", [
    ({"hours_start": ["08:30", "11:00"], "hours_end": ["12:00", "17:30"]}, "hours-1-start", "与 08:30–12:00 重叠"),
    ({"hours_start": ["12:00"], "hours_end": ["08:30"]}, "hours-0-end", "结束时间必须晚于开始时间"),
    ({"hours_start": ["8.30"], "hours_end": ["12:00"]}, "hours-0-start", "HH:MM"),
    ({"hours_start": [""], "hours_end": [""]}, "hours", "至少填写一个营业时段"),
    ({"closure_date": ["2026-13-01"], "closure_reason": [""]}, "closure-0-date", "YYYY-MM-DD"),
    ({"closure_date": ["2031-01-02"], "closure_reason": ["停电"]}, "closure-0-date", "法定节假日历尚无 2031 年"),
    ({"extra_date": ["2026-12-31"], "extra_reason": [""]}, "extra-0-date", "既是停业日又是加班工作日"),
    ({"closure_date": ["2026-12-31", "2026-12-31"], "closure_reason": ["", ""]}, "closure-1-date", "重复"),
    ({"timezone": "Mars/Olympus"}, "timezone", "Asia/Shanghai"),
    ({"rung_role": ["site_manager", "cs_supervisor"], "rung_limit": ["1h", ""]}, "rung-1-role", "高于上一级"),
    ({"rung_role": ["cs_supervisor", "head_office"], "rung_limit": ["4bh", ""]}, "rung-0-limit", "任何时刻"),
    ({"rung_role": ["cs_supervisor", "head_office"], "rung_limit": ["", ""]}, "rung-0-limit", "处理时间"),
    ({"rung_role": ["cs_supervisor", "head_office"], "rung_limit": ["1h", "2h"]}, "rung-1-limit", "最高一级没有时限"),
    ({"warning_at": "120"}, "warning_at", "1 到 99"),
    ({"effective_from": "tomorrow"}, "effective_from", None),
])
def test_gateway_console_sla_site_each_problem_is_marked_on_its_field(as_user, fake_rpc, over, field, zh):
    client = as_user()
    r = client.post("/settings/sla/site", data=form(client, **over))
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert f'id="f-{field}"' in html or field in ("hours",)
    assert f'aria-describedby="e-{field}"' in html or field == "hours"
    assert f'id="e-{field}"' in html
    if zh:
        assert zh in html, html[html.find(f'id="e-{field}"') - 200:][:600]
    assert not calls(fake_rpc, "save_sla_policy")


def test_gateway_console_sla_site_messages_in_english(as_user, fake_rpc):
    client = as_user()
    client.get("/settings/sla/site?lang=en")
    r = client.post("/settings/sla/site", data=form(client, hours_start=["12:00"], hours_end=["08:30"]))
    assert r.status_code == 422 and "The period must end after it starts." in r.get_data(as_text=True)


def test_gateway_console_sla_site_a_problem_only_workflow_finds_is_marked_too(as_user, fake_rpc, remote_error):
    client = as_user()
    fake_rpc.reply("workflow", "save_sla_policy", remote_error(
        "PolicyRejected", 422, "calendar_unavailable", field="effective_from", year=2027,
        problems=[{"path": "business_hours[1]", "line": None, "problem": "whatever workflow says"}]))
    r = client.post("/settings/sla/site", data=form(client))
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="e-hours-1-start"' in html and "whatever workflow says" in html
    assert "法定节假日历" in html


def test_gateway_console_sla_site_scope_a_manager_cannot_edit_another_estate_or_the_group(as_user, fake_rpc):
    client = as_user()
    csrf = token(client)
    for scope in ("estate:DEMO-OFFICE", "group", "region:EAST"):
        data = form(client) | {"csrf_token": csrf, "scope": scope}
        assert client.post("/settings/sla/site", data=data).status_code == 403
        r = client.post("/settings/sla/site/preview", data=data, headers={"X-CSRFToken": csrf})
        assert r.status_code == 403
    assert not calls(fake_rpc, "save_sla_policy") and not calls(fake_rpc, "preview_sla")


@pytest.mark.parametrize("user", ["agent@demo", "supervisor@demo"])  # the roles of /settings/sla (SETTINGS_ROLES)
def test_gateway_console_sla_site_other_roles_are_refused(as_user, user):
    assert as_user(user).get("/settings/sla/site").status_code == 403


def test_gateway_console_sla_site_group_admin_edits_the_group(as_user, fake_rpc):
    client = as_user("admin@demo")
    fake_rpc.reply("workflow", "get_sla_policy", in_force(own=None))
    fake_rpc.reply("workflow", "save_sla_policy", {"scope": "group", "version": 2,
                                                   "effective_from": "2026-11-24T02:00:00+00:00", "recomputed": [],
                                                   "unchanged": 0, "failed": []})
    html = client.get("/settings/sla/site?scope=group").get_data(as_text=True)
    assert 'id="set-calendar"' not in html  # the group sets every section
    data = form(client, "group", calendar="none", closure_date=["2031-01-02"], closure_reason=[""])
    assert client.post("/settings/sla/site", data=data).status_code == 302  # no calendar: any year
    [call] = calls(fake_rpc, "save_sla_policy")
    assert call["args"][0] == "group"
    assert call["args"][1]["severities"]["moderate"]["stages"][1] == {"name": "resolution", "limit": "5wd"}
    assert call["args"][1]["calendar"] == "none" and call["args"][1]["default_severity"] == "moderate"


def test_gateway_console_sla_site_preview_shows_now_and_after(as_user, fake_rpc):
    client = as_user()
    csrf = token(client)
    fake_rpc.reply("workflow", "preview_sla", lambda policy, *args: STAGES(
        "2026-12-01T17:30:00+08:00" if policy is None else "2026-12-01T18:00:00+08:00"))
    data = form(client) | {"csrf_token": csrf, "p_severity": "moderate", "p_received_at": "2026-11-24T10:00"}
    r = client.post("/settings/sla/site/preview", data=data, headers={"X-CSRFToken": csrf})
    assert r.status_code == 200, r.get_json()
    [stage] = r.get_json()["stages"]
    assert stage == {"name": "resolution", "label": "处理完成", "before_local": "2026-12-01 17:30",
                     "due_local": "2026-12-01 18:00", "changed": True, "explanation": "第 5 个工作日"}
    now, after = calls(fake_rpc, "preview_sla")
    assert now["args"] == (None, "2026-11-24T10:00:00+08:00", "moderate", None,
                           {"code": "DEMO-RES", "region": "EAST"}, None)
    assert after["args"][0]["business_hours"][1] == {"start": "13:30", "end": "18:00"}
    assert after["args"][-1] == "estate:DEMO-RES"


def test_gateway_console_sla_site_preview_marks_fields_as_json(as_user, fake_rpc):
    client = as_user()
    csrf = token(client)
    data = form(client, hours_start=["08:30", "11:00"], hours_end=["12:00", "17:30"]) | {
        "csrf_token": csrf, "p_severity": "moderate", "p_received_at": "2026-11-24T10:00"}
    r = client.post("/settings/sla/site/preview", data=data, headers={"X-CSRFToken": csrf})
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "validation_failed" and body["details"]["field"] == "hours-1-start"
    assert "重叠" in body["details"]["fields"]["hours-1-start"]
    assert not calls(fake_rpc, "preview_sla")
