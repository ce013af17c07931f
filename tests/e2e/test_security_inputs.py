"""Hostile input through the whole running system (issue 9, Security 3 and 4): SQL in filters, JSON bombs and
odd Unicode reach no 500 and no other rows; complaint text is escaped in the console and the e-mail; and after
all that no log file holds a complainant's phone number or e-mail address unmasked."""
from __future__ import annotations

import glob
import os
import re
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e

TIMEOUT = 20
SQL = ["' OR 1=1--", "DEMO-RES' OR '1'='1", "'; DROP TABLE complaints;--", "\" OR \"\"=\"", "%", "_", "%' OR '%'='",
       "1 UNION SELECT id, reference FROM complaints--"]
XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
# processes whose log is not ours: the local mail sink stands in for the recipient's mail server
NOT_OURS = {"mailcatcher.log"}


def _settled(system) -> bool:
    """Reporting has counted every complaint intake holds for the demo tenant (nothing of ours in flight)."""
    headers = system.headers("hq@demo")
    counted = requests.get(f"{system.api}/reports/complaint-counts", headers=headers, timeout=TIMEOUT).json()["total"]
    listed = requests.get(f"{system.api}/complaints", params={"limit": 1}, headers=headers, timeout=TIMEOUT)
    return counted == listed.json()["total"]


@pytest.fixture(scope="module", autouse=True)
def _let_the_system_settle(system):
    """Later e2e tests compare counts before and after: leave with every complaint made here counted."""
    yield
    wait_for(lambda: _settled(system), timeout=60, interval=0.5, what="reporting caught up with intake")


@pytest.fixture(scope="module")
def seeded(system):
    """One complaint each in demo and other, with contact data unique to this run."""
    digits = str(uuid.uuid4().int)[:8]
    phone, email = f"137{digits}", f"pii-{digits}@example.net"
    body = {"estate": "DEMO-RES", "channel": "web", "description": f"楼道灯不亮 {XSS}",
            "complainant": {"name": "张<b>x</b>", "phone": phone, "email": email, "unit": "1栋101"}}
    r = requests.post(f"{system.api}/complaints", json=body, headers=system.headers("agent@demo"), timeout=TIMEOUT)
    assert r.status_code == 201, r.text
    other = body | {"estate": "OTHER-RES", "complainant": {"phone": f"136{digits}", "email": f"o-{email}"}}
    r2 = requests.post(f"{system.api}/complaints", json=other, headers=system.headers("hq@other"), timeout=TIMEOUT)
    assert r2.status_code == 201, r2.text
    return {"created": r.json(), "phone": phone, "email": email, "other": r2.json()}


@pytest.mark.parametrize("value", SQL)
def test_sql_in_list_filters_gives_no_rows_and_no_500(system, seeded, value):
    headers = system.headers("hq@demo")
    r = requests.get(f"{system.api}/complaints", params={"estate": value}, headers=headers, timeout=TIMEOUT)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 200:
        assert r.json()["total"] == 0 and r.json()["items"] == []
    for params in ({"status": value}, {"channel": value}, {"estate": "DEMO-RES", "status": value}):
        r = requests.get(f"{system.api}/complaints", params=params, headers=headers, timeout=TIMEOUT)
        if "status" in params:  # not one of the documented statuses: intake's 400 invalid_filter
            assert r.status_code == 400 and r.json()["error"] == "invalid_filter", r.text
            continue
        assert r.status_code in (200, 422), r.text
        assert r.status_code == 422 or r.json()["total"] == 0
    assert seeded["other"]["reference"] not in r.text


@pytest.mark.parametrize("value", SQL)
def test_sql_in_report_filters_and_pages_is_refused_cleanly(system, seeded, value):
    headers = system.headers("hq@demo")
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    for path, params in (("/reports/kpis", period | {"estate": value}),
                         ("/reports/drilldown", period | {"estate": value}),
                         ("/reports/drilldown", period | {"category": value, "channel": value}),
                         ("/reports/league-table", period | {"region": value, "sort": value}),
                         ("/sla/policy", {"estate": value})):
        r = requests.get(system.api + path, params=params, headers=headers, timeout=TIMEOUT)
        assert 200 <= r.status_code < 500, (path, r.status_code, r.text[:300])
        assert seeded["other"]["reference"] not in r.text
    s = requests.Session()
    login = s.get(system.base_url + "/login", timeout=TIMEOUT).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', login).group(1)
    s.post(system.base_url + "/login", data={"username": "hq@demo", "password": "demo-password",
                                             "csrf_token": token}, timeout=TIMEOUT)
    page = s.get(system.base_url + "/complaints", params={"estate": value, "status": value}, timeout=TIMEOUT)
    # a filter intake refuses (too long for a status) is the console's 400 page; either way no rows
    assert page.status_code in (200, 400) and seeded["created"]["reference"] not in page.text


BOMBS = [b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
         b'{"estate": 1' + b"0" * 5000 + b"}", b"NaN"]


def test_json_bombs_get_a_clear_4xx(system):
    headers = system.headers() | {"Content-Type": "application/json"}
    for body in BOMBS:
        r = requests.post(f"{system.api}/complaints", data=body, headers=headers, timeout=TIMEOUT)
        assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])


@pytest.mark.parametrize("text", ["\ud800\udfff\udc00 孤立代理项", "\x00\x01\x7f 控制字符", "\u202e\u200b 方向符",
                                  "e\u0301" * 200, "🏢" * 100])
def test_odd_unicode_in_a_complaint_is_stored_or_refused_never_a_500(system, complaint_body, text):
    body = complaint_body(description=text)
    import json

    raw = json.dumps(body, ensure_ascii=True).encode()  # \\ud800 escapes: what a client may send
    r = requests.post(f"{system.api}/complaints", data=raw, timeout=TIMEOUT,
                      headers=system.headers() | {"Content-Type": "application/json"})
    assert r.status_code in (201, 400, 422), (r.status_code, r.text[:300])


def test_complaint_text_is_escaped_on_the_case_page_and_in_the_mail(system, seeded):
    created = seeded["created"]
    s = requests.Session()
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      s.get(system.base_url + "/login", timeout=TIMEOUT).text).group(1)
    s.post(system.base_url + "/login", data={"username": "agent@demo", "password": "demo-password",
                                             "csrf_token": token}, timeout=TIMEOUT)
    page = s.get(f"{system.base_url}/complaints/{created['id']}", timeout=TIMEOUT)
    assert page.status_code == 200 and created["reference"] in page.text
    assert "<script>alert" not in page.text and "<img src=x" not in page.text and "&lt;script&gt;" in page.text

    def mail():
        return next((m for m in system.mails() if created["reference"] in str(m["Subject"])), None)

    msg = wait_for(mail, timeout=60, what="the acknowledgement e-mail")
    html = msg.get_body(("html",)).get_content()
    assert "<script>alert" not in html and "<img src=x" not in html and "&lt;script&gt;" in html


def test_no_log_holds_a_phone_number_or_e_mail_address_unmasked(system, seeded):
    wait_for(lambda: any(seeded["created"]["reference"] in str(m["Subject"]) for m in system.mails()), timeout=60,
             what="the acknowledgement e-mail")
    phone_re = re.compile(r"(?<![0-9A-Za-z_-])1\d{10}(?![0-9A-Za-z_])")
    email_re = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
    logs = [p for p in glob.glob(os.path.join(system.var, "log", "*.log")) if os.path.basename(p) not in NOT_OURS]
    assert logs
    found = []
    for path in logs:
        with open(path, encoding="utf-8", errors="replace") as f:
            for number, line in enumerate(f, 1):
                hits = phone_re.findall(line) + email_re.findall(line)
                if hits or seeded["phone"] in line or seeded["email"] in line:
                    found.append(f"{os.path.basename(path)}:{number}: {hits} {line[:200]}")
    assert not found, "unmasked contact data in logs:\n" + "\n".join(found[:20])


def test_nul_characters_are_refused_or_ignored_never_a_500(system):
    """PostgreSQL text cannot hold NUL (SQLite can): it must be stopped before it reaches a query."""
    headers = system.headers("hq@demo")
    r = requests.post(f"{system.api}/auth/token", json={"username": "agent@demo\x00", "password": "x\x00"},
                      timeout=TIMEOUT)
    assert 400 <= r.status_code < 500, r.text
    period = {"from": "2026-01-01", "to": "2026-12-31"}
    for path, params in (("/complaints", {"estate": "DEMO-RES\x00"}), ("/complaints", {"status": "\x00"}),
                         ("/reports/kpis", period | {"estate": "\x00"}), ("/sla/policy", {"estate": "DEMO-RES\x00"}),
                         ("/reports/drilldown", period | {"category": "\x00"})):
        r = requests.get(system.api + path, params=params, headers=headers, timeout=TIMEOUT)
        assert 200 <= r.status_code < 500, (path, params, r.status_code, r.text[:300])
    r = requests.get(f"{system.api}/complaints/{uuid.uuid4()}", headers=headers, timeout=TIMEOUT)
    assert r.status_code == 404
