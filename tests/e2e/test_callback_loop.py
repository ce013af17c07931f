"""The callback loop (回访) on the running system, through the HTTP API: a resolved case gets a callback; the
agent who resolved it cannot claim it; a supervisor claims it and logs "reached, dissatisfied" -> the case is
reopened with the owner's words; resolved again -> a new callback (round 2) -> "reached, satisfied" -> closed."""
import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def _callbacks(system, complaint_id, headers):
    body = requests.get(f"{system.api}/callbacks", params={"complaint_id": complaint_id}, headers=headers,
                        timeout=15).json()
    return body["items"]


def _resolve(url, headers, remedy):
    current = requests.get(url, headers=headers, timeout=15)
    resolved = requests.post(f"{url}/actions", json={"action": "resolve", "cause": "facility_fault", "remedy": remedy},
                             headers=headers | {"If-Match": current.headers["ETag"]}, timeout=15)
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved", resolved.text


def test_dissatisfied_callback_reopens_and_a_satisfied_one_closes(system, complaint_body):
    agent = system.headers()
    supervisor = system.headers("supervisor@demo")
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=agent,
                            timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json().get("case"), what="case opened")
    _resolve(url, agent, "更换电梯门机板")

    [first] = wait_for(lambda: _callbacks(system, created["id"], supervisor), what="callback created")
    assert first["status"] == "open" and first["round"] == 1
    refused = requests.post(f"{system.api}/callbacks/{first['id']}/claim", headers=agent, timeout=15)
    assert refused.status_code == 403 and refused.json()["error"] == "resolver_cannot_claim"
    claimed = requests.post(f"{system.api}/callbacks/{first['id']}/claim", headers=supervisor, timeout=15)
    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed", claimed.text
    incomplete = requests.post(f"{system.api}/callbacks/{first['id']}/attempts", json={"outcome": "reached"},
                               headers=supervisor, timeout=15)
    assert incomplete.status_code == 422 and incomplete.json()["details"]["field"] == "satisfaction"
    logged = requests.post(f"{system.api}/callbacks/{first['id']}/attempts",
                           json={"outcome": "reached", "satisfaction": "dissatisfied", "words": "电梯还是有异响",
                                 "valid": True, "solved": False}, headers=supervisor, timeout=15)
    assert logged.status_code == 200 and logged.json()["status"] == "done", logged.text

    def reopened():
        view = requests.get(url, headers=agent, timeout=15).json()
        return view if view["status"] == "in_progress" else None
    view = wait_for(reopened, what="case reopened")
    assert any("电梯还是有异响" in (e["text"] or "") for e in view["timeline"])
    resolution = [d for d in view["deadlines"] if d["stage"] == "resolution"]
    assert resolution and resolution[0]["met_at"] is None

    _resolve(url, agent, "更换门机并调试，业主在场确认")
    second = wait_for(lambda: [c for c in _callbacks(system, created["id"], supervisor) if c["round"] == 2],
                      what="second callback")[0]
    assert second["id"] != first["id"] and second["status"] == "open"
    logged = requests.post(f"{system.api}/callbacks/{second['id']}/attempts",
                           json={"outcome": "reached", "satisfaction": "satisfied", "words": "修好了，谢谢"},
                           headers=supervisor, timeout=15)
    assert logged.status_code == 200 and logged.json()["status"] == "done", logged.text
    closed = wait_for(lambda: requests.get(url, headers=agent, timeout=15).json()["status"] == "closed",
                      what="case closed")
    assert closed
