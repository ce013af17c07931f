"""Nonconformity and CAPA records and team workload: the API (/api/v1/nonconformities, /api/v1/capa) and the
console pages /quality (with the CAPA effectiveness check) and /workload — roles, estate scope, filters."""
import uuid

import pytest

from test_gateway_console_pages import CSRF, ESTATES, console_login

CASE_A, CASE_B = str(uuid.uuid4()), str(uuid.uuid4())
CAPA_RES, CAPA_NEW = str(uuid.uuid4()), str(uuid.uuid4())
RECORDS = [
    {"record_id": str(uuid.uuid4()), "complaint_id": CASE_B, "reference": "TS20261120-DONE01", "estate": "DEMO-RES",
     "cause": "facility_fault", "remedy": "修复", "loss_amount": 600, "status": "approved",
     "opened_at": "2026-11-21T02:00:00+00:00", "opened_by": "agent-1", "decided_by": "manager@demo",
     "decided_at": "2026-11-22T02:00:00+00:00", "note": ""},
    {"record_id": str(uuid.uuid4()), "complaint_id": CASE_A, "reference": "TS20261124-WAIT01", "estate": "DEMO-RES",
     "cause": "staff_fault_with_loss", "remedy": "赔偿", "loss_amount": 800, "status": "open",
     "opened_at": "2026-11-20T02:00:00+00:00", "opened_by": "agent-1", "decided_by": None, "decided_at": None,
     "note": None},
]


def capa(capa_id, estate, status="open", overdue=False):
    return {"capa_id": capa_id, "estate": estate, "cause": "facility_fault", "trigger": "nonconformity",
            "case_ids": [CASE_B], "owner": "manager@demo", "status": status, "opened_at": "2026-11-22T02:00:00+00:00",
            "due_at": "2026-12-22T02:00:00+00:00", "overdue": overdue, "checked_at": None, "checked_by": None,
            "effective": None, "check_note": None, "closed_at": None}


CAPA = [capa(CAPA_RES, "DEMO-RES", overdue=True), capa(CAPA_NEW, "DEMO-NEW")]
WORKLOAD = {"as_of": "2026-11-24T02:00:00+00:00", "items": [
    {"estate": "DEMO-RES", "estate_name": "锦绣花园", "assignee": "wang", "open": 4, "overdue": 1, "due_24h": 2,
     "deferred": 1},
    {"estate": "DEMO-RES", "estate_name": "锦绣花园", "assignee": None, "open": 1, "overdue": 1, "due_24h": 0,
     "deferred": 0}]}


@pytest.fixture
def replies(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "list_nonconformities", lambda estate=None, status=None: {"items": [
        r for r in RECORDS if (not estate or r["estate"] == estate) and (not status or r["status"] == status)]})
    fake_rpc.reply("workflow", "list_capa", lambda estate=None, status=None: {"items": [
        c for c in CAPA if (not estate or c["estate"] == estate) and (not status or c["status"] == status)]})
    fake_rpc.reply("workflow", "team_workload", lambda estate=None: WORKLOAD)
    fake_rpc.reply("workflow", "check_capa", lambda capa_id, effective, note: capa(capa_id, "DEMO-RES") | {
        "status": "closed" if effective else "open"})
    return fake_rpc


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def bearer(login, username):
    return {"Authorization": f"Bearer {login(username).get_json()['access_token']}"}


def test_gateway_quality_api_lists_in_scope_and_validates_filters(client, login, replies):
    hq = bearer(login, "hq@demo")
    found = client.get("/api/v1/nonconformities?status=open", headers=hq)
    assert found.status_code == 200 and [r["reference"] for r in found.get_json()["items"]] == ["TS20261124-WAIT01"]
    assert calls(replies, "list_nonconformities")[-1]["args"] == (None, "open")
    assert client.get("/api/v1/capa?estate=DEMO-NEW", headers=hq).get_json()["items"][0]["capa_id"] == CAPA_NEW
    manager = bearer(login, "manager@demo")  # site manager of DEMO-RES and DEMO-NEW
    assert client.get("/api/v1/capa?estate=DEMO-OFFICE", headers=manager).status_code == 404  # not theirs
    assert client.get("/api/v1/capa?estate=DEMO-RES", headers=manager).status_code == 200
    context = calls(replies, "list_capa")[-1]["context"]
    assert ["site_manager", "DEMO-RES"] in context["roles"]  # workflow scopes by the caller's roles
    bad = client.get("/api/v1/nonconformities?status=pending", headers=manager)
    assert bad.status_code == 422 and bad.get_json()["details"]["field"] == "status"
    assert client.get("/api/v1/capa?status=open", headers=bearer(login, "agent@demo")).status_code == 403
    assert client.get("/api/v1/capa").status_code == 401


def test_gateway_quality_page_pending_first_with_case_links_and_filters(client, replies):
    assert console_login(client, "supervisor@demo").status_code == 302
    html = client.get("/quality").get_data(as_text=True)
    assert "不合格与纠正预防" in html and "不合格服务记录" in html and "纠正/预防措施" in html
    assert html.index("TS20261124-WAIT01") < html.index("TS20261120-DONE01")  # pending first
    assert f'href="/complaints/{CASE_A}"' in html and "待项目经理审批" in html and "打开案件审批" in html
    assert "记录效果验证" not in html  # a supervisor sees CAPA, the check is the site manager's
    assert 'value="DEMO-OFFICE"' not in html and 'value="DEMO-RES"' in html  # estates in scope only
    assert calls(replies, "list_capa")[-1]["args"] == (None, "open")  # open CAPA by default
    client.get("/quality?estate=DEMO-RES&nc_status=approved&capa_status=all")
    assert calls(replies, "list_nonconformities")[-1]["args"] == ("DEMO-RES", "approved")
    assert calls(replies, "list_capa")[-1]["args"] == ("DEMO-RES", None)
    client.get("/quality?estate=DEMO-OFFICE&nc_status=bogus")  # outside the scope / unknown: dropped
    assert calls(replies, "list_nonconformities")[-1]["args"] == (None, None)


@pytest.mark.parametrize("username, status", [("agent@demo", 403), ("committee@demo", 403),
                                              ("hq@demo", 200), ("admin@demo", 200), ("manager@demo", 200)])
def test_gateway_quality_pages_roles(client, replies, username, status):
    assert console_login(client, username).status_code == 302
    assert client.get("/quality").status_code == status
    assert client.get("/workload").status_code == status
    nav = client.get("/").get_data(as_text=True)
    assert ('href="/quality"' in nav and 'href="/workload"' in nav) == (status == 200)


def _token(client):
    return CSRF.search(client.get("/quality").get_data(as_text=True)).group(1)


def test_gateway_quality_capa_check_by_the_site_manager(client, replies):
    assert console_login(client, "manager@demo").status_code == 302
    html = client.get("/quality").get_data(as_text=True)
    assert html.count("记录效果验证") == 2 and f"/quality/capa/{CAPA_RES}/check" in html
    token = _token(client)
    no_note = client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "effective": "no"})
    assert no_note.status_code == 422 and "请说明尚未有效的原因" in no_note.get_data(as_text=True)
    missing = client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "note": "x"})
    assert missing.status_code == 422 and "请选择措施是否有效" in missing.get_data(as_text=True)
    assert not calls(replies, "check_capa")
    assert client.post(f"/quality/capa/{CAPA_RES}/check", data={"effective": "yes"}).status_code == 400  # CSRF
    done = client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "effective": "yes"})
    assert done.status_code == 302 and calls(replies, "check_capa")[-1]["args"] == (CAPA_RES, True, "")
    assert "措施有效" in client.get("/quality").get_data(as_text=True)
    again = client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "effective": "no",
                                                                  "note": " 仍有漏水 "})
    assert again.status_code == 302 and calls(replies, "check_capa")[-1]["args"] == (CAPA_RES, False, "仍有漏水")
    assert client.post("/quality/capa/not-a-uuid/check", data={"csrf_token": token, "effective": "yes"}
                       ).status_code == 404


def test_gateway_quality_capa_check_refusals(client, replies, remote_error):
    assert console_login(client, "supervisor@demo").status_code == 302  # reads the lists, never checks
    assert client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": _token(client), "effective": "yes"}
                       ).status_code == 403 and not calls(replies, "check_capa")
    client.post("/logout", data={"csrf_token": _token(client)})
    assert console_login(client, "manager@demo").status_code == 302
    token = _token(client)
    replies.reply("workflow", "check_capa", remote_error("QualityForbidden", 403, "nonconformity_not_allowed"))
    assert client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "effective": "yes"}
                       ).status_code == 403
    replies.reply("workflow", "check_capa", remote_error("CapaNotFound", 404, "capa_not_found", field="id"))
    assert client.post(f"/quality/capa/{uuid.uuid4()}/check", data={"csrf_token": token, "effective": "yes"}
                       ).status_code == 404
    replies.reply("workflow", "check_capa", remote_error("ValidationFailed", 422, "validation_failed", field="id"))
    closed = client.post(f"/quality/capa/{CAPA_RES}/check", data={"csrf_token": token, "effective": "yes"})
    assert closed.status_code == 422 and "该纠正/预防措施记录已关闭" in closed.get_data(as_text=True)


def test_gateway_workload_page_per_estate_and_assignee(client, replies):
    assert console_login(client, "manager@demo").status_code == 302
    html = client.get("/workload").get_data(as_text=True)
    assert "团队工作量" in html and 'id="workload-DEMO-RES"' in html and "未分派" in html
    assert "滨江新城" in html and "暂无未完成案件" in html  # the manager's other estate, empty
    assert "环球金融中心" not in html
    assert 'data-assignee="wang"' in html and "24 小时内到期" in html
    assert calls(replies, "team_workload")[-1]["args"] == (None,)
    client.get("/workload?estate=DEMO-RES")
    assert calls(replies, "team_workload")[-1]["args"] == ("DEMO-RES",)
    client.get("/workload?estate=DEMO-OFFICE")  # not theirs: every estate in scope instead
    assert calls(replies, "team_workload")[-1]["args"] == (None,)
