"""Night shift and deferral at the gateway: GET/PUT /api/v1/duty-roster (roles, estate, people checked), the
defer/resume case actions on the API and the case page's defer form."""
import uuid

import pytest
from nameko.exceptions import RemoteError

from estatedesk_common.errors import ValidationFailed

from test_gateway_console_actions import acts, post, setup  # noqa: F401 (fixture)

ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "region": "EAST"}, {"code": "DEMO-NEW", "name": "滨江新城", "region": "EAST"}]
MANAGER = (("site_manager", "DEMO-RES"),)
ROSTER = {"estate": "DEMO-RES", "entries": [], "updated_at": None, "updated_by": None, "off_hours_now": True,
          "on_duty_now": None}
BODY = {"estate": "DEMO-RES", "entries": [{"person": "agent@demo", "post": "消防监控中心", "weekdays": [1, 2],
                                           "date_from": "2026-12-01"}]}


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "get_duty_roster", ROSTER)
    fake_rpc.reply("workflow", "save_duty_roster", {"estate": "DEMO-RES", "entries": []})
    return fake_rpc


def workflow_calls(rpc):
    """The workflow calls of the view (the audit's read of the value before a save left out: audit.SNAPSHOTS)."""
    return [c for c in rpc.calls if c["service"] == "workflow" and c["method"] not in ("get_sla_policy", "list_routing_rules", "get_duty_roster")]


def test_the_site_manager_saves_their_estates_roster(client, bearer, rpc):
    r = client.put("/api/v1/duty-roster", headers=bearer(roles=MANAGER), json=BODY)
    assert r.status_code == 200, r.get_json()
    [call] = workflow_calls(rpc)
    assert call["method"] == "save_duty_roster" and call["args"][0] == "DEMO-RES"
    assert call["args"][1] == [{"person": "agent@demo", "post": "消防监控中心", "weekdays": [1, 2],
                                "date_from": "2026-12-01", "date_to": None, "note": None}]
    r = client.put("/api/v1/duty-roster", headers=bearer(roles=(("head_office", None),)), json=BODY)
    assert r.status_code == 200


@pytest.mark.parametrize("roles", [(("site_manager", "DEMO-NEW"),), (("cs_supervisor", "DEMO-RES"),),
                                   (("agent", "DEMO-RES"),)])
def test_others_may_not_save(client, bearer, rpc, roles):
    assert client.put("/api/v1/duty-roster", headers=bearer(roles=roles), json=BODY).status_code == 403
    assert workflow_calls(rpc) == []


@pytest.mark.parametrize("body,field", [
    (BODY | {"estate": "NOPE"}, "estate"),
    ({"estate": "DEMO-RES", "entries": [{"person": "nobody@demo"}]}, "entries.0.person"),
    ({"estate": "DEMO-RES", "entries": [{"person": "agent@demo", "weekdays": [8]}]}, "entries"),
    ({"estate": "DEMO-RES", "entries": [{"person": "agent@demo", "date_from": "tomorrow"}]}, "entries"),
])
def test_bad_rosters_are_422_naming_the_field(client, bearer, rpc, body, field):
    r = client.put("/api/v1/duty-roster", headers=bearer(roles=(("group_admin", None),)), json=body)
    assert r.status_code == 422, r.get_json()
    details = r.get_json()["details"]
    assert details["field"] == field or field in (details.get("fields") or {}), details
    assert workflow_calls(rpc) == []


def test_reading_is_scoped_to_the_callers_estates(client, bearer, rpc):
    r = client.get("/api/v1/duty-roster", headers=bearer(roles=MANAGER), query_string={"estate": "DEMO-RES"})
    assert r.status_code == 200 and r.get_json() == ROSTER
    assert [c for c in rpc.calls if c["service"] == "workflow"][-1]["args"] == ("DEMO-RES",)
    assert client.get("/api/v1/duty-roster", headers=bearer(roles=MANAGER),
                      query_string={"estate": "DEMO-NEW"}).status_code == 404
    assert client.get("/api/v1/duty-roster", headers=bearer(roles=MANAGER)).status_code == 422
    assert client.get("/api/v1/duty-roster", headers=bearer(roles=(("agent", "DEMO-RES"),)),
                      query_string={"estate": "DEMO-RES"}).status_code == 403


def test_defer_and_resume_go_to_workflow_and_an_urgent_case_is_refused(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    url = f"/api/v1/complaints/{cid}/actions"
    fake_rpc.reply("workflow", "get_case", {"estate": "DEMO-RES", "version": 3})
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "deferred", "version": 4, "stages_met": []})
    body = {"action": "defer", "consented_by": "业主（电话确认）", "until": "2026-11-25T08:30:00+08:00"}
    r = client.post(url, json=body, headers=auth_headers | {"If-Match": '"3"'})
    assert r.status_code == 200 and r.headers["ETag"] == '"4"'
    assert fake_rpc.calls[-1]["args"] == (cid, "defer", {"consented_by": "业主（电话确认）",
                                                         "until": "2026-11-25T08:30:00+08:00"}, 3)
    fake_rpc.reply("workflow", "act", RemoteError("DeferralNotAllowed", str(ValidationFailed(
        "an urgent/major case cannot be deferred", field="severity", code="deferral_not_allowed"))))
    r = client.post(url, json=body, headers=auth_headers | {"If-Match": '"3"', "Accept-Language": "zh-CN"})
    assert r.status_code == 422 and r.get_json()["error"] == "deferral_not_allowed"
    assert r.get_json()["details"]["field"] == "severity" and "紧急" in r.get_json()["message"]
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "open", "version": 5, "stages_met": []})
    r = client.post(url, json={"action": "resume"}, headers=auth_headers | {"If-Match": '"4"'})
    assert r.status_code == 200 and fake_rpc.calls[-1]["args"][1] == "resume"


def test_the_case_page_offers_defer_and_sends_the_estates_local_time(setup, fake_rpc):
    client, cid, page = setup(severity="moderate")
    html = page.get_data(as_text=True)
    assert f'/complaints/{cid}/actions/defer' in html and "经业主同意延后处理" in html
    fake_rpc.reply("workflow", "act", {"complaint_id": cid, "status": "deferred", "version": 4, "stages_met": []})
    r = post(client, cid, "defer", html, consented_by=" 周女士 ", until="2026-11-25T08:30", note="")
    assert r.status_code == 302
    [call] = acts(fake_rpc)
    assert call["args"] == (cid, "defer", {"consented_by": "周女士", "until": "2026-11-25T08:30:00+08:00"}, 3)


def test_an_urgent_case_is_not_offered_defer_and_a_deferred_one_only_resume(setup):
    client, cid, page = setup(severity="major")
    assert f'/complaints/{cid}/actions/defer' not in page.get_data(as_text=True)
    client, cid, page = setup(status="deferred", severity="moderate")
    html = page.get_data(as_text=True)
    assert f'/complaints/{cid}/actions/resume' in html and f'/complaints/{cid}/actions/contact' not in html
