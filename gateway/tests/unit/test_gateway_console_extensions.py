"""Extensions (延期) on the case page and the 延期审批 inbox: forms -> workflow.act, refusals rendered nicely."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.db import utcnow
from estatedesk_common.demo import demo_id

from test_gateway_console_actions import case
from test_gateway_console_pages import CSRF, complaint, console_login

AGENT = demo_id("user", "agent@demo")


def deadlines(now):
    return [{"stage": "first_contact", "due_at": (now + dt.timedelta(minutes=30)).isoformat(), "met_at": None,
             "explanation": "受理后 60 分钟内首次联系业主"},
            {"stage": "resolution", "due_at": "2026-12-01T09:00:00+00:00", "met_at": None,
             "explanation": "3 个工作日内办结", "original_due_at": None}]


def pending(**over):
    row = {"request": 1, "stage": "resolution", "status": "pending", "due_at": "2026-12-01T09:00:00+00:00",
           "new_due_at": "2026-12-04T09:00:00+00:00", "reason": "等待厂家配件", "requested_by": AGENT,
           "requested_at": "2026-11-25T01:00:00+00:00", "decided_by": None, "decided_at": None, "note": None}
    row.update(over)
    return row


@pytest.fixture
def setup(client, fake_rpc):
    def setup(username="agent@demo", estate="DEMO-RES", **case_over):
        body = complaint(received_at=(utcnow() - dt.timedelta(minutes=30)).isoformat())
        body["estate"] = body["estate"] | {"code": estate}
        fake_rpc.reply("intake", "get_complaint", body)
        fake_rpc.reply("workflow", "get_case", case(estate=estate, **({"deadlines": deadlines(utcnow())} | case_over)))
        fake_rpc.reply("notify", "get_timeline", [])
        assert console_login(client, username=username).status_code == 302
        response = client.get(f"/complaints/{body['id']}")
        return client, body["id"], response.get_data(as_text=True)
    return setup


def acts(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "act"]


def test_gateway_console_extensions_agent_requests_in_estate_time(setup, fake_rpc):
    client, cid, html = setup()
    assert "申请延期" in html and 'name="new_due_at"' in html and "批准延期" not in html
    fake_rpc.reply("workflow", "act", {"version": 4})
    r = client.post(f"/complaints/{cid}/extensions/request", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "resolution",
        "new_due_at": "2026-12-04T18:00", "reason": " 等待厂家配件 "})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/complaints/{cid}#extensions")
    [call] = acts(fake_rpc)
    assert call["args"] == (cid, "request_extension", {"stage": "resolution",
                                                       "new_due_at": "2026-12-04T18:00:00+08:00",
                                                       "reason": "等待厂家配件"}, 3)


def test_gateway_console_extensions_bad_input_is_refused_before_workflow(setup, fake_rpc):
    client, cid, html = setup()
    r = client.post(f"/complaints/{cid}/extensions/request", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "resolution", "new_due_at": "明天",
        "reason": ""})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and not acts(fake_rpc)
    assert "请填写新的截止时间" in page and "请填写延期理由" in page and "act-request_extension\" open" in page


def test_gateway_console_extensions_supervisor_sees_pending_and_approves(setup, fake_rpc):
    client, cid, html = setup("supervisor@demo", extensions=[pending()])
    assert "待审批" in html and "等待厂家配件" in html and "客服专员 张" in html
    assert "批准延期" in html and "驳回延期" in html
    fake_rpc.reply("workflow", "act", {"version": 4})
    r = client.post(f"/complaints/{cid}/extensions/decide", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "resolution", "decision": "approve",
        "note": "同意"})
    assert r.status_code == 302
    [call] = acts(fake_rpc)
    assert call["args"] == (cid, "decide_extension", {"approve": True, "note": "同意", "stage": "resolution"}, 3)


def test_gateway_console_extensions_requester_is_not_offered_the_decision(setup):
    _client, _cid, html = setup("agent@demo", extensions=[pending()])
    assert "这是您提交的延期申请" in html and "批准延期" not in html


def test_gateway_console_extensions_reject_needs_a_note(setup, fake_rpc):
    client, cid, html = setup("supervisor@demo", extensions=[pending()])
    r = client.post(f"/complaints/{cid}/extensions/decide", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "decision": "reject", "note": ""})
    assert r.status_code == 422 and "驳回时必填" in r.get_data(as_text=True) and not acts(fake_rpc)


@pytest.mark.parametrize("error, status, text", [
    (("Forbidden", 403, "extension_not_allowed"), 403, "延期须由上一级审批"),
    (("Forbidden", 403, "extension_needs_higher_approval"), 403, "审批权限"),  # with the rung that decides
    (("Conflict", 409, "version_conflict"), 409, "案件已被他人更新"),
    (("ValidationFailed", 422, "validation_failed"), 422, "请填写新的截止时间"),
])
def test_gateway_console_extensions_workflow_refusals_are_rendered(setup, fake_rpc, remote_error, error, status,
                                                                   text):
    client, cid, html = setup("supervisor@demo", extensions=[pending()])
    fake_rpc.reply("workflow", "act", remote_error(*error, field="new_due_at"))
    r = client.post(f"/complaints/{cid}/extensions/request", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "first_contact",
        "new_due_at": "2026-12-04T18:00", "reason": "业主出差"})
    assert r.status_code == status and text in r.get_data(as_text=True)


def test_gateway_console_extensions_beyond_the_rung_names_who_decides(setup, fake_rpc, remote_error):
    client, cid, html = setup("supervisor@demo", extensions=[pending()])
    fake_rpc.reply("workflow", "act", remote_error("Forbidden", 403, "extension_needs_higher_approval",
                                                   required_role="site_manager", max="2wd"))
    r = client.post(f"/complaints/{cid}/extensions/request", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "first_contact",
        "new_due_at": "2026-12-04T18:00", "reason": "业主出差"})
    assert r.status_code == 403 and "须由项目经理或更高一级审批" in r.get_data(as_text=True)


def test_gateway_console_extensions_case_page_shows_original_due(setup):
    now = utcnow()
    moved = deadlines(now)
    moved[1] |= {"due_at": "2026-12-04T09:00:00+00:00", "original_due_at": "2026-12-01T09:00:00+00:00"}
    _client, _cid, html = setup("supervisor@demo", deadlines=moved,
                                extensions=[pending(status="approved", decided_by=demo_id("user", "supervisor@demo"),
                                                    decided_at="2026-11-25T02:00:00+00:00", note="同意")])
    assert "已延期：原定时限 2026-12-01 17:00" in html and "2026-12-04 17:00" in html
    assert "已批准" in html and "客服主管 李" in html


def test_gateway_console_extensions_outside_the_estate_is_404(setup, fake_rpc):
    client, cid, html = setup("supervisor@demo")
    body = complaint(id=cid)
    body["estate"] = body["estate"] | {"code": "DEMO-OFFICE"}
    fake_rpc.reply("intake", "get_complaint", body)
    r = client.post(f"/complaints/{cid}/extensions/request", data={
        "csrf_token": CSRF.search(html).group(1), "version": "3", "stage": "resolution",
        "new_due_at": "2026-12-04T18:00", "reason": "x"})
    assert r.status_code == 404 and not acts(fake_rpc)


def test_gateway_console_extensions_need_csrf(setup, fake_rpc):
    client, cid, _html = setup()
    r = client.post(f"/complaints/{cid}/extensions/request", data={"version": "3", "stage": "resolution",
                                                                  "new_due_at": "2026-12-04T18:00", "reason": "x"})
    assert r.status_code == 400 and not acts(fake_rpc)


def inbox_item(**over):
    row = {"complaint_id": str(uuid.uuid4()), "reference": "TS20261124-EXT001", "estate": "DEMO-RES",
           "estate_name": "锦绣花园", "timezone": "Asia/Shanghai", "status": "open", "version": 5,
           "received_at": "2026-11-24T01:00:00+00:00", "pending_extensions": [pending()]}
    row.update(over)
    return row


def test_gateway_console_extensions_inbox_lists_pending_requests_in_scope(client, fake_rpc):
    fake_rpc.reply("workflow", "list_cases", {"total": 1, "items": [inbox_item()]})
    assert console_login(client, username="supervisor@demo").status_code == 302
    html = client.get("/extensions").get_data(as_text=True)
    assert "延期审批" in html and "TS20261124-EXT001" in html and "等待厂家配件" in html
    assert "2026-12-04 17:00" in html and 'name="next" value="inbox"' in html and 'value="5"' in html
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_cases"]
    assert call["kwargs"] == {"status": "active", "extension_pending": True, "limit": 50, "offset": 0,
                              "sort": "extension_requested_at", "order": "asc"}  # oldest request first, in the query
    assert call["context"]["roles"] == [["cs_supervisor", "DEMO-RES"]]


def test_gateway_console_extensions_inbox_decision_returns_to_the_inbox(client, fake_rpc):
    row = inbox_item()
    fake_rpc.reply("workflow", "list_cases", {"total": 1, "items": [row]})
    fake_rpc.reply("workflow", "get_case", case())
    fake_rpc.reply("workflow", "act", {"version": 6})
    assert console_login(client, username="supervisor@demo").status_code == 302
    html = client.get("/extensions").get_data(as_text=True)
    r = client.post(f"/complaints/{row['complaint_id']}/extensions/decide", data={
        "csrf_token": CSRF.search(html).group(1), "version": "5", "stage": "resolution", "decision": "approve",
        "note": "", "next": "inbox"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/extensions")


@pytest.mark.parametrize("user, status", [("agent@demo", 403), ("committee@demo", 403), ("hq@demo", 200)])
def test_gateway_console_extensions_inbox_roles(client, fake_rpc, user, status):
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})
    assert console_login(client, username=user).status_code == 302
    r = client.get("/extensions")
    assert r.status_code == status
    if status == 200:
        assert "没有待审批的延期申请" in r.get_data(as_text=True)
