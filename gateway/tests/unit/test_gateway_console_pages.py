"""Console pages rendered with a fake RPC: home per role, recording form, case page, list, owner status."""
import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.db import utcnow
from estatedesk_common.demo import DEMO_PASSWORD, DEMO_TENANT, OTHER_TENANT, demo_id

from gateway import labels

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path="/login") -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def console_login(client, username="agent@demo", password=DEMO_PASSWORD):
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_of(client)})

ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-NEW", "name": "滨江新城", "kind": "handover", "timezone": "Asia/Shanghai", "region": "EAST"}]


def item(**over):
    row = {"id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "status": "received", "estate_code": "DEMO-RES",
           "estate_name": "锦绣花园", "channel": "hotline", "category": None, "severity": None,
           "received_at": "2026-11-24T05:00:00+00:00", "complainant_name": "周女士"}
    row.update(over)
    return row


def complaint(**over):
    body = {"id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "status": "received",
            "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                       "region": "EAST"},
            "channel": "hotline", "category": None, "severity": None, "urgent": False,
            "description": "A座电梯经常停运", "complainant": {"name": "周女士", "phone": "13812345678",
                                                         "email": "zhou@example.com", "unit": "A座1001"},
            "received_at": "2026-11-24T05:00:00+00:00", "received_by": demo_id("user", "agent@demo"),
            "timeline": [{"at": "2026-11-24T05:00:00+00:00", "kind": "complaint_received",
                          "actor": demo_id("user", "agent@demo"), "text": "经客服热线受理，编号 TS20261124-7KQ2MX"}]}
    body.update(over)
    return body


def case(due_at, received_at="2026-11-24T05:00:00+00:00", met_at=None):
    return {"status": "open", "deadlines": [{"stage": "first_contact", "due_at": due_at, "met_at": met_at,
                                             "explanation": "集团默认时限：受理后 60 分钟内首次联系业主"}],
            "timeline": [{"at": (dt.datetime.fromisoformat(received_at) + dt.timedelta(seconds=1)).isoformat(),
                          "kind": "case_opened", "actor": None, "text": "工单已建立"}]}


@pytest.fixture
def as_user(client):
    def as_user(username="agent@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def test_agent_home_lists_my_complaints_and_offers_the_form(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 1, "items": [item()]})
    html = as_user().get("/").get_data(as_text=True)
    assert "我最近登记的投诉" in html and "登记投诉" in html and "TS20261124-7KQ2MX" in html and "客服热线" in html
    (call,) = fake_rpc.calls
    assert call["kwargs"] == {"limit": 10, "mine": True}
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert call["context"]["user_id"] == demo_id("user", "agent@demo")


def test_manager_home_shows_the_queue_of_each_estate(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", lambda estate, *_: {"total": 1, "items": [item(estate_code=estate)]})
    html = as_user("manager@demo").get("/").get_data(as_text=True)
    assert "项目待办：DEMO-NEW" in html and "项目待办：DEMO-RES" in html
    assert [c["args"][0] for c in fake_rpc.calls] == ["DEMO-NEW", "DEMO-RES"]
    assert "登记投诉" not in html  # not an agent


def test_head_office_home_shows_counts_per_estate(as_user, fake_rpc):
    fake_rpc.reply("reporting", "complaint_counts", {"total": 7, "rows": [
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "hotline", "count": 2},
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "web", "count": 4},
        {"estate": "DEMO-OFFICE", "estate_name": "环球金融中心", "channel": "web", "count": 1}]})
    html = as_user("hq@demo").get("/").get_data(as_text=True)
    assert "各项目投诉量" in html and "合计 7 件" in html
    row = re.search(r"锦绣花园.*?</tr>", html, re.S).group(0)
    assert [int(n) for n in re.findall(r'class="num">(?:<strong>)?(\d+)', row)] == [2, 4, 6]


def test_new_complaint_form_lists_only_the_agents_estates(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    html = as_user().get("/complaints/new").get_data(as_text=True)
    assert 'value="DEMO-RES"' in html and 'value="DEMO-OFFICE"' in html and 'value="DEMO-NEW"' not in html
    for channel in ("客服热线", "现场接待", "信函", "投诉箱"):
        assert channel in html
    assert '<label for="f-phone">' in html and '<label for="f-description">' in html


def test_only_agents_record_complaints(as_user, fake_rpc):
    assert as_user("hq@demo").get("/complaints/new").status_code == 403


def test_recording_posts_through_intake_and_redirects_to_the_case(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    created = complaint()
    fake_rpc.reply("intake", "register_complaint", created)
    client = as_user()
    response = client.post("/complaints/new", data={
        "csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-RES", "channel": "hotline",
        "name": " 周女士 ", "phone": "13812345678", "email": "", "unit": "A座1001",
        "description": "A座电梯经常停运", "urgent": "on"})
    assert response.status_code == 302 and response.headers["Location"] == f"/complaints/{created['id']}"
    call = [c for c in fake_rpc.calls if c["method"] == "register_complaint"][0]
    assert call["args"][0] == {"estate": "DEMO-RES", "channel": "hotline", "description": "A座电梯经常停运",
                               "urgent": True, "category": None, "severity": None,
                               "complainant": {"name": "周女士", "phone": "13812345678", "email": None,
                                               "unit": "A座1001"}}
    assert call["context"]["user_id"] == demo_id("user", "agent@demo")


@pytest.mark.parametrize("lang, expected", [("zh_CN", ["请填写投诉内容", "请填写有效的电话号码"]),
                                            ("en", ["Describe the complaint", "Enter a valid phone number"])])
def test_bad_form_keeps_the_input_and_explains_in_the_users_language(as_user, fake_rpc, lang, expected):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    client = as_user()
    client.get(f"/login?lang={lang}")
    response = client.post("/complaints/new", data={
        "csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-RES", "channel": "walk_in",
        "name": "周女士", "phone": "12", "unit": "A座1001", "description": "   "})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for text in expected:
        assert text in html
    assert 'value="周女士"' in html and 'value="A座1001"' in html and 'value="12"' in html
    assert re.search(r'<option value="walk_in" selected>', html) and re.search(r'value="DEMO-RES" selected', html)
    assert 'aria-invalid="true"' in html
    assert not [c for c in fake_rpc.calls if c["method"] == "register_complaint"]


def test_estate_outside_the_agents_scope_is_refused(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    client = as_user()
    response = client.post("/complaints/new", data={
        "csrf_token": csrf_of(client, "/complaints/new"), "estate": "DEMO-NEW", "channel": "hotline",
        "phone": "13812345678", "description": "漏水"})
    assert response.status_code == 422 and "请选择项目" in response.get_data(as_text=True)
    assert not [c for c in fake_rpc.calls if c["method"] == "register_complaint"]


def _case_page(as_user, fake_rpc, due_in: dt.timedelta, received_ago=dt.timedelta(minutes=60), **over):
    now = utcnow()
    body = complaint(received_at=(now - received_ago).isoformat(), **over)
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", case((now + due_in).isoformat(), body["received_at"]))
    fake_rpc.reply("notify", "get_timeline", [{"at": (now - received_ago + dt.timedelta(seconds=5)).isoformat(),
                                               "kind": "notification_sent", "actor": None,
                                               "text": "已发送受理确认邮件"}])
    return as_user().get(f"/complaints/{body['id']}").get_data(as_text=True)


def test_case_page_shows_status_deadline_with_explanation_and_merged_timeline(as_user, fake_rpc):
    html = _case_page(as_user, fake_rpc, due_in=dt.timedelta(minutes=40), received_ago=dt.timedelta(minutes=20))
    assert "TS20261124-7KQ2MX" in html and "处理中" in html and "锦绣花园" in html and "客服热线" in html
    assert "首次联系业主" in html and "集团默认时限：受理后 60 分钟内首次联系业主" in html
    assert 'class="deadline state-on_time"' in html and ("剩余 39 分钟" in html or "剩余 40 分钟" in html)
    kinds = re.findall(r'<li data-kind="(\w+)"', html)
    assert kinds == ["complaint_received", "case_opened", "notification_sent"]
    assert "客服专员 张" in html  # actor by display name, as in the API
    assert "13812345678" in html


@pytest.mark.parametrize("due_in, received_ago, state", [
    (dt.timedelta(minutes=10), dt.timedelta(minutes=50), "due_soon"),
    (dt.timedelta(minutes=-5), dt.timedelta(minutes=65), "overdue"),
])
def test_deadline_colour_follows_the_time_left(as_user, fake_rpc, due_in, received_ago, state):
    html = _case_page(as_user, fake_rpc, due_in=due_in, received_ago=received_ago)
    assert f'class="deadline state-{state}"' in html
    if state == "overdue":
        assert "已超时 5 分钟" in html or "已超时 4 分钟" in html


def test_deadline_shown_in_the_estates_time_zone(as_user, fake_rpc):
    body = complaint(received_at="2026-11-24T05:00:00+00:00")
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", case("2026-11-24T06:00:00+00:00"))
    fake_rpc.reply("notify", "get_timeline", [])
    html = as_user().get(f"/complaints/{body['id']}").get_data(as_text=True)
    assert "2026-11-24 14:00" in html and "2026-11-24 13:00" in html  # 06:00Z / 05:00Z in Asia/Shanghai


def test_description_with_script_is_escaped(as_user, fake_rpc):
    html = _case_page(as_user, fake_rpc, due_in=dt.timedelta(minutes=30),
                      description='<script>alert("x")</script><img src=x onerror=alert(1)>')
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html


def test_case_of_another_tenant_or_bad_id_is_not_found(as_user, fake_rpc, remote_error):
    fake_rpc.reply("intake", "get_complaint", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    client = as_user()
    response = client.get(f"/complaints/{uuid.uuid4()}")
    assert response.status_code == 404 and "找不到该页面或投诉" in response.get_data(as_text=True)
    assert client.get("/complaints/../../etc").status_code == 404


def test_case_page_before_the_case_is_opened_refreshes_itself(as_user, fake_rpc, remote_error):
    body = complaint(received_at=utcnow().isoformat())
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", [])
    html = as_user().get(f"/complaints/{body['id']}").get_data(as_text=True)
    assert 'data-refresh="3"' in html and "工单正在建立" in html


def test_list_filters_and_pages(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 45, "items": [item() for _ in range(20)]})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})  # no cases yet: intake's status
    html = as_user("supervisor@demo").get(
        "/complaints?estate=DEMO-RES&status=received&channel=hotline&page=2").get_data(as_text=True)
    call = [c for c in fake_rpc.calls if c["method"] == "list_complaints"][0]
    assert call["args"] == ("DEMO-RES", "received", "hotline", 20, 20, False, "received_at", "desc")
    assert "第 2 页，共 3 页" in html and "page=1" in html and "page=3" in html
    assert '<span class="badge status-received">已受理</span>' in html and "受理时间" in html
    assert re.search(r'value="hotline" selected', html)


def test_list_ignores_unknown_channel_and_bad_page(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    as_user().get("/complaints?channel=<x>&page=abc")
    call = [c for c in fake_rpc.calls if c["method"] == "list_complaints"][0]
    assert call["args"] == (None, None, None, 20, 0, False, "received_at", "desc")


@pytest.mark.parametrize("status", ["in_progress", "resolved", "received", "deferred"])
def test_list_filters_by_the_case_status_in_intake(as_user, fake_rpc, status):
    """The filter is the case's status, applied in intake's query before paging: the page asks for it and shows
    the rows intake found with it."""
    fake_rpc.reply("intake", "list_complaints", {"total": 21, "items": [item(status=status) for _ in range(20)]})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    html = as_user("supervisor@demo").get(f"/complaints?status={status}&page=2&sort=status&order=desc"
                                          ).get_data(as_text=True)
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_complaints"]
    assert call["args"] == (None, status, None, 20, 20, False, "status", "desc")
    assert not [c for c in fake_rpc.calls if c["service"] == "workflow"]  # no per-page filtering in the gateway
    assert html.count(f'class="badge status-{status}"') == 20 and "第 2 页，共 2 页" in html
    assert re.search(rf'<option value="{status}" selected>', html)


def test_list_status_choices_are_the_documented_set(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    html = as_user("supervisor@demo").get("/complaints").get_data(as_text=True)
    select = re.search(r'<select id="q-status" name="status">(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', select) == ["", *labels.COMPLAINT_STATUSES]
    assert labels.COMPLAINT_STATUSES == ("received", "open", "assigned", "contacted", "in_progress", "deferred",
                                         "resolved", "callback", "closed", "cancelled")  # intake.case_status
    assert ">已受理</option>" in select and ">处理中</option>" in select  # labels in the user's language


@pytest.mark.parametrize("status", ["invalid", "<x>", "x" * 100])
def test_list_ignores_a_status_outside_the_set(as_user, fake_rpc, status):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    fake_rpc.reply("intake", "list_estates", ESTATES)
    assert as_user().get("/complaints", query_string={"status": status}).status_code == 200
    [call] = [c for c in fake_rpc.calls if c["method"] == "list_complaints"]
    assert call["args"][1] is None


def test_api_list_passes_the_status_filter_and_intake_refusal_is_a_400(client, auth_headers, fake_rpc,
                                                                       remote_error):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    assert client.get("/api/v1/complaints?status=in_progress", headers=auth_headers).status_code == 200
    assert fake_rpc.calls[-1]["kwargs"]["status"] == "in_progress"
    fake_rpc.reply("intake", "list_complaints", remote_error("InvalidFilter", 400, "invalid_filter", field="status",
                                                             allowed=list(labels.COMPLAINT_STATUSES)))
    r = client.get("/api/v1/complaints?status=done", headers=auth_headers | {"Accept-Language": "en"})
    body = r.get_json()
    assert r.status_code == 400 and body["error"] == "invalid_filter" and body["details"]["field"] == "status"
    assert body["details"]["allowed"] == list(labels.COMPLAINT_STATUSES)
    assert body["message"] == "Unsupported filter value: status (see details.allowed)"


def test_committee_member_and_unknown_roles_cannot_list(client, bearer, app, fake_rpc):
    assert console_login(client, "committee@demo", DEMO_PASSWORD).status_code == 302  # seeded demo user
    assert client.get("/complaints").status_code == 403
    home = client.get("/")  # a committee's home is what it forwarded (blueprints/console_committee.py)
    assert home.status_code == 302 and home.headers["Location"].endswith("/committee")


def test_api_list_passes_filters(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    response = client.get("/api/v1/complaints?estate=DEMO-RES&channel=web&limit=5&offset=10", headers=auth_headers)
    assert response.status_code == 200 and response.get_json() == {"total": 0, "items": []}
    assert fake_rpc.calls[0]["kwargs"] == {"estate": "DEMO-RES", "status": None, "channel": "web", "limit": 5,
                                           "offset": 10, "sort": None, "order": None}  # the service's default order


@pytest.mark.parametrize("query, field", [("limit=0", "limit"), ("limit=201", "limit"), ("offset=-1", "offset"),
                                          ("limit=ten", "limit")])
def test_api_list_refuses_bad_paging(client, auth_headers, fake_rpc, query, field):
    response = client.get(f"/api/v1/complaints?{query}", headers=auth_headers)
    assert response.status_code == 422 and response.get_json()["details"]["field"] == field
    assert fake_rpc.calls == []


def test_api_list_needs_a_token(client):
    assert client.get("/api/v1/complaints").status_code == 401


# --- owner status page ---------------------------------------------------------------------------------------

def test_owner_page_is_public_and_phone_friendly(client):
    html = client.get("/t/demo/status").get_data(as_text=True)
    assert "投诉进度查询" in html and "演示物业集团" in html and 'name="viewport"' in html
    assert client.get("/t/nope/status").status_code == 404


def _owner_post(client, slug="demo", reference="TS20261124-7KQ2MX", phone="13812345678"):
    token = csrf_of(client, f"/t/{slug}/status")
    return client.post(f"/t/{slug}/status", data={"csrf_token": token, "reference": reference, "phone": phone})


def test_owner_sees_status_and_timeline_with_the_tenant_from_the_slug(client, fake_rpc):
    body = complaint()
    fake_rpc.reply("intake", "find_by_reference", body)
    fake_rpc.reply("workflow", "get_case", case("2026-11-24T06:00:00+00:00"))
    fake_rpc.reply("notify", "get_timeline", [])
    response = _owner_post(client)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "处理中" in html and "工单已建立" in html and "锦绣花园" in html
    lookup = fake_rpc.calls[0]
    assert lookup["args"] == ("TS20261124-7KQ2MX", "13812345678")
    assert lookup["context"]["tenant_id"] == DEMO_TENANT["id"] and "user_id" not in lookup["context"]
    assert "客服专员 张" not in html and demo_id("user", "agent@demo") not in html  # no staff names
    assert "A座电梯经常停运" not in html  # status and timeline only


def test_owner_page_of_the_other_tenant_asks_the_other_tenant(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "find_by_reference", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    _owner_post(client, slug="other")
    assert fake_rpc.calls[0]["context"]["tenant_id"] == OTHER_TENANT["id"]


def test_wrong_phone_and_unknown_reference_answer_alike(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "find_by_reference", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    first = _owner_post(client, phone="13900000000")
    second = _owner_post(client, reference="TS20991231-ZZZZZZ")
    assert first.status_code == second.status_code == 404
    message = "未找到与该编号和电话号码相符的投诉"
    assert message in first.get_data(as_text=True) and message in second.get_data(as_text=True)


def test_owner_lookups_are_rate_limited_per_ip(client, fake_rpc, remote_error, app):
    fake_rpc.reply("intake", "find_by_reference", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    statuses = [_owner_post(client).status_code for _ in range(11)]
    assert statuses[:10] == [404] * 10 and statuses[10] == 429
    assert len(fake_rpc.calls) == 10
    assert client.get("/t/demo/status").status_code == 200  # reading the form is not limited


def test_owner_page_ignores_a_staff_session_of_another_tenant(client, fake_rpc, remote_error):
    fake_rpc.reply("intake", "find_by_reference", remote_error("ComplaintNotFound", 404, "complaint_not_found"))
    assert console_login(client, "hq@other").status_code == 302
    _owner_post(client, slug="demo")
    assert fake_rpc.calls[-1]["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert "user_id" not in fake_rpc.calls[-1]["context"]


def test_session_lasts_one_shift(client):
    response = console_login(client)
    expires = re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"]).group(1)
    lifetime = dt.datetime.strptime(expires, "%a, %d %b %Y %H:%M:%S GMT").replace(tzinfo=dt.timezone.utc) - utcnow()
    assert dt.timedelta(hours=7, minutes=59) < lifetime <= dt.timedelta(hours=8)

