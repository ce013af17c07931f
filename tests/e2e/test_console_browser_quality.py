"""不合格与纠正预防 and 团队工作量 in a real headless Chromium (journey in ``browser_journeys_quality.py``, run as a
child process like ``test_console_browser.py``): a case at DEMO-RES resolved with a loss of 800 yuan opens a
nonconformity record; the site manager finds it waiting on /quality, follows it to the case, then opens /workload
(another DEMO-RES case stays open for it).
The record is then decided through the API, so it ends as the other e2e tests expect nothing of it. Screenshots
92-93 in ``test-artifacts/screenshots/``."""
from __future__ import annotations

import os

import pytest
import requests

from .conftest import wait_for
from .test_console_browser import journey

# The settings, manager and quality journeys run in the SQLite e2e phase only (the browser work does not depend on
# the database; their writes are covered on PostgreSQL by the services' integration tests and the API e2e tests;
# make test's time budget); BROWSER_JOURNEYS_ON_PG=1 runs them on PostgreSQL too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("BROWSER_JOURNEYS_ON_PG"),
                                 reason="SQLite e2e phase (BROWSER_JOURNEYS_ON_PG=1 runs it on PostgreSQL too)")]
TIMEOUT = 15


def test_site_manager_opens_nonconformity_capa_and_team_workload(system, complaint_body):
    manager = system.headers("manager@demo")
    r = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-RES", severity="moderate"),
                      headers=system.headers("hq@demo"), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    url = f"{system.api}/complaints/{r.json()['id']}"
    case = wait_for(lambda: (lambda v: v if v.get("case") else None)(
        requests.get(url, headers=manager, timeout=TIMEOUT).json()), what="case opened")
    resolved = requests.post(f"{url}/actions", json={
        "action": "resolve", "cause": "staff_fault_with_loss", "remedy": "赔偿并返工", "loss_amount": 800},
        headers=manager | {"If-Match": f'"{case["case"]["version"]}"'}, timeout=TIMEOUT)
    assert resolved.status_code == 200, resolved.text
    pending = requests.get(f"{system.api}/nonconformities", params={"estate": "DEMO-RES", "status": "open"},
                           headers=manager, timeout=TIMEOUT).json()["items"]
    assert case["reference"] in {p["reference"] for p in pending}
    office = requests.get(f"{system.api}/nonconformities", params={"estate": "DEMO-OFFICE"}, headers=manager,
                          timeout=TIMEOUT)
    assert office.status_code == 404  # not the manager's estate
    still_open = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-RES"),
                               headers=system.headers("hq@demo"), timeout=TIMEOUT)  # something for 团队工作量
    assert still_open.status_code == 201, still_open.text
    wait_for(lambda: requests.get(f"{system.api}/complaints/{still_open.json()['id']}", headers=manager,
                                  timeout=TIMEOUT).json().get("case"), what="second case opened")
    try:
        found = journey(system, "quality_workload", reference=case["reference"], complaint_id=case["id"])
        assert "800" in found["listed"] and "合计" in found["workload"]
    finally:
        decided = requests.post(f"{url}/actions", json={"action": "decide_nonconformity", "approve": False,
                                                        "note": "浏览器测试记录"},
                                headers=manager | {"If-Match": resolved.headers["ETag"]}, timeout=TIMEOUT)
        assert decided.status_code == 200, decided.text
