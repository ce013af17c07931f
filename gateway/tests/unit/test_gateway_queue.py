"""/queue and /escalations: workflow.list_cases with the filters, SLA colouring, roles; workflow status in lists."""
import datetime as dt
import re
import uuid

import pytest

from estatedesk_common.db import utcnow

from test_gateway_console_pages import ESTATES, console_login, item


def queue_item(due_in=dt.timedelta(minutes=50), received_ago=dt.timedelta(minutes=10), **over):
    now = utcnow()
    row = {"complaint_id": str(uuid.uuid4()), "reference": f"TS20261124-{uuid.uuid4().hex[:6].upper()}",
           "estate": "DEMO-RES", "estate_name": "锦绣花园", "timezone": "Asia/Shanghai", "channel": "hotline",
           "category": None, "severity": "moderate", "status": "open", "escalation_level": 0, "assignee": None,
           "version": 1, "received_at": (now - received_ago).isoformat(),
           "next_deadline": {"stage": "first_contact", "due_at": (now + due_in).isoformat()},
           "overdue": due_in < dt.timedelta(0)}
    row.update(over)
    return row


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)

    def as_user(username="supervisor@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def list_calls(fake_rpc):
    return [c for c in fake_rpc.calls if c["method"] == "list_cases"]


def test_gateway_queue_colours_rows_by_the_next_deadline(as_user, fake_rpc):
    rows = [queue_item(due_in=dt.timedelta(minutes=-5), received_ago=dt.timedelta(minutes=65)),
            queue_item(due_in=dt.timedelta(minutes=10), received_ago=dt.timedelta(minutes=50)),
            queue_item(due_in=dt.timedelta(minutes=50), received_ago=dt.timedelta(minutes=10)),
            queue_item(status="resolved", next_deadline=None)]
    fake_rpc.reply("workflow", "list_cases", {"total": 4, "items": rows})
    html = as_user().get("/queue").get_data(as_text=True)
    assert "案件队列" in html and "4 件案件" in html
    states = dict(re.findall(r'data-reference="([^"]+)" data-sla="(\w+)"', html))
    assert [states[r["reference"]] for r in rows] == ["overdue", "due_soon", "on_time", "none"]
    assert 'class="sla-overdue"' in html and ("已超时 5 分钟" in html or "已超时 4 分钟" in html)
    assert "首次联系业主" in html
    [call] = list_calls(fake_rpc)
    assert call["kwargs"] == {"estate": None, "status": "active", "overdue": False, "escalated": False,
                              "mine": False, "limit": 50, "offset": 0, "assignee_names": [],
                              "sort": "due_at", "order": "asc"}  # workflow's default: soonest deadline first
    assert call["context"]["roles"] == [["cs_supervisor", "DEMO-RES"]]  # workflow scopes by these


def test_gateway_queue_filters_pass_through_and_offer_only_estates_in_scope(as_user, fake_rpc):
    fake_rpc.reply("workflow", "list_cases", {"total": 120, "items": [queue_item()]})
    html = as_user("manager@demo").get("/queue?estate=DEMO-NEW&status=assigned&overdue=1&mine=1&page=2").get_data(
        as_text=True)
    [call] = list_calls(fake_rpc)
    assert call["kwargs"] == {"estate": "DEMO-NEW", "status": "assigned", "overdue": True, "escalated": False,
                              "mine": True, "limit": 50, "offset": 50,
                              "assignee_names": ["manager@demo"],  # routing assigns usernames
                              "sort": "due_at", "order": "asc"}
    options = re.findall(r'<option value="(DEMO-[A-Z]+)"', html)
    assert options == ["DEMO-RES", "DEMO-NEW"]  # not DEMO-OFFICE
    assert 'id="q-overdue" name="overdue" type="checkbox" value="1" checked' in html
    assert "第 2 页，共 3 页" in html and "overdue=1" in html and "mine=1" in html


def test_gateway_queue_ignores_estates_and_statuses_it_does_not_know(as_user, fake_rpc):
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})
    html = as_user().get("/queue?estate=DEMO-OFFICE&status=<x>&page=-3").get_data(as_text=True)
    [call] = list_calls(fake_rpc)
    assert call["kwargs"]["estate"] is None and call["kwargs"]["status"] == "active"
    assert call["kwargs"]["offset"] == 0 and "暂无案件" in html
    as_user().get("/queue?status=all")
    assert list_calls(fake_rpc)[-1]["kwargs"]["status"] is None


def test_gateway_queue_escalations_lists_escalated_cases(as_user, fake_rpc):
    fake_rpc.reply("workflow", "list_cases", {"total": 1, "items": [queue_item(
        escalation_level=2, assignee="工程部 李工", due_in=dt.timedelta(hours=-3), received_ago=dt.timedelta(hours=4))]})
    html = as_user().get("/escalations").get_data(as_text=True)
    assert "升级案件" in html and "第 2 级" in html and "工程部 李工" in html
    assert list_calls(fake_rpc)[0]["kwargs"]["escalated"] is True


@pytest.mark.parametrize("username, path, status", [
    ("agent@demo", "/queue", 200), ("agent@demo", "/escalations", 403),
    ("supervisor@demo", "/escalations", 200), ("manager@demo", "/escalations", 200),
    ("hq@demo", "/queue", 200),
])
def test_gateway_queue_roles(as_user, fake_rpc, username, path, status):
    fake_rpc.reply("workflow", "list_cases", {"total": 0, "items": []})
    assert as_user(username).get(path).status_code == status


def test_gateway_queue_needs_a_login(client):
    response = client.get("/queue")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_gateway_queue_nav_links_per_role(as_user, fake_rpc):
    fake_rpc.reply("intake", "list_complaints", {"total": 0, "items": []})
    html = as_user("supervisor@demo").get("/").get_data(as_text=True)
    assert 'href="/queue"' in html and 'href="/escalations"' in html
    html = as_user("agent@demo").get("/").get_data(as_text=True)
    assert 'href="/queue"' in html and 'href="/escalations"' not in html


def test_gateway_queue_complaint_list_shows_the_case_status_intake_listed(as_user, fake_rpc):
    """intake's rows carry the case's status (intake.case_status): the one it filtered and sorted on is shown,
    with no second look at workflow that could disagree with the order."""
    rows = [item(status="assigned"), item()]
    fake_rpc.reply("intake", "list_complaints", {"total": 2, "items": rows})
    html = as_user().get("/complaints").get_data(as_text=True)
    assert '<span class="badge status-assigned">已派单</span>' in html
    assert '<span class="badge status-received">已受理</span>' in html  # no case yet
    assert list_calls(fake_rpc) == []
