"""Night shift and deferral with the owner's consent through the API (workflow issue 5).

The site manager of DEMO-NEW sets its duty roster; a case opened outside business hours goes to the person on
duty (inside them, to the routing rules as before — which one depends on the wall clock of the run, so the test
asks the roster which applies). A non-urgent case is deferred with the owner's consent (status ``deferred``,
other actions refused) and resumed; an urgent one cannot be deferred. The roster is emptied again at the end.
"""
import datetime as dt

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 15


def _case(system, headers, complaint_id):
    url = f"{system.api}/complaints/{complaint_id}"
    return wait_for(lambda: (lambda v: v if v.get("case") else None)(
        requests.get(url, headers=headers, timeout=TIMEOUT).json()), what="case opened")


def _create(system, complaint_body, **over):
    r = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-NEW", **over),
                      headers=system.headers("hq@demo"), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _act(system, headers, case, body):
    return requests.post(f"{system.api}/complaints/{case['id']}/actions", json=body,
                         headers=headers | {"If-Match": f'"{case["case"]["version"]}"'}, timeout=TIMEOUT)


def test_duty_roster_night_assignment_and_deferral_with_consent(system, complaint_body):
    manager, agent = system.headers("manager@demo"), system.headers("agent@demo")
    url = f"{system.api}/duty-roster"
    body = {"estate": "DEMO-NEW", "entries": [{"person": "agent@demo", "post": "消防监控中心"}]}
    assert requests.put(url, json=body, headers=agent, timeout=TIMEOUT).status_code == 403
    bad = requests.put(url, json={"estate": "DEMO-NEW", "entries": [{"person": "nobody@demo"}]}, headers=manager,
                       timeout=TIMEOUT)
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "entries.0.person"
    try:
        saved = requests.put(url, json=body, headers=manager, timeout=TIMEOUT)
        assert saved.status_code == 200, saved.text
        roster = requests.get(url, params={"estate": "DEMO-NEW"}, headers=manager, timeout=TIMEOUT).json()
        assert roster["entries"][0]["person"] == "agent@demo" and roster["updated_by"]
        case = _case(system, manager, _create(system, complaint_body, severity="moderate"))
        on_duty = any(e["kind"] == "case_on_duty" for e in case["timeline"])
        if roster["off_hours_now"]:  # opened at night (the run's wall clock): the person on duty has it
            assert on_duty and case["case"]["assignee"] == "agent@demo" and case["case"]["department"] == "消防监控中心"
        else:
            assert not on_duty

        until = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=2)).isoformat()
        deferred = _act(system, manager, case, {"action": "defer", "consented_by": "业主（电话确认）", "until": until,
                                                "note": "业主明早在家"})
        assert deferred.status_code == 200 and deferred.json()["status"] == "deferred", deferred.text
        case = _case(system, manager, case["id"])
        assert case["status"] == "deferred" and case["case"]["version"] == int(deferred.headers["ETag"].strip('"'))
        refused = _act(system, manager, case, {"action": "contact", "note": "已致电"})
        assert refused.status_code == 422 and refused.json()["details"]["field"] == "action"
        resumed = _act(system, manager, case, {"action": "resume"})
        assert resumed.status_code == 200 and resumed.json()["status"] != "deferred", resumed.text
        kinds = [e["kind"] for e in requests.get(f"{system.api}/complaints/{case['id']}", headers=manager,
                                                 timeout=TIMEOUT).json()["timeline"]]
        assert kinds.index("case_deferred") < kinds.index("case_resumed")

        major = _case(system, manager, _create(system, complaint_body, severity="major"))
        no = _act(system, manager, major, {"action": "defer", "consented_by": "业主"})
        assert no.status_code == 422 and no.json()["error"] == "deferral_not_allowed"
        assert no.json()["details"]["field"] == "severity"
    finally:
        emptied = requests.put(url, json={"estate": "DEMO-NEW", "entries": []}, headers=manager, timeout=TIMEOUT)
        assert emptied.status_code == 200, emptied.text
