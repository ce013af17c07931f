"""Manager pages in a real headless Chromium (journeys in ``browser_journeys_manager.py``, run as a child
process like ``test_console_browser.py``): an extension asked by the agent and approved by the supervisor; a
site manager's live preview of a changed time limit; head office's league table and drill-down. Screenshots
60-69 in ``test-artifacts/screenshots/``."""
from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

import pytest
import requests

from .conftest import wait_for
from .test_console_browser import _api_complaint, journey

# The settings, manager and quality journeys run in the SQLite e2e phase only (the browser work does not depend on
# the database; their writes are covered on PostgreSQL by the services' integration tests and the API e2e tests;
# make test's time budget); BROWSER_JOURNEYS_ON_PG=1 runs them on PostgreSQL too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("BROWSER_JOURNEYS_ON_PG"),
                                 reason="SQLite e2e phase (BROWSER_JOURNEYS_ON_PG=1 runs it on PostgreSQL too)")]


def _ready(system, complaint_id) -> dict:
    """The complaint's view once its case is open and the acknowledgement sent (the page stops reloading)."""
    url = f"{system.api}/complaints/{complaint_id}"
    return wait_for(lambda: (lambda v: v if v.get("case") and "notification_sent" in {
        e["kind"] for e in v["timeline"]} else None)(requests.get(url, headers=system.headers(), timeout=15).json()),
        timeout=60, what="case opened and acknowledged")


def test_agent_asks_for_an_extension_and_the_supervisor_approves_it(system, complaint_body):
    created = _api_complaint(system, complaint_body, severity="moderate", description="5栋外墙渗水，需厂家配件")
    view = _ready(system, created["id"])
    stages = {d["stage"]: d for d in view["deadlines"] if not d["met_at"]}
    stage = "resolution" if "resolution" in stages else sorted(stages)[0]
    due = dt.datetime.fromisoformat(stages[stage]["due_at"]).astimezone(ZoneInfo("Asia/Shanghai"))
    new_due = (due + dt.timedelta(days=3)).replace(second=0, microsecond=0)
    found = journey(system, "extension", url=f"{system.base_url}/complaints/{created['id']}",
                    reference=created["reference"], stage=stage, new_due_local=new_due.strftime("%Y-%m-%dT%H:%M"))
    after = requests.get(f"{system.api}/complaints/{created['id']}", headers=system.headers(), timeout=15).json()
    moved = next(d for d in after["deadlines"] if d["stage"] == stage)
    assert dt.datetime.fromisoformat(moved["due_at"]) == new_due
    assert dt.datetime.fromisoformat(moved["original_due_at"]) == due
    assert [e["status"] for e in after["case"]["extensions"]] == ["approved"]
    assert due.strftime("%Y-%m-%d %H:%M") in found["extended"]


def _versions(system) -> list:
    return requests.get(f"{system.api}/sla/policy/versions", params={"scope": "estate:DEMO-RES"},
                        headers=system.headers("admin@demo"), timeout=15).json()["items"]


def test_site_manager_edits_a_time_limit_and_sees_the_preview_change(system):
    before = _versions(system)
    found = journey(system, "sla_settings")
    assert found["after"] == "2026-11-24 10:15" != found["before"]
    assert "第 4 行" in found["problem"]
    assert _versions(system) == before  # previewing saves nothing


def test_head_office_opens_the_league_table_and_drills_down(system, complaint_body):
    created = _api_complaint(system, complaint_body, description="6栋地库照明不足")
    headers = system.headers("hq@demo")
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the dashboard's default period: this month
    period = {"from": today.replace(day=1).isoformat(), "to": today.isoformat()}
    wait_for(lambda: created["reference"] in [i["reference"] for i in requests.get(
        f"{system.api}/reports/drilldown", headers=headers, timeout=15,
        params=period | {"metric": "received", "estate": "DEMO-RES", "limit": 5}).json()["items"]],
        timeout=60, what="reporting counted it")
    found = journey(system, "dashboard", reference=created["reference"])
    assert found["received"] >= 1 and found["rows"] >= 1
