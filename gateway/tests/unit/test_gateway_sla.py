"""/api/v1/sla: preview and the policy in force, with the FakeRpc standing in for intake and workflow."""
import pytest

ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": None}]
PREVIEW = {"policy_version": "group@v1", "timezone": "Asia/Shanghai", "severity": "moderate", "category": None,
           "stages": [{"name": "first_contact", "due_at": "2026-02-13T17:00:00+08:00", "explanation": "…",
                       "explanation_en": "…", "details": {}}]}
ADMIN = (("group_admin", None),)


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "preview_sla", PREVIEW)
    fake_rpc.reply("workflow", "get_sla_policy", {"policy_version": "group@v1", "levels": [], "document": {}})
    return fake_rpc


def workflow_calls(rpc):
    return [c for c in rpc.calls if c["service"] == "workflow"]


def test_preview_of_the_policy_in_force_for_an_estate(client, bearer, rpc):
    r = client.post("/api/v1/sla/preview", headers=bearer(roles=ADMIN), json={
        "estate": "DEMO-RES", "received_at": "2026-02-13T16:00:00+08:00", "severity": "moderate"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == PREVIEW
    [call] = workflow_calls(rpc)
    assert call["method"] == "preview_sla"
    assert call["args"] == (None, "2026-02-13T16:00:00+08:00", "moderate", None,
                            {"code": "DEMO-RES", "region": "EAST"}, None)
    assert call["context"]["tenant_id"]


def test_preview_of_a_policy_given_as_yaml_text(client, bearer, rpc):
    text = "timezone: Asia/Shanghai\ncalendar: cn\n"
    r = client.post("/api/v1/sla/preview", headers=bearer(roles=(("head_office", None),)), json={
        "policy": text, "received_at": "2026-02-13T08:00:00Z", "severity": "moderate", "category": "facilities"})
    assert r.status_code == 200
    [call] = workflow_calls(rpc)
    assert call["args"] == (text, "2026-02-13T08:00:00+00:00", "moderate", "facilities", None, None)
    assert not [c for c in rpc.calls if c["service"] == "intake"]


def test_an_invalid_policy_is_422_with_its_lines(client, bearer, rpc, remote_error):
    problems = [{"path": "severities.moderate.stages[0].limit", "line": 9, "problem": "negative limit '-1h'"}]
    rpc.reply("workflow", "preview_sla", remote_error("PolicyRejected", 422, "policy_invalid", "line 9: ...",
                                                      field="policy", problems=problems, line=9))
    r = client.post("/api/v1/sla/preview", headers=bearer(roles=ADMIN) | {"Accept-Language": "en"}, json={
        "policy": {"timezone": "Asia/Shanghai"}, "received_at": "2026-02-13T08:00:00Z", "severity": "moderate"})
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "policy_invalid" and body["details"]["line"] == 9
    assert body["details"]["problems"] == problems and "invalid" in body["message"]


def test_a_year_without_calendar_data_is_422(client, bearer, rpc, remote_error):
    rpc.reply("workflow", "preview_sla", remote_error("CalendarMissing", 422, "calendar_unavailable",
                                                      field="received_at", year=2027))
    r = client.post("/api/v1/sla/preview", headers=bearer(roles=ADMIN), json={
        "received_at": "2027-02-13T08:00:00Z", "severity": "moderate"})
    assert r.status_code == 422 and r.get_json()["details"]["year"] == 2027
    assert "日历" in r.get_json()["message"]


@pytest.mark.parametrize("body, field", [
    ({"severity": "moderate"}, "received_at"),
    ({"severity": "moderate", "received_at": "2026-02-13T16:00:00"}, "received_at"),  # no offset
    ({"severity": "moderate", "received_at": "tomorrow"}, "received_at"),
    ({"received_at": "2026-02-13T16:00:00+08:00"}, "severity"),
    ({"severity": "moderate", "received_at": "2026-02-13T16:00:00+08:00", "policy": 42}, "policy"),
    ({"severity": "moderate", "received_at": "2026-02-13T16:00:00+08:00", "estate": "NOPE"}, "estate"),
])
def test_bad_requests_name_the_field(client, bearer, rpc, body, field):
    r = client.post("/api/v1/sla/preview", headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == field
    assert not workflow_calls(rpc)


@pytest.mark.parametrize("roles, estate, status", [
    ((("agent", "DEMO-RES"),), "DEMO-RES", 403),
    ((("cs_supervisor", "DEMO-RES"),), "DEMO-RES", 200),
    ((("cs_supervisor", "DEMO-RES"),), "DEMO-OFFICE", 403),  # another estate's policy
    ((("cs_supervisor", "DEMO-RES"),), None, 403),  # the group's policy needs a group-wide role
    ((("site_manager", "DEMO-OFFICE"), ("agent", "DEMO-RES")), "DEMO-OFFICE", 200),
    ((("head_office", None),), None, 200),
])
def test_roles(client, bearer, rpc, roles, estate, status):
    body = {"received_at": "2026-02-13T16:00:00+08:00", "severity": "moderate"} | ({"estate": estate} if estate else {})
    assert client.post("/api/v1/sla/preview", headers=bearer(roles=roles), json=body).status_code == status
    query = f"?estate={estate}" if estate else ""
    assert client.get(f"/api/v1/sla/policy{query}", headers=bearer(roles=roles)).status_code == status


def test_a_token_is_required(client, rpc):
    assert client.post("/api/v1/sla/preview", json={}).status_code == 401
    assert client.get("/api/v1/sla/policy").status_code == 401


def test_policy_in_force_for_an_estate(client, bearer, rpc):
    r = client.get("/api/v1/sla/policy?estate=DEMO-OFFICE&at=2026-11-24T10:00:00%2B08:00", headers=bearer(roles=ADMIN))
    assert r.status_code == 200 and r.get_json()["policy_version"] == "group@v1"
    [call] = workflow_calls(rpc)
    assert call["method"] == "get_sla_policy"
    assert call["args"] == ({"code": "DEMO-OFFICE", "region": None}, "2026-11-24T10:00:00+08:00")


def test_policy_of_an_unknown_estate_or_a_bad_time(client, bearer, rpc):
    assert client.get("/api/v1/sla/policy?estate=NOPE", headers=bearer(roles=ADMIN)).status_code == 404
    r = client.get("/api/v1/sla/policy?at=noon", headers=bearer(roles=ADMIN))
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "at"
    assert not workflow_calls(rpc)
