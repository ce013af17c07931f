"""Case page actions (forms -> workflow.act with the page's version) and the estate scope of cases (404)."""
import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_TENANT, demo_id
from estatedesk_common.errors import Conflict, ValidationFailed
from nameko.exceptions import RemoteError

from test_gateway_console_pages import CSRF, complaint, console_login


def case(status="open", version=3, estate="DEMO-RES", **over):
    now = utcnow()
    body = {"status": status, "version": version, "estate": estate, "escalation_level": 0, "assignee": None,
            "cause": None, "remedy": None, "loss_amount": None,
            "deadlines": [{"stage": "first_contact", "due_at": (now + dt.timedelta(minutes=30)).isoformat(),
                           "met_at": None, "explanation": "受理后 60 分钟内首次联系业主"}],
            "timeline": [{"at": now.isoformat(), "kind": "case_opened", "actor": None, "text": "工单已建立"}]}
    body.update(over)
    return body


@pytest.fixture
def setup(client, fake_rpc):
    """A DEMO-RES complaint with its case, and a logged-in user; returns (client, complaint id, page html)."""
    def setup(username="agent@demo", estate="DEMO-RES", **case_over):
        body = complaint(received_at=(utcnow() - dt.timedelta(minutes=30)).isoformat())
        body["estate"] = body["estate"] | {"code": estate}
        fake_rpc.reply("intake", "get_complaint", body)
        fake_rpc.reply("workflow", "get_case", case(estate=estate, **case_over))
        fake_rpc.reply("notify", "get_timeline", [])
        assert console_login(client, username=username).status_code == 302
        response = client.get(f"/complaints/{body['id']}")
        return client, body["id"], response
    return setup


def post(client, cid, action, html, **data):
    token = CSRF.search(html).group(1)
    version = re.search(rf'action="/complaints/{cid}/actions/{action}".*?name="version" value="(\d+)"', html,
                        re.S).group(1)
    return client.post(f"/complaints/{cid}/actions/{action}", data={"csrf_token": token, "version": version,
                                                                    **data})


def acts(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "act"]


@pytest.mark.parametrize("action, form, sent", [
    ("contact", {"note": " 已致电业主 "}, {"note": "已致电业主"}),
    ("assign", {"assignee": "工程部 李工", "note": ""}, {"assignee": "工程部 李工"}),
    ("plan", {"note": "更换门机板，明早九点上门"}, {"note": "更换门机板，明早九点上门"}),
    ("progress", {"note": "配件已到，今天下午施工"}, {"note": "配件已到，今天下午施工"}),
    ("resolve", {"cause": "facility_fault", "remedy": "更换门机板", "loss_amount": "0", "note": ""},
     {"cause": "facility_fault", "remedy": "更换门机板", "loss_amount": 0.0}),
    ("cancel", {"reason": "业主撤回投诉"}, {"reason": "业主撤回投诉"}),
])
def test_gateway_console_actions_each_form_posts_act_with_the_page_version(setup, fake_rpc, action, form, sent):
    client, cid, page = setup()
    html = page.get_data(as_text=True)
    assert f'id="act-{action}"' in html
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "contacted", "version": 4, "stages_met": []})
    response = post(client, cid, action, html, **form)
    assert response.status_code == 302 and response.headers["Location"] == f"/complaints/{cid}"
    [call] = acts(fake_rpc)
    assert call["args"] == (cid, action, sent, 3)
    assert call["context"]["user_id"] == demo_id("user", "agent@demo")
    follow = client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert "已记录：" in follow  # the flash message after the redirect


def test_gateway_console_actions_offered_follow_the_status(setup):
    _, _, page = setup()
    html = page.get_data(as_text=True)
    for label in ("联系业主", "派单", "处理方案", "进展沟通", "办结", "撤销"):
        assert f"<summary>{label}</summary>" in html
    assert 'id="act-accept"' not in html
    for code, label in (("facility_fault", "设施设备故障"), ("developer_defect", "开发商遗留问题")):
        assert f'<option value="{code}">{label}</option>' in html
    assert "500 元及以上" in html and "不合格品" in html


def test_gateway_console_actions_resolved_case_offers_only_owner_acceptance(setup, fake_rpc):
    client, cid, page = setup(status="resolved", cause="facility_fault", remedy="更换门机板", loss_amount=800)
    html = page.get_data(as_text=True)
    assert re.findall(r'id="act-(\w+)"', html) == ["accept"] and "<summary>业主验收</summary>" in html
    assert "设施设备故障" in html and "需填写不合格品处理单" in html
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "closed", "version": 4, "stages_met": []})
    assert post(client, cid, "accept", html, note="").status_code == 302
    assert acts(fake_rpc)[0]["args"] == (cid, "accept", {}, 3)


@pytest.mark.parametrize("status", ["closed", "cancelled"])
def test_gateway_console_actions_finished_case_offers_none(setup, status):
    html = setup(status=status)[2].get_data(as_text=True)
    assert 'id="case-actions"' not in html


def test_gateway_console_actions_head_office_may_act_but_not_outside_a_role(setup):
    html = setup("hq@demo", estate="DEMO-NEW")[2].get_data(as_text=True)
    assert 'id="act-contact"' in html  # group roles see every estate


def test_gateway_console_actions_stale_version_keeps_the_input(setup, fake_rpc):
    client, cid, page = setup()
    fake_rpc.reply("workflow", "act", RemoteError("VersionConflict", str(Conflict(
        "changed", field="version", code="version_conflict", details={"current_version": 4}))))
    response = post(client, cid, "assign", page.get_data(as_text=True), assignee="保洁部 刘", note="请今天处理")
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "案件已被他人更新，请刷新后再操作" in html
    assert re.search(r'<details id="act-assign" open>', html)
    assert 'value="保洁部 刘"' in html and "请今天处理</textarea>" in html


def test_gateway_console_actions_missing_version_is_treated_as_stale(setup, fake_rpc):
    client, cid, page = setup()
    token = CSRF.search(page.get_data(as_text=True)).group(1)
    response = client.post(f"/complaints/{cid}/actions/contact", data={"csrf_token": token, "note": "x"})
    assert response.status_code == 409 and acts(fake_rpc) == []


@pytest.mark.parametrize("lang, message", [("zh_CN", "请填写处理方案"), ("en", "Write what was done or agreed")])
def test_gateway_console_actions_workflow_422_names_the_field_in_the_users_language(setup, fake_rpc, lang,
                                                                                      message):
    client, cid, page = setup()
    client.get(f"/login?lang={lang}")
    html = client.get(f"/complaints/{cid}").get_data(as_text=True)
    fake_rpc.reply("workflow", "act", RemoteError("ValidationFailed", str(ValidationFailed(
        "note is required", field="note"))))
    response = post(client, cid, "plan", html, note="  ")
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    if lang == "zh_CN":
        assert "请填写处理情况或约定事项" in body
    else:
        assert message in body
    assert re.search(r'<details id="act-plan" open>', body) and 'aria-invalid="true"' in body


@pytest.mark.parametrize("lang, message", [("zh_CN", "请填写业主损失金额"), ("en", "Enter the owner&#39;s loss in yuan")])
def test_gateway_console_actions_bad_loss_amount_is_refused_before_workflow(setup, fake_rpc, lang, message):
    client, cid, page = setup()
    client.get(f"/login?lang={lang}")
    html = client.get(f"/complaints/{cid}").get_data(as_text=True)
    response = post(client, cid, "resolve", html, cause="staff_fault_with_loss", remedy="赔偿", loss_amount="五百")
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and message in body and acts(fake_rpc) == []
    assert '<option value="staff_fault_with_loss" selected>' in body and 'value="五百"' in body


def test_gateway_console_actions_big_loss_flashes_the_nonconformity_rule(setup, fake_rpc):
    client, cid, page = setup()
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "resolved", "version": 4, "stages_met": []})
    post(client, cid, "resolve", page.get_data(as_text=True), cause="staff_fault_with_loss", remedy="赔偿并返工",
         loss_amount="800")
    assert acts(fake_rpc)[0]["args"][2]["loss_amount"] == 800.0
    assert "业主损失 800 元" in client.get(f"/complaints/{cid}").get_data(as_text=True)


def test_gateway_console_actions_action_refused_for_the_status_shows_a_message(setup, fake_rpc):
    client, cid, page = setup()
    fake_rpc.reply("workflow", "act", RemoteError("ValidationFailed", str(ValidationFailed(
        "the case is resolved", field="action"))))
    response = post(client, cid, "contact", page.get_data(as_text=True), note="")
    assert response.status_code == 422 and "案件当前状态下不能执行此操作" in response.get_data(as_text=True)


def test_gateway_console_actions_need_csrf(setup, fake_rpc):
    client, cid, _ = setup()
    response = client.post(f"/complaints/{cid}/actions/contact", data={"version": "3", "note": "x"})
    assert response.status_code == 400 and acts(fake_rpc) == []


# --- estate scope ------------------------------------------------------------------------------------------

def test_gateway_console_actions_case_page_outside_the_agents_estates_is_404(setup, fake_rpc):
    client, cid, response = setup(estate="DEMO-NEW")  # agent@demo works for DEMO-RES and DEMO-OFFICE
    assert response.status_code == 404 and "找不到该页面或投诉" in response.get_data(as_text=True)
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    fake_rpc.reply("workflow", "act", {"version": 4})
    posted = client.post(f"/complaints/{cid}/actions/contact", data={"csrf_token": token, "version": "3"})
    assert posted.status_code == 404 and acts(fake_rpc) == []


def test_gateway_console_actions_supervisor_of_another_estate_gets_404(setup):
    assert setup("supervisor@demo", estate="DEMO-OFFICE")[2].status_code == 404

@pytest.mark.parametrize("roles, estate, status", [
    ((("agent", "DEMO-RES"),), "DEMO-NEW", 404),
    ((("agent", "DEMO-RES"),), "DEMO-RES", 200),
    ((("site_manager", "DEMO-NEW"),), "DEMO-NEW", 200),
    ((("head_office", None),), "DEMO-NEW", 200),
    ((("agent", None),), "DEMO-RES", 404),  # a site role bound to no estate grants nothing
])
def test_gateway_console_actions_api_get_complaint_checks_the_estate(client, bearer, fake_rpc, roles, estate,
                                                                       status):
    body = complaint()
    body["estate"] = body["estate"] | {"code": estate}
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", case(estate=estate))
    fake_rpc.reply("notify", "get_timeline", [])
    response = client.get(f"/api/v1/complaints/{body['id']}", headers=bearer(roles=roles))
    assert response.status_code == status
    if status == 404:
        assert response.get_json()["error"] == "complaint_not_found"
        assert [c["method"] for c in fake_rpc.calls] == ["get_complaint"]


def test_gateway_console_actions_api_act_outside_the_scope_is_404(client, bearer, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("workflow", "get_case", case(estate="DEMO-NEW"))
    fake_rpc.reply("workflow", "act", {"version": 4})
    response = client.post(f"/api/v1/complaints/{cid}/actions", json={"action": "contact"},
                           headers=bearer(roles=(("agent", "DEMO-RES"),)) | {"If-Match": '"3"'})
    assert response.status_code == 404 and response.get_json()["error"] == "complaint_not_found"
    assert acts(fake_rpc) == []
    assert fake_rpc.calls[0]["context"]["tenant_id"] == DEMO_TENANT["id"]


WAITING = [{"record_id": str(uuid.uuid4()), "cause": "staff_fault_with_loss", "loss_amount": 800.0, "status": "open",
            "opened_at": "2026-11-24T02:00:00+00:00", "decided_by": None, "decided_at": None, "note": None}]


def test_gateway_console_actions_site_manager_decides_a_waiting_nonconformity_record(setup, fake_rpc):
    client, cid, page = setup("manager@demo", status="resolved", nonconformities=WAITING)
    html = page.get_data(as_text=True)
    assert 'id="act-decide_nonconformity"' in html and "业主损失 800.0 元" in html
    refused = post(client, cid, "decide_nonconformity", html, approve="no", note="")
    assert refused.status_code == 422 and "驳回须写明意见" in refused.get_data(as_text=True) and not acts(fake_rpc)
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "resolved", "version": 4, "stages_met": [],
                                       "nonconformity": {"status": "approved"}})
    assert post(client, cid, "decide_nonconformity", html, approve="yes", note="同意赔偿").status_code == 302
    [call] = acts(fake_rpc)
    assert call["args"][1:3] == ("decide_nonconformity", {"approve": True, "note": "同意赔偿"})


@pytest.mark.parametrize("username, records", [("agent@demo", WAITING), ("manager@demo", [WAITING[0] | {
    "status": "approved"}])])
def test_gateway_console_actions_no_decision_form_for_others_or_decided_records(setup, username, records):
    _client, _cid, page = setup(username, status="resolved", nonconformities=records)
    assert 'id="act-decide_nonconformity"' not in page.get_data(as_text=True)
