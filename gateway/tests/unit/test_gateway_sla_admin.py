"""PUT /api/v1/sla/policy, GET /api/v1/sla/policy/versions and the extension actions, with the FakeRpc."""
import pytest

ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"},
           {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai", "region": None}]
ADMIN = (("group_admin", None),)
MANAGER = (("site_manager", "DEMO-RES"),)
REPORT = {"scope": "estate:DEMO-RES", "version": 2, "effective_from": "2026-11-24T10:00:00+08:00",
          "recomputed": [], "unchanged": 0, "failed": []}
DOC = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: 10m}\n"
VERSIONS = {"items": [{"scope": "estate:DEMO-RES", "version": 1, "effective_from": "2020-01-01T00:00:00+00:00",
                       "created_by": "seed", "created_at": "2020-01-01T00:00:00+00:00"},
                      {"scope": "estate:DEMO-OFFICE", "version": 1, "effective_from": "2020-01-01T00:00:00+00:00",
                       "created_by": "seed", "created_at": "2020-01-01T00:00:00+00:00"}]}


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "save_sla_policy", REPORT)
    fake_rpc.reply("workflow", "list_sla_policy_versions", VERSIONS)
    return fake_rpc


def workflow_calls(rpc):
    """The workflow calls of the view (the audit's read of the value before a save left out: audit.SNAPSHOTS)."""
    return [c for c in rpc.calls if c["service"] == "workflow" and c["method"] not in ("get_sla_policy", "list_routing_rules", "get_duty_roster")]


def test_a_site_manager_saves_their_estates_policy_with_recompute(client, bearer, rpc):
    r = client.put("/api/v1/sla/policy", headers=bearer(roles=MANAGER), json={
        "scope": "estate:DEMO-RES", "document": DOC, "recompute_open": True})
    assert r.status_code == 200, r.get_json()
    assert r.get_json() == REPORT
    [call] = workflow_calls(rpc)
    assert call["method"] == "save_sla_policy"
    assert call["args"][:4] == ("estate:DEMO-RES", DOC, None, True)
    assert {"code": "DEMO-RES", "region": "EAST"} in call["args"][4]


@pytest.mark.parametrize("roles,scope", [(MANAGER, "estate:DEMO-OFFICE"), (MANAGER, "group"),
                                         (MANAGER, "region:EAST"), ((("cs_supervisor", "DEMO-RES"),), "estate:DEMO-RES"),
                                         ((("head_office", None),), "estate:DEMO-RES")])
def test_only_group_admins_and_the_estates_site_manager_may_save(client, bearer, rpc, roles, scope):
    r = client.put("/api/v1/sla/policy", headers=bearer(roles=roles), json={"scope": scope, "document": DOC})
    assert r.status_code == 403
    assert workflow_calls(rpc) == []


def test_bad_bodies_are_422_naming_the_field(client, bearer, rpc):
    for body, field in [({"scope": "county:X", "document": DOC}, "scope"), ({"scope": "group"}, "document"),
                        ({"scope": "estate:NOPE", "document": DOC}, "scope"),
                        ({"scope": "group", "document": DOC, "effective_from": "2026-11-24"}, "effective_from")]:
        r = client.put("/api/v1/sla/policy", headers=bearer(roles=ADMIN), json=body)
        assert r.status_code == 422, body
        assert field in (r.get_json()["details"].get("fields") or {r.get_json()["details"]["field"]: 1}), body


def test_an_invalid_policy_is_422_with_its_line(client, bearer, rpc, remote_error):
    problems = [{"path": "severities.moderate.stages[0].limit", "line": 4, "problem": "negative limit"}]
    rpc.reply("workflow", "save_sla_policy", remote_error("PolicyRejected", 422, "policy_invalid", "line 4: ...",
                                                          field="policy", problems=problems, line=4))
    r = client.put("/api/v1/sla/policy", headers=bearer(roles=ADMIN), json={"scope": "group", "document": DOC})
    assert r.status_code == 422
    body = r.get_json()
    assert body["error"] == "policy_invalid" and body["details"]["line"] == 4 and body["message"]


def test_versions_are_listed_and_a_site_role_sees_only_its_estates(client, bearer, rpc):
    r = client.get("/api/v1/sla/policy/versions?scope=estate:DEMO-RES", headers=bearer(roles=ADMIN))
    assert r.status_code == 200 and len(r.get_json()["items"]) == 2
    assert workflow_calls(rpc)[0]["args"] == ("estate:DEMO-RES",)
    r = client.get("/api/v1/sla/policy/versions", headers=bearer(roles=MANAGER))
    assert [i["scope"] for i in r.get_json()["items"]] == ["estate:DEMO-RES"]
    assert client.get("/api/v1/sla/policy/versions", headers=bearer(roles=(("agent", "DEMO-RES"),))).status_code == 403


def test_extension_actions_pass_through_the_actions_endpoint(client, bearer, rpc):
    case_id = "7d0b5a8e-2f41-4b6f-9a11-3c0d2c4d5e6f"
    rpc.reply("workflow", "get_case", {"complaint_id": case_id, "estate": "DEMO-RES", "version": 1})
    rpc.reply("workflow", "act", {"complaint_id": case_id, "status": "open", "version": 2, "stages_met": []})
    body = {"action": "request_extension", "new_due_at": "2026-12-01T17:30:00+08:00", "reason": "等待配件"}
    r = client.post(f"/api/v1/complaints/{case_id}/actions", headers=bearer() | {"If-Match": '"1"'}, json=body)
    assert r.status_code == 200, r.get_json()
    [call] = [c for c in workflow_calls(rpc) if c["method"] == "act"]
    assert call["args"] == (case_id, "request_extension", {"new_due_at": body["new_due_at"], "reason": "等待配件"}, 1)
    r = client.post(f"/api/v1/complaints/{case_id}/actions", headers=bearer() | {"If-Match": '"2"'},
                    json={"action": "decide_extension", "approve": "maybe"})
    assert r.status_code == 422


PRESETS = {"items": [{"name": "seed001", "title": "seed 001", "kind": "group", "default_severity": "general",
                      "severities": [], "text": "name: s1\n"}]}


def test_presets_are_listed_for_sla_roles(client, bearer, rpc):
    rpc.reply("workflow", "list_sla_presets", PRESETS)
    r = client.get("/api/v1/sla/presets", headers=bearer(roles=MANAGER))
    assert r.status_code == 200 and r.get_json() == PRESETS
    assert client.get("/api/v1/sla/presets", headers=bearer(roles=(("agent", "DEMO-RES"),))).status_code == 403


def test_a_group_admin_stores_a_preset_as_the_groups_next_version(client, bearer, rpc):
    r = client.put("/api/v1/sla/policy", headers=bearer(roles=ADMIN), json={"scope": "group", "preset": "seed001"})
    assert r.status_code == 200, r.get_json()
    [call] = workflow_calls(rpc)
    assert call["args"][:4] == ("group", None, None, False) and call["kwargs"] == {"preset": "seed001"}
    r = client.put("/api/v1/sla/policy", headers=bearer(roles=MANAGER), json={"scope": "group", "preset": "seed001"})
    assert r.status_code == 403
    for body in ({"scope": "group", "preset": "seed001", "document": DOC}, {"scope": "group", "preset": ""}):
        r = client.put("/api/v1/sla/policy", headers=bearer(roles=ADMIN), json=body)
        assert r.status_code == 422, body
    assert len(workflow_calls(rpc)) == 1


@pytest.mark.parametrize("scope", ["group", "region:EAST"])
def test_head_office_saves_the_groups_defaults_and_a_regions_but_no_estates(client, bearer, rpc, scope):
    """总部 sets the group's default policy (and presets, and the regions' layers); estates are their managers'."""
    head = bearer(roles=(("head_office", None),))
    r = client.put("/api/v1/sla/policy", headers=head, json={"scope": scope, "document": DOC})
    assert r.status_code == 200, r.get_json()
    assert [c["args"][0] for c in workflow_calls(rpc)] == [scope]
    r = client.put("/api/v1/sla/policy", headers=head, json={"scope": "group", "preset": "seed002"})
    assert r.status_code == 200 and workflow_calls(rpc)[-1]["kwargs"] == {"preset": "seed002"}
    assert client.put("/api/v1/sla/policy", headers=head, json={"scope": "estate:DEMO-RES", "document": DOC}
                      ).status_code == 403
