"""A case handled end to end over the API: contact, assign, resolve; deadlines met; no lost updates."""
import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def test_agent_handles_a_case_and_a_stale_update_is_refused(system, complaint_body):
    headers = system.headers()
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=headers,
                            timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=headers, timeout=15).json().get("case"), what="case opened")
    first = requests.get(url, headers=headers, timeout=15)
    etag = first.headers["ETag"]

    def act(body, tag):
        return requests.post(f"{url}/actions", json=body, headers=headers | {"If-Match": tag}, timeout=15)

    contacted = act({"action": "contact", "note": "已致电业主，约定今天下午上门"}, etag)
    assert contacted.status_code == 200, contacted.text
    stale = act({"action": "assign", "assignee": "工程部 李工"}, etag)  # a second agent with the old page
    assert stale.status_code == 409 and stale.json()["error"] == "version_conflict"
    assigned = act({"action": "assign", "assignee": "工程部 李工"}, contacted.headers["ETag"])
    assert assigned.status_code == 200, assigned.text
    resolved = act({"action": "resolve", "cause": "facility_fault", "remedy": "更换电梯门机板"},
                   assigned.headers["ETag"])
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"

    view = requests.get(url, headers=headers, timeout=15).json()
    met = {d["stage"]: d["met_at"] for d in view["deadlines"]}
    assert met["first_contact"] and met["assignment"] and met["resolution"]
    assert view["status"] == "resolved" and view["case"]["cause"] == "facility_fault"
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds.index("case_contacted") < kinds.index("case_assigned") < kinds.index("case_resolved")
    assert [e["actor"] for e in view["timeline"] if e["kind"] == "case_resolved"] == ["客服专员 张"]
