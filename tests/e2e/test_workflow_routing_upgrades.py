"""Routing rules, major cases and nonconformity records through the API (workflow issue: the case lifecycle).

The site manager of DEMO-NEW routes its cases to a team in turn; new cases are assigned on opening (the receiver
stays owner of record); a major complaint tells the site manager and gets its special-team deadline; a loss of
500 yuan opens a nonconformity record the site manager approves, which opens a CAPA record. The DEMO-NEW rules
are removed again at the end, so the other tests see the demo data as seeded.
"""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 15
TEAM = ["agent@demo", "supervisor@demo"]


def _case(system, headers, complaint_id):
    url = f"{system.api}/complaints/{complaint_id}"
    return wait_for(lambda: (lambda v: v if v.get("case") else None)(
        requests.get(url, headers=headers, timeout=TIMEOUT).json()), what="case opened")


def _create(system, complaint_body, **over):
    r = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-NEW", **over),
                      headers=system.headers("hq@demo"), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _quality_kpis(system):
    """DEMO-NEW's nonconformity and CAPA figures for today (Asia/Shanghai), as head office reads them."""
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    r = requests.get(f"{system.api}/reports/kpis", params={"from": today, "to": today, "estate": "DEMO-NEW"},
                     headers=system.headers("hq@demo"), timeout=TIMEOUT)
    if r.status_code == 404:  # reporting has seen no complaint of DEMO-NEW yet
        return {"opened": 0, "approved": 0, "rejected": 0, "capa_open": 0, "units": None}
    assert r.status_code == 200, r.text
    k = r.json()
    return k["nonconformity"] | {"capa_open": k["capa_open"], "units": k["units"]}


def test_routing_rules_assign_cases_major_cases_form_a_team_and_losses_need_approval(system, complaint_body):
    manager, agent = system.headers("manager@demo"), system.headers("agent@demo")
    before = _quality_kpis(system)
    url = f"{system.api}/routing-rules"
    demo = requests.get(url, params={"estate": "DEMO-RES"}, headers=manager, timeout=TIMEOUT)
    assert demo.status_code == 200, demo.text
    assert {r["category"] for r in demo.json()["items"] if r["scope"] == "estate:DEMO-RES"} >= {"security",
                                                                                               "house_quality"}
    body = {"scope": "estate:DEMO-NEW", "rules": [{"department": "工程部", "team": TEAM}]}
    assert requests.put(url, json=body, headers=agent, timeout=TIMEOUT).status_code == 403
    assert requests.put(url, json=body | {"scope": "estate:DEMO-OFFICE"}, headers=manager,
                        timeout=TIMEOUT).status_code == 403
    bad = requests.put(url, json={"scope": "estate:DEMO-NEW", "rules": [{"department": "工程部",
                                                                          "team": ["nobody@demo"]}]},
                       headers=manager, timeout=TIMEOUT)
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "rules.0.team"
    try:
        saved = requests.put(url, json=body, headers=manager, timeout=TIMEOUT)
        assert saved.status_code == 200 and saved.json()["items"][0]["team"] == TEAM, saved.text
        first = _case(system, manager, _create(system, complaint_body, severity="moderate"))
        second = _case(system, manager, _create(system, complaint_body, severity="major"))
        assert [first["case"]["assignee"], second["case"]["assignee"]] == TEAM  # in turn
        assert first["status"] == "assigned" and first["case"]["department"] == "工程部"
        assert any(e["kind"] == "case_routed" and "工程部" in e["text"] for e in first["timeline"])

        # a major complaint: the site manager is told at once and a special team is due within 2 hours
        assert "special_team" in {d["stage"] for d in second["deadlines"]}
        assert any(e["kind"] == "major_case_opened" and "专项处理小组" in e["text"] for e in second["timeline"])
        told = wait_for(lambda: [m for m in system.mails() if m["To"] == "manager@demo.example"
                                 and second["reference"] in str(m["Subject"]) and "专项小组" in str(m["Subject"])],
                        what="the site manager's major-complaint e-mail")
        assert "请立即成立专项处理小组" in told[0].get_body(("plain",)).get_content()

        # a loss of 800 yuan: nonconformity record, approved by the site manager, then a CAPA record
        case_url = f"{system.api}/complaints/{first['id']}"
        resolved = requests.post(f"{case_url}/actions", json={
            "action": "resolve", "cause": "staff_fault_with_loss", "remedy": "赔偿并返工", "loss_amount": 800},
            headers=manager | {"If-Match": f'"{first["case"]["version"]}"'}, timeout=TIMEOUT)
        assert resolved.status_code == 200, resolved.text
        waiting = requests.get(case_url, headers=manager, timeout=TIMEOUT).json()["case"]["nonconformities"]
        assert [(r["status"], r["loss_amount"]) for r in waiting] == [("open", 800)]  # the case page's form
        decided = requests.post(f"{case_url}/actions", json={"action": "decide_nonconformity", "approve": True,
                                                             "note": "同意赔偿"},
                                headers=manager | {"If-Match": resolved.headers["ETag"]}, timeout=TIMEOUT)
        assert decided.status_code == 200 and decided.json()["nonconformity"]["status"] == "approved", decided.text
        kinds = [e["kind"] for e in requests.get(case_url, headers=manager, timeout=TIMEOUT).json()["timeline"]]
        assert {"nonconformity_opened", "nonconformity_decided", "capa_opened"} <= set(kinds)
        # reporting counts the record (opened and approved today) and the CAPA record it opened
        after = wait_for(lambda: (lambda k: k if k["approved"] > before["approved"] and k["opened"] > before["opened"]
                                  and k["capa_open"] else None)(_quality_kpis(system)),
                         what="reporting counted the nonconformity record and its CAPA")
        assert after["opened"] == before["opened"] + 1 and after["approved"] == before["approved"] + 1
        assert after["capa_open"] >= 1 and after["units"] == 3  # DEMO-NEW's registered units (intake's snapshot)
    finally:
        restored = requests.put(url, json={"scope": "estate:DEMO-NEW", "rules": []}, headers=manager,
                                timeout=TIMEOUT)
        assert restored.status_code == 200, restored.text
