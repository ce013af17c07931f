"""GET/PUT /api/v1/routing-rules with the FakeRpc: roles, estate scope, team members checked against the users."""
import pytest

ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "region": "EAST"}, {"code": "DEMO-NEW", "name": "滨江新城", "region": "EAST"}]
ADMIN = (("group_admin", None),)
MANAGER = (("site_manager", "DEMO-RES"),)
RULES = {"items": [{"scope": "estate:DEMO-RES", "estate": "DEMO-RES", "category": None, "department": "工程部",
                    "team": ["agent@demo"], "strategy": "round_robin", "last_assignee": None}]}
BODY = {"scope": "estate:DEMO-RES", "rules": [{"department": "工程部", "team": ["agent@demo", "supervisor@demo"],
                                               "strategy": "least_loaded"}]}


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("workflow", "list_routing_rules", RULES)
    fake_rpc.reply("workflow", "save_routing_rules", {"scope": "estate:DEMO-RES", "items": []})
    return fake_rpc


def workflow_calls(rpc):
    """The workflow calls of the view (the audit's read of the value before a save left out: audit.SNAPSHOTS)."""
    return [c for c in rpc.calls if c["service"] == "workflow" and c["method"] not in ("get_sla_policy", "list_routing_rules", "get_duty_roster")]


def test_a_site_manager_saves_their_estates_rules(client, bearer, rpc):
    r = client.put("/api/v1/routing-rules", headers=bearer(roles=MANAGER), json=BODY)
    assert r.status_code == 200, r.get_json()
    [call] = workflow_calls(rpc)
    assert call["method"] == "save_routing_rules" and call["args"][0] == "estate:DEMO-RES"
    assert call["args"][1] == [{"category": None, "department": "工程部", "team": ["agent@demo", "supervisor@demo"],
                                "strategy": "least_loaded"}]


@pytest.mark.parametrize("roles,scope", [(MANAGER, "estate:DEMO-NEW"), (MANAGER, "group"),
                                         ((("cs_supervisor", "DEMO-RES"),), "estate:DEMO-RES"),
                                         ((("head_office", None),), "group"), ((("agent", "DEMO-RES"),), "estate:DEMO-RES")])
def test_only_group_admins_and_the_estates_site_manager_may_save(client, bearer, rpc, roles, scope):
    r = client.put("/api/v1/routing-rules", headers=bearer(roles=roles), json=BODY | {"scope": scope})
    assert r.status_code == 403
    assert workflow_calls(rpc) == []


@pytest.mark.parametrize("body,field", [
    (BODY | {"scope": "region:EAST"}, "scope"),
    (BODY | {"scope": "estate:NOPE"}, "scope"),
    ({"scope": "group", "rules": [{"department": "工程部", "team": []}]}, "rules"),
    ({"scope": "group", "rules": [{"department": "工程部", "team": ["a"], "strategy": "random"}]}, "rules"),
    ({"scope": "group", "rules": [{"department": "工程部", "team": ["nobody@demo"]}]}, "rules.0.team"),
    ({"scope": "group", "rules": [{"department": "工程部", "team": ["hq@other"]}]}, "rules.0.team"),  # other tenant
])
def test_bad_bodies_are_422_naming_the_field(client, bearer, rpc, body, field):
    r = client.put("/api/v1/routing-rules", headers=bearer(roles=ADMIN), json=body)
    assert r.status_code == 422, r.get_json()
    details = r.get_json()["details"]
    assert details["field"] == field or field in (details.get("fields") or {}), details
    assert workflow_calls(rpc) == []


def test_reading_is_scoped_to_the_callers_estates(client, bearer, rpc):
    r = client.get("/api/v1/routing-rules", headers=bearer(roles=MANAGER), query_string={"estate": "DEMO-RES"})
    assert r.status_code == 200 and r.get_json() == RULES
    assert [c for c in rpc.calls if c["service"] == "workflow"][-1]["args"] == ("DEMO-RES",)
    assert client.get("/api/v1/routing-rules", headers=bearer(roles=MANAGER),
                      query_string={"estate": "DEMO-NEW"}).status_code == 404
    assert client.get("/api/v1/routing-rules", headers=bearer(roles=(("agent", "DEMO-RES"),))).status_code == 403
    assert client.get("/api/v1/routing-rules", headers=bearer(roles=(("head_office", None),)),
                      query_string={"estate": "DEMO-NEW"}).status_code == 200
