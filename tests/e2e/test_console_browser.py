"""The web console in a real headless Chromium (Playwright for Python, Debian's ``/usr/bin/chromium``).

Journeys on the running system: an agent records a hotline complaint in the Chinese UI and watches the case
fill in; an agent records the contact and resolves a case on its page (a stale second tab is refused); a
supervisor sees the case queue coloured by deadline; head office sees the counts per estate (and switches to English); an owner checks the status on a
phone-sized screen. The browser steps live in ``browser_journeys.py`` and run in a child process (Playwright's
sync API hangs under the eventlet patching of this test session); each page visited is saved to
``test-artifacts/screenshots/`` for review.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import requests

from .conftest import ROOT, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
SHOTS = os.path.join(ROOT, "test-artifacts", "screenshots")


def journey(system, name: str, **args) -> dict:
    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: scripts/bootstrap.sh --test installs Debian's chromium"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EVENTLET")}
    done = subprocess.run([sys.executable, "-m", "tests.e2e.browser_journeys", name, system.base_url, SHOTS,
                           json.dumps(args)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"journey {name} failed:\n{done.stderr[-4000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def _api_complaint(system, complaint_body, **over) -> dict:
    r = requests.post(f"{system.api}/complaints", json=complaint_body(**over), headers=system.headers(), timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def test_agent_records_a_hotline_complaint_and_sees_the_case_fill_in(system):
    found = journey(system, "agent")
    # the owner's acknowledgement (a complaint classified major also e-mails the site manager)
    [mail] = [m for m in system.mails() if found["reference"] in m["Subject"] and m["To"] == "zhou@example.com"]
    headers = system.headers()
    listed = requests.get(f"{system.api}/complaints?channel=hotline", headers=headers, timeout=15).json()
    [item] = [i for i in listed["items"] if i["reference"] == found["reference"]]
    view = requests.get(f"{system.api}/complaints/{item['id']}", headers=headers, timeout=15).json()
    assert view["channel"] == "hotline" and view["urgent"] is True and view["complainant"]["unit"] == "1栋101"
    assert found["url"].endswith(f"/complaints/{item['id']}")


def test_agent_records_contact_and_resolves_on_the_case_page_and_supervisor_sees_the_queue(system,
                                                                                          complaint_body):
    headers = system.headers()
    handled = _api_complaint(system, complaint_body, severity="moderate")
    waiting = _api_complaint(system, complaint_body, severity="moderate", description="2栋门禁坏了，进出不便")
    office = _api_complaint(system, complaint_body, estate="DEMO-OFFICE")
    for created in (handled, waiting, office):
        wait_for(lambda: requests.get(f"{system.api}/complaints/{created['id']}", headers=headers,
                                      timeout=15).json()["case"], what="case opened")
    wait_for(lambda: "notification_sent" in {e["kind"] for e in requests.get(
        f"{system.api}/complaints/{handled['id']}", headers=headers, timeout=15).json()["timeline"]},
        what="acknowledgement sent")  # the page stops reloading itself once the case is complete
    journey(system, "case_actions", url=f"{system.base_url}/complaints/{handled['id']}")
    view = requests.get(f"{system.api}/complaints/{handled['id']}", headers=headers, timeout=15).json()
    assert view["status"] == "resolved" and view["case"]["cause"] == "facility_fault"
    assert [e["actor"] for e in view["timeline"] if e["kind"] == "case_contacted"] == ["客服专员 张"]
    assert not [e for e in view["timeline"] if e["kind"] == "case_assigned"]  # the stale tab changed nothing
    found = journey(system, "supervisor_queue", open_reference=waiting["reference"],
                    resolved_reference=handled["reference"])
    assert found["sla"] in ("on_time", "due_soon", "overdue")
    # the supervisor (DEMO-RES) cannot open the DEMO-OFFICE complaint over the API either
    outside = requests.get(f"{system.api}/complaints/{office['id']}", headers=system.headers("supervisor@demo"),
                           timeout=15)
    assert outside.status_code == 404


def test_head_office_sees_counts_per_estate(system, complaint_body):
    _api_complaint(system, complaint_body, estate="DEMO-OFFICE", channel="wechat")
    headers = system.headers("hq@demo")

    def counted():
        rows = requests.get(f"{system.api}/reports/complaint-counts", headers=headers, timeout=15).json()["rows"]
        return any(r["estate"] == "DEMO-OFFICE" and r["channel"] == "wechat" for r in rows)
    wait_for(counted, what="reporting count")
    journey(system, "head_office")


def test_owner_checks_status_on_a_phone(system, complaint_body):
    created = _api_complaint(system, complaint_body, channel="web",
                             complainant={"name": "王先生", "phone": "13800138000", "email": "wang@example.com"})
    headers = system.headers()
    wait_for(lambda: requests.get(f"{system.api}/complaints/{created['id']}", headers=headers,
                                  timeout=15).json()["deadlines"], what="case opened")
    found = journey(system, "owner", reference=created["reference"], phone_as_typed="138 0013 8000")
    assert created["reference"] in found["result"]
