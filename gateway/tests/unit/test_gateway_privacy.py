"""Privacy masking (gateway/privacy.py): who sees a complainant's name, phone and e-mail, in lists, on the case
page and in the API; everything else masked the way the logs mask it."""
import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD

from gateway import privacy
from gateway.accounts import Principal

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def principal(*roles):
    return Principal("t", "u", tuple(roles))


@pytest.mark.parametrize("phone, masked", [("13812345678", "138****5678"), ("021-6234-5678", "021****5678"),
                                           ("12345", "****"), ("", ""), (None, None)])
def test_mask_phone(phone, masked):
    assert privacy.mask_phone(phone) == masked


@pytest.mark.parametrize("name, masked", [("周女士", "周**"), ("欧阳娜娜", "欧**"), ("王", "王**"),
                                          ("John Smith", "J**"), ("", ""), (None, None)])
def test_mask_name_shows_the_family_name_only(name, masked):
    assert privacy.mask_name(name) == masked


def test_mask_email_and_free_text():
    assert privacy.mask_email("zhou@example.com") == "z***@example.com"
    assert privacy.mask_text("请打13812345678或发zhou@example.com") == "请打138****5678或发z***@example.com"


@pytest.mark.parametrize("roles, estate, full", [
    ((("agent", "DEMO-RES"),), "DEMO-RES", True),
    ((("cs_supervisor", "DEMO-RES"),), "DEMO-RES", True),
    ((("site_manager", "DEMO-RES"),), "DEMO-RES", True),
    ((("site_manager", None),), "DEMO-NEW", True),               # a site role granted for every estate
    ((("agent", "DEMO-RES"),), "DEMO-NEW", False),               # another estate
    ((("head_office", None),), "DEMO-RES", False),
    ((("group_admin", None),), "DEMO-RES", False),
    ((("department_head", "DEMO-RES"),), "DEMO-RES", False),
    ((("committee_member", "DEMO-RES"),), "DEMO-RES", False),
    ((("department_head", "DEMO-RES"), ("cs_supervisor", "DEMO-RES")), "DEMO-RES", True),
    ((), "DEMO-RES", False),
])
def test_the_role_matrix(roles, estate, full):
    assert privacy.sees_contacts(principal(*roles), estate) is full


VIEW = {"id": "c1", "estate": {"code": "DEMO-RES"}, "description": "电梯坏了，回电13812345678",
        "complainant": {"name": "周女士", "phone": "13812345678", "email": "zhou@example.com", "unit": "A座1001"},
        "timeline": [{"at": "x", "kind": "email_reply", "actor": "zhou@example.com", "text": "我的电话13812345678"}]}


def test_a_view_is_masked_for_head_office_and_left_alone_for_the_estates_agent():
    masked = privacy.complaint_view(principal(("head_office", None)), VIEW)
    assert masked["complainant"] == {"name": "周**", "phone": "138****5678", "email": "z***@example.com",
                                     "unit": "A座1001"}
    assert "13812345678" not in str(masked) and "zhou@example.com" not in str(masked)
    assert VIEW["complainant"]["phone"] == "13812345678"  # the input is not changed
    assert privacy.complaint_view(principal(("agent", "DEMO-RES")), VIEW) is VIEW


def test_a_list_is_masked_row_by_row_by_estate():
    rows = {"total": 2, "items": [{"estate_code": "DEMO-RES", "complainant_name": "周女士"},
                                  {"estate_code": "DEMO-NEW", "complainant_name": "李先生"}]}
    shown = privacy.complaint_list(principal(("agent", "DEMO-RES")), rows)
    assert [i["complainant_name"] for i in shown["items"]] == ["周女士", "李**"] and shown["total"] == 2


def _item(estate="DEMO-RES"):
    return {"id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "status": "received", "estate_code": estate,
            "estate_name": "锦绣花园", "channel": "hotline", "category": None, "severity": None,
            "received_at": "2026-11-24T05:00:00+00:00", "complainant_name": "周女士"}


@pytest.mark.parametrize("roles, name", [((("head_office", None),), "周**"), ((("agent", "DEMO-RES"),), "周女士")])
def test_api_list_masks_by_role(client, bearer, fake_rpc, roles, name):
    fake_rpc.reply("intake", "list_complaints", {"total": 1, "items": [_item()]})
    response = client.get("/api/v1/complaints", headers=bearer(roles=roles))
    assert response.status_code == 200 and response.get_json()["items"][0]["complainant_name"] == name


def _complaint():
    return {"id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX", "status": "received",
            "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai"},
            "channel": "hotline", "category": None, "severity": None, "urgent": False,
            "description": "A座电梯经常停运", "received_at": "2026-11-24T05:00:00+00:00", "received_by": None,
            "complainant": {"name": "周女士", "phone": "13812345678", "email": "zhou@example.com", "unit": "A座1001"},
            "timeline": [], "repeat_of": {"complaint_id": str(uuid.uuid4()), "reference": "TS20261101-AAAAAA",
                                          "repeat_count": 1}}


@pytest.mark.parametrize("roles, phone", [((("head_office", None),), "138****5678"),
                                          ((("cs_supervisor", "DEMO-RES"),), "13812345678")])
def test_api_detail_masks_by_role_and_shows_the_repeat(client, bearer, fake_rpc, remote_error, roles, phone):
    body = _complaint()
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", [])
    data = client.get(f"/api/v1/complaints/{body['id']}", headers=bearer(roles=roles)).get_json()
    assert data["complainant"]["phone"] == phone
    assert data["repeat_of"]["reference"] == "TS20261101-AAAAAA"


def test_a_duplicate_answers_200_with_the_first_complaint(client, bearer, fake_rpc):
    first = _complaint() | {"duplicate": True, "merged_into": None}
    fake_rpc.reply("intake", "register_complaint", lambda data: first)
    response = client.post("/api/v1/complaints", headers=bearer(), json={
        "estate": "DEMO-RES", "description": "A座电梯经常停运", "external_id": "wx-1",
        "complainant": {"phone": "13812345678"}})
    assert response.status_code == 200 and response.get_json()["id"] == first["id"]
    assert fake_rpc.calls[0]["args"][0]["external_id"] == "wx-1"


def _login(client, username):
    token = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": DEMO_PASSWORD,
                                       "csrf_token": token}).status_code == 302


@pytest.mark.parametrize("username, shown, hidden", [("hq@demo", "周**", "周女士"), ("supervisor@demo", "周女士", "周**")])
def test_console_list_masks_by_role(client, fake_rpc, username, shown, hidden):
    fake_rpc.reply("intake", "list_complaints", {"total": 1, "items": [_item()]})
    fake_rpc.reply("intake", "list_estates", [])
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})
    _login(client, username)
    html = client.get("/complaints").get_data(as_text=True)
    assert shown in html and hidden not in html


@pytest.mark.parametrize("username, masked", [("hq@demo", True), ("agent@demo", False)])
def test_console_case_page_masks_by_role_and_links_the_repeat(client, fake_rpc, remote_error, username, masked):
    body = _complaint()
    fake_rpc.reply("intake", "get_complaint", body)
    fake_rpc.reply("workflow", "get_case", remote_error("CaseNotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", [])
    _login(client, username)
    html = client.get(f"/complaints/{body['id']}").get_data(as_text=True)
    assert ("138****5678" in html) is masked and ("13812345678" in html) is not masked
    assert ("zhou@example.com" in html) is not masked
    assert "TS20261101-AAAAAA" in html and "第 1 次重复" in html
