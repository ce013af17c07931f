"""Settings pages in a real headless Chromium (journeys in ``browser_journeys_settings.py``, run as a child process
like ``test_console_browser.py``): a site manager adds a routing rule on 派单规则 and sees it listed; a group admin
opens 提醒接收人; a site manager adds a weekend night to 夜间值班表 and sees it listed. Screenshots 85-87 and 90-91 in
``test-artifacts/screenshots/``. DEMO-RES's rules and duty roster are put back as they were."""
from __future__ import annotations

import pytest
import requests

from .test_console_browser import journey

pytestmark = pytest.mark.e2e

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
        assert any(e["target_id"] == "DEMO-RES" and e["username"] == "manager@demo" and e["detail"] == {
            "entries": len(seeded) + 1} for e in audit)
    finally:  # the night-shift e2e tests expect DEMO-RES's roster as it was
        r = requests.put(f"{system.api}/duty-roster", json={"estate": "DEMO-RES", "entries": seeded},
                         headers=system.headers("admin@demo"), timeout=15)
        assert r.status_code == 200, r.text
    assert _roster(system) == seeded


def test_head_office_adds_an_estate_and_finds_it_among_the_estate_choices(system):
    """The new estate is left deactivated (estates are never deleted): the owners' list stays as seeded."""
    import uuid

    code, name = f"E2E-{uuid.uuid4().hex[:6].upper()}", f"浏览器测试大厦{uuid.uuid4().hex[:4]}"
    found = journey(system, "estates_admin", code=code, estate_name=name)
    assert "640" in found["listed"] and "已停用" in found["deactivated"]
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
