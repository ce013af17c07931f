"""Accessibility of the console in the real headless Chromium (journeys in ``browser_journeys_a11y.py``).

axe-core (bundled by ``axe-playwright-python``, no download at run time) over the main pages of each role at
1366×768 (staff) and 390×844 (owners): no violation of impact serious or critical, ``lang`` zh-CN (en after the
switch), no sideways scrolling; the owner's survey behind a real SMS link (form, form with an error, thank-you page)
and the complaint list sorted by a header click (aria-sort, intake's order). An agent records a hotline complaint
and acts on its case with the keyboard only, through the skip link, with a visible focus ring. Screenshots go to
``test-artifacts/screenshots/a11y-*.png``.
"""
from __future__ import annotations

import os
import re
import uuid

import pytest
import requests
from sqlalchemy import create_engine, text

from estatedesk_common.config import db_target

from .conftest import wait_for
from .test_console_browser import journey

# SQLite e2e phase only (the pages' markup does not depend on the database; make test's time budget); A11Y_ON_PG=1 runs it on PostgreSQL too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("A11Y_ON_PG"),
                                 reason="SQLite e2e phase (A11Y_ON_PG=1 runs it on PostgreSQL too)")]


def test_main_pages_of_each_role_have_no_serious_accessibility_violations(system, complaint_body):
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    body = complaint_body(complainant={"name": "王先生", "phone": phone, "unit": "1栋101"})
    created = requests.post(f"{system.api}/complaints", json=body, headers=system.headers(), timeout=15).json()
    headers = system.headers()
    wait_for(lambda: requests.get(f"{system.api}/complaints/{created['id']}", headers=headers,
                                  timeout=15).json()["case"], what="case opened")
    office = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-OFFICE"), headers=headers,
                           timeout=15)
    assert office.status_code == 201, office.text  # two estates among the web complaints: the sort shows
    report = journey(system, "a11y_pages", case_path=f"/complaints/{created['id']}", reference=created["reference"],
                     phone=phone, token=uuid.uuid4().hex)
    sorted_list = report["complaint-list-sorted"]
    assert sorted_list["aria_sort"] == {"受理时间": "none", "项目": "descending", "等级": "none", "状态": "none"}, \
        sorted_list  # 状态: the case status intake keeps (intake.case_status)
    for order, shown in sorted_list["references"].items():  # intake's order, the API's: not one page resorted
        listed = requests.get(f"{system.api}/complaints", params={"channel": "web", "sort": "estate", "order": order,
                                                                   "limit": 20}, headers=headers, timeout=15).json()
        assert shown == [i["reference"] for i in listed["items"]], (order, shown)
    assert sorted_list["references"]["asc"] != sorted_list["references"]["desc"]
    assert all(page["rules_passed"] > 10 for page in report.values()), report  # axe did run on every page
    problems = {name: page["violations"] for name, page in report.items() if page["violations"]}
    assert not problems, problems
    langs = {name: page["lang"] for name, page in report.items()}
    assert langs.pop("hq-home-en") == "en" and set(langs.values()) == {"zh-CN"}, langs
    wide = {name: (page["scroll_width"], page["width"]) for name, page in report.items()
            if page["scroll_width"] > page["width"]}
    assert not wide, wide  # no sideways scrolling at 1366 px (staff) or 390 px (owners)
    assert {p["width"] for n, p in report.items() if n.startswith("owner")} == {390}
    assert len(report) >= 23


def _survey_path(system, complaint_id: str) -> str | None:
    """The path of the survey link in the callback survey SMS notify wrote for the complaint (read from notify's
    table: the fake SMSC only gets it outside quiet hours), or None while there is none."""
    target = db_target("notify", system.env)
    engine = create_engine(target.url)
    try:
        with engine.connect() as conn:
            body = conn.execute(text("SELECT body_text FROM messages WHERE complaint_id = :id AND "
                                     "kind = 'callback_survey' AND channel = 'sms'"), {"id": complaint_id}).scalar()
    finally:
        engine.dispose()
    found = re.search(r"/t/[^/\s]+/survey/[A-Za-z0-9_-]{20,64}", body or "")
    return found.group(0) if found else None


def test_owner_survey_form_and_thank_you_page_have_no_serious_accessibility_violations(system, complaint_body):
    """A resolved case whose owner three calls did not reach gets the survey SMS; its link, opened on a phone."""
    agent, supervisor = system.headers(), system.headers("supervisor@demo")
    created = requests.post(f"{system.api}/complaints", json=complaint_body(severity="moderate"), headers=agent,
                            timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json()["case"], what="case opened")
    current = requests.get(url, headers=agent, timeout=15)
    resolved = requests.post(f"{url}/actions", json={"action": "resolve", "cause": "facility_fault",
                                                     "remedy": "更换楼道照明灯具"},
                             headers=agent | {"If-Match": current.headers["ETag"]}, timeout=15)
    assert resolved.status_code == 200, resolved.text

    def callback():
        items = requests.get(f"{system.api}/callbacks", params={"complaint_id": created["id"]}, headers=supervisor,
                             timeout=15).json()["items"]
        return items[0] if items else None
    first = wait_for(callback, what="callback created")
    for _ in range(3):  # the third unanswered call sends the survey SMS
        logged = requests.post(f"{system.api}/callbacks/{first['id']}/attempts", json={"outcome": "no_answer"},
                               headers=supervisor, timeout=15)
        assert logged.status_code == 200, logged.text
    assert logged.json()["survey_sent_at"], logged.json()
    path = wait_for(lambda: _survey_path(system, created["id"]), what="survey SMS written")

    report = journey(system, "a11y_survey", path=path, choice="满意", words="灯修好了，谢谢")
    assert set(report) == {"owner-survey", "owner-survey-invalid", "owner-survey-done"}
    assert all(page["rules_passed"] > 10 for page in report.values()), report  # axe did run on every page
    problems = {name: page["violations"] + page["lesser"] for name, page in report.items()
                if page["violations"] or page["lesser"]}
    assert not problems, problems  # the owner's few survey pages: no violation at all, whatever its impact
    assert {page["lang"] for page in report.values()} == {"zh-CN"}
    wide = {name: page["scroll_width"] for name, page in report.items() if page["scroll_width"] > page["width"]}
    assert not wide, wide  # no sideways scrolling at 390 px
    heights = report["owner-survey"]["choice_heights"]
    assert len(heights) == 4 and all(44 <= h < 64 for h in heights), heights  # radio beside its words, 44 px to tap
    assert created["reference"] in report["owner-survey-done"]["text"]
    answered = callback()
    assert (answered["status"], answered["satisfaction"]) == ("done", "satisfied"), answered
    assert requests.get(system.base_url + path, timeout=15).status_code == 404  # single use


def test_agent_records_a_hotline_complaint_and_acts_on_it_with_the_keyboard_only(system):
    found = journey(system, "keyboard_agent", phone=f"137{uuid.uuid4().int % 10**8:08d}")
    headers = system.headers()
    listed = requests.get(f"{system.api}/complaints?channel=hotline&sort=received_at&order=desc", headers=headers,
                          timeout=15).json()
    [item] = [i for i in listed["items"] if i["reference"] == found["reference"]]
    view = requests.get(f"{system.api}/complaints/{item['id']}", headers=headers, timeout=15).json()
    assert view["urgent"] is True and view["status"] == "contacted"
    assert [e["actor"] for e in view["timeline"] if e["kind"] == "case_contacted"] == ["客服专员 张"]
