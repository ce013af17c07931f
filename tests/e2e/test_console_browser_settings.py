"""Settings pages in a real headless Chromium (journeys in ``browser_journeys_settings.py``, run as a child process
like ``test_console_browser.py``): a site manager adds a routing rule on 派单规则 and sees it listed; a group admin
opens 提醒接收人; a site manager adds a weekend night to 夜间值班表 and sees it listed. Screenshots 85-87 and 90-91 in
``test-artifacts/screenshots/``. DEMO-RES's rules and duty roster are put back as they were."""
from __future__ import annotations

import os

import pytest
import requests

from .test_console_browser import journey

# The settings, manager and quality journeys run in the SQLite e2e phase only (the browser work does not depend on
# the database; their writes are covered on PostgreSQL by the services' integration tests and the API e2e tests;
# make test's time budget); BROWSER_JOURNEYS_ON_PG=1 runs them on PostgreSQL too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("BROWSER_JOURNEYS_ON_PG"),
                                 reason="SQLite e2e phase (BROWSER_JOURNEYS_ON_PG=1 runs it on PostgreSQL too)")]

CATEGORY = "greening"  # not among the seeded DEMO-RES rules (security, house_quality)


def _estate_rules(system) -> list[dict]:
    r = requests.get(f"{system.api}/routing-rules", params={"estate": "DEMO-RES"},
                     headers=system.headers("admin@demo"), timeout=15)
    assert r.status_code == 200, r.text
    return [{k: rule[k] for k in ("category", "department", "team", "strategy")}
            for rule in r.json()["items"] if rule["scope"] == "estate:DEMO-RES"]


def test_site_manager_adds_a_routing_rule_and_sees_it_listed(system):
    seeded = _estate_rules(system)
    assert CATEGORY not in {r["category"] for r in seeded}
    try:
        found = journey(system, "routing_settings", category=CATEGORY)
        after = _estate_rules(system)
        assert found["rules"] == len(seeded) + 1
        assert {"category": CATEGORY, "department": "绿化养护部", "team": ["agent@demo"],
                "strategy": "least_loaded"} in after
        assert [r for r in after if r["category"] != CATEGORY] == seeded  # the others saved unchanged
        audit = requests.get(f"{system.api}/audit", params={"action": "routing_rules_saved"},
                             headers=system.headers("admin@demo"), timeout=15).json()["items"]
        assert any(e["target_id"] == "estate:DEMO-RES" and e["username"] == "manager@demo" for e in audit)
    finally:  # the other e2e tests expect DEMO-RES routed as seeded
        r = requests.put(f"{system.api}/routing-rules", json={"scope": "estate:DEMO-RES", "rules": seeded},
                         headers=system.headers("admin@demo"), timeout=15)
        assert r.status_code == 200, r.text
    assert _estate_rules(system) == seeded


def _roster(system) -> list[dict]:
    r = requests.get(f"{system.api}/duty-roster", params={"estate": "DEMO-RES"},
                     headers=system.headers("admin@demo"), timeout=15)
    assert r.status_code == 200, r.text
    return r.json()["entries"]


def test_site_manager_adds_a_night_duty_entry_and_sees_it_listed(system):
    post = "夜班巡逻岗"
    seeded = _roster(system)
    assert post not in {e["post"] for e in seeded}
    try:
        found = journey(system, "duty_roster", post=post)
        after = _roster(system)
        assert found["entries"] == len(seeded) + 1
        assert after == seeded + [{"person": "agent@demo", "post": post, "weekdays": [6, 7], "date_from": None,
                                   "date_to": None, "note": ""}]
        audit = requests.get(f"{system.api}/audit", params={"action": "duty_roster_saved"},
                             headers=system.headers("admin@demo"), timeout=15).json()["items"]
        assert any(e["target_id"] == "DEMO-RES" and e["username"] == "manager@demo" and e["detail"]["entries"] == len(seeded) + 1
                   and e["detail"]["changes"] for e in audit)  # with what changed (before -> after)
    finally:  # the night-shift e2e tests expect DEMO-RES's roster as it was
        r = requests.put(f"{system.api}/duty-roster", json={"estate": "DEMO-RES", "entries": seeded},
                         headers=system.headers("admin@demo"), timeout=15)
        assert r.status_code == 200, r.text
    assert _roster(system) == seeded


def test_head_office_adds_an_estate_and_finds_it_among_the_estate_choices(system):
    """The new estate is left deactivated (estates are never deleted): the owners' list stays as seeded."""
    import uuid

    code, name = f"E2E-{uuid.uuid4().hex[:6].upper()}", f"浏览器测试大厦{uuid.uuid4().hex[:4]}"
    region = f"R{uuid.uuid4().hex[:6].upper()}"
    found = journey(system, "estates_admin", code=code, estate_name=name, region=region,
                    region_name=f"测试区域{region[-4:]}")
    assert "640" in found["listed"] and "已停用" in found["deactivated"]
    assert f"测试区域{region[-4:]}" in found["region_row"] and "1001" in found["units"] and "1002" in found["units"]
    regions = requests.get(f"{system.api}/regions", headers=system.headers("hq@demo"), timeout=15).json()["items"]
    assert {"code": region, "name": f"测试区域{region[-4:]}", "active": True, "estates": 0} in regions
    directory = requests.get(f"{system.api}/estates/{code}/buildings", headers=system.headers("admin@demo"),
                             timeout=15).json()
    assert directory["buildings"] == [{"code": "A座", "name": "A座", "units": [
        {"code": "1001", "floor": 10, "area": 120.5}, {"code": "1002", "floor": 10, "area": None}]}]
    assert directory["units"] == 640 and directory["counted"] == 2  # head office's declared figure stands
    done = [e for e in requests.get(f"{system.api}/audit", params={"action": "units_imported"},
                                    headers=system.headers("admin@demo"), timeout=15).json()["items"]
            if e["target_id"] == code]
    assert [(e["username"], e["detail"]["added"]) for e in done] == [("admin@demo", 2)]
    r = requests.put(f"{system.api}/regions/{region}", json={"active": False}, headers=system.headers("hq@demo"),
                     timeout=15)  # regions are never deleted: leave it deactivated
    assert r.status_code == 200 and r.json()["active"] is False
    [estate] = [e for e in requests.get(f"{system.api}/estates", headers=system.headers("hq@demo"), timeout=15).json()
                if e["code"] == code]
    assert estate == {"code": code, "name": name, "kind": "office", "timezone": "Asia/Shanghai", "region": "EAST",
                      "units": 640, "address": "", "active": False}
    audit = requests.get(f"{system.api}/audit", params={"action": "estate_saved"},
                         headers=system.headers("admin@demo"), timeout=15).json()["items"]
    mine = [(e["detail"]["created"], e["detail"]["changed"]) for e in audit if e["target_id"] == code]
    assert sorted(mine) == [(False, ["active"]), (True, ["active", "address", "code", "kind", "name", "region",
                                                          "timezone", "units"])]
    assert {e["username"] for e in audit if e["target_id"] == code} == {"hq@demo"}


def test_site_manager_edits_business_hours_and_sees_the_preview_change(system):
    """营业时间与升级: moving the afternoon closing time to 18:00 moves a moderate complaint's 5-working-day resolution
    from 17:30 to 18:00 in the live preview; without saving, DEMO-RES's policy versions stay as they were."""
    def versions():
        r = requests.get(f"{system.api}/sla/policy/versions", params={"scope": "estate:DEMO-RES"},
                         headers=system.headers("admin@demo"), timeout=15)
        assert r.status_code == 200, r.text
        return r.json()["items"]

    seeded = versions()
    found = journey(system, "sla_site_settings", received_at="2026-11-24T10:00")
    assert "2026-12-01 17:30" in found["before"], found
    assert "2026-12-01 18:00" in found["after"] and "2026-12-01 17:30" in found["after"], found  # now · after
    assert versions() == seeded
