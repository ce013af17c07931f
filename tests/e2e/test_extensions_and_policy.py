"""Extensions (延期) and the policy admin API through HTTP: agent asks, supervisor approves; admin saves a policy."""
import datetime as dt

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def test_agent_asks_supervisor_approves_and_the_case_shows_the_new_due(system, complaint_body):
    agent = system.headers()
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=agent,
                            timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json().get("case"), what="case opened")
    first = requests.get(url, headers=agent, timeout=15)
    due = next(d for d in first.json()["deadlines"] if d["stage"] == "resolution")["due_at"]
    new_due = (dt.datetime.fromisoformat(due.replace("Z", "+00:00")) + dt.timedelta(days=3)).isoformat()

    asked = requests.post(f"{url}/actions", headers=agent | {"If-Match": first.headers["ETag"]}, timeout=15, json={
        "action": "request_extension", "new_due_at": new_due, "reason": "等待厂家配件到货"})
    assert asked.status_code == 200, asked.text
    own = requests.post(f"{url}/actions", headers=agent | {"If-Match": asked.headers["ETag"]}, timeout=15,
                        json={"action": "decide_extension", "approve": True})
    assert own.status_code == 403 and own.json()["error"] == "extension_not_allowed"

    supervisor = system.headers("supervisor@demo")
    approved = requests.post(f"{url}/actions", headers=supervisor | {"If-Match": asked.headers["ETag"]}, timeout=15,
                             json={"action": "decide_extension", "approve": True, "note": "同意延期"})
    assert approved.status_code == 200, approved.text
    view = requests.get(url, headers=agent, timeout=15).json()
    resolution = next(d for d in view["deadlines"] if d["stage"] == "resolution")
    assert dt.datetime.fromisoformat(resolution["due_at"]) == dt.datetime.fromisoformat(new_due)
    assert dt.datetime.fromisoformat(resolution["original_due_at"]) == dt.datetime.fromisoformat(due)
    assert view["case"]["extensions"][0]["status"] == "approved"
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds.index("extension_requested") < kinds.index("extension_decided")


def test_admin_saves_a_policy_for_an_estate_with_recompute(system, complaint_body):
    agent, admin = system.headers(), system.headers("admin@demo")
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=agent,
                            timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json().get("case"), what="case opened")
    bad = requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15, json={
        "scope": "estate:DEMO-RES", "document": "severities:\n  moderate:\n    stages:\n"
                                                "      - {name: resolution, limit: \"-3wd\"}\n"})
    assert bad.status_code == 422 and bad.json()["error"] == "policy_invalid" and bad.json()["details"]["line"] == 4
    document = "severities:\n  moderate:\n    stages:\n      - {name: resolution, limit: \"10wd\"}\n"
    saved = requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15, json={
        "scope": "estate:DEMO-RES", "document": document, "recompute_open": True})
    assert saved.status_code == 200, saved.text
    report = saved.json()
    assert report["version"] >= 1 and report["scope"] == "estate:DEMO-RES"
    assert any(m["reference"] == created["reference"] and m["stage"] == "resolution" for m in report["recomputed"])
    view = requests.get(url, headers=agent, timeout=15).json()
    assert f"estate:DEMO-RES@v{report['version']}" in view["case"]["policy_version"]
    versions = requests.get(f"{system.api}/sla/policy/versions", params={"scope": "estate:DEMO-RES"},
                            headers=admin, timeout=15).json()["items"]
    assert versions[0]["version"] == report["version"] and versions[0]["created_by"]
    denied = requests.put(f"{system.api}/sla/policy", headers=system.headers("supervisor@demo"), timeout=15,
                          json={"scope": "estate:DEMO-RES", "document": document})
    assert denied.status_code == 403
    # the group's 5 working days again for new cases (other tests rely on the demo policy)
    restored = requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15, json={
        "scope": "estate:DEMO-RES", "document": document.replace("10wd", "5wd")})
    assert restored.status_code == 200, restored.text


def test_the_shipped_presets_are_listed_and_one_is_picked_by_name(system):
    admin = system.headers("admin@demo")
    listed = requests.get(f"{system.api}/sla/presets", headers=admin, timeout=15)
    assert listed.status_code == 200, listed.text
    kinds = {p["name"]: p["kind"] for p in listed.json()["items"]}
    assert kinds == {"seed002": "group", "seed001": "group", "seed000": "group", "seed004_handover": "override"}
    assert requests.get(f"{system.api}/sla/presets", headers=system.headers(), timeout=15).status_code == 403
    # a complete preset is not an estate layer: refused by workflow, nothing stored (the demo group stays seed 002)
    wrong = requests.put(f"{system.api}/sla/policy", headers=admin, timeout=15,
                         json={"scope": "estate:DEMO-RES", "preset": "seed001"})
    assert wrong.status_code == 422 and wrong.json()["details"]["field"] == "preset", wrong.text
