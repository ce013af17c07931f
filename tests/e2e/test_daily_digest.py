"""The managers' daily digest on the running system: head office sets it (API, validation, audit), an operator
sends a day's digest with ``python -m notify.cli send-digest``, each manager among the alert recipients finds one
e-mail in the mail sink with their estates' figures (the open count matches their console queue) and links to the
console; the opted-out supervisor gets none, and sending again sends nothing.

The day sent is yesterday's (local): the timer only ever sends today's, so whatever it did since the system
started, yesterday's digest is ours alone. During the test the tenant's hour is set 12 hours away (the timer stays
quiet); the setting found at the start is put back at the end.
"""
import datetime as dt
import json
import os
import re
import subprocess
import time
from zoneinfo import ZoneInfo

import pytest
import requests

from estatedesk_common.demo import DEMO_TENANT

from .conftest import ROOT, wait_for

pytestmark = pytest.mark.e2e

SHANGHAI = ZoneInfo("Asia/Shanghai")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
TIMEOUT = 20


def _send_digest(system, day: str) -> dict:
    """The operator's command, in the system's environment (scripts/env.sh, as run.sh starts the services)."""
    python = os.path.join(ROOT, ".venv", "bin", "python")
    done = subprocess.run(["bash", "-c", '. scripts/env.sh && exec "$@"', "send-digest", python, "-m", "notify.cli",
                           "send-digest", DEMO_TENANT["id"], "--day", day],
                          cwd=ROOT, env=system.env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _queue_total(system, username: str) -> int:
    """How many active cases the user's console queue counts (workflow's list_cases in their estates)."""
    session = requests.Session()
    token = CSRF.search(session.get(f"{system.base_url}/login", timeout=TIMEOUT).text).group(1)
    session.post(f"{system.base_url}/login", data={"username": username, "password": "demo-password",
                                                   "csrf_token": token}, allow_redirects=False, timeout=TIMEOUT)
    page = session.get(f"{system.base_url}/queue", timeout=TIMEOUT).text
    return int(re.search(r'<span class="count">(\d+)', page).group(1))


def _digests(system, to: str, day: str) -> list:
    return [m for m in system.mails() if m["To"] == to and str(m["Subject"]).startswith("【每日摘要】")
            and day in str(m["Subject"])]


def test_each_manager_finds_one_digest_of_their_estates(system, complaint_body):
    hq, url = system.headers("hq@demo"), f"{system.api}/digest-settings"
    before = requests.get(url, headers=hq, timeout=TIMEOUT).json()
    assert before["roles"] == ["cs_supervisor", "site_manager", "head_office"]
    assert requests.get(url, headers=system.headers("manager@demo"), timeout=TIMEOUT).status_code == 403
    bad = requests.put(url, headers=hq, json={"enabled": True, "hour": 24}, timeout=TIMEOUT)
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "hour"
    away = (dt.datetime.now(SHANGHAI).hour + 12) % 24
    try:
        saved = requests.put(url, headers=hq, timeout=TIMEOUT, json={
            "enabled": True, "hour": away, "timezone": "Asia/Shanghai", "opt_outs": ["Supervisor@demo.example"]})
        assert saved.status_code == 200, saved.text
        assert (saved.json()["hour"], saved.json()["opt_outs"]) == (away, ["supervisor@demo.example"])
        audit = requests.get(f"{system.api}/audit", params={"action": "digest_settings_saved"},
                             headers=system.headers("admin@demo"), timeout=TIMEOUT).json()["items"]
        detail = audit[0]["detail"]
        assert {k: detail.get(k) for k in ("enabled", "hour", "timezone", "opt_outs")} == {
            "enabled": True, "hour": away, "timezone": "Asia/Shanghai", "opt_outs": 1}
        assert detail["changes"]["hour"]["after"] == away  # before -> after of what changed

        agent = system.headers("agent@demo")
        created = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-RES"), headers=agent,
                                timeout=TIMEOUT)
        assert created.status_code == 201, created.text
        wait_for(lambda: requests.get(f"{system.api}/complaints/{created.json()['id']}", headers=agent,
                                      timeout=TIMEOUT).json().get("case"), what="the case opened")

        day = (dt.datetime.now(SHANGHAI).date() - dt.timedelta(days=1)).isoformat()
        queued_before = _queue_total(system, "manager@demo")
        result = _send_digest(system, day)
        assert (result["day"], result["queued"], result["already_sent"], result["opted_out"]) == (day, 2, 0, 1)
        assert _queue_total(system, "manager@demo") == queued_before  # nothing moved meanwhile

        [mail] = wait_for(lambda: _digests(system, "manager@demo.example", day), what="the manager's digest")
        text = mail.get_body(("plain",)).get_content()
        assert "项目经理 王：" in text and "投诉每日摘要" in text
        assert int(re.search(r"仍未办结：(\d+)", text).group(1)) == queued_before >= 1
        assert f"{system.base_url}/queue?overdue=1" in text and f"{system.base_url}/callbacks" in text
        assert f'href="{system.base_url}/' in mail.get_body(("html",)).get_content()
        [head_office] = wait_for(lambda: _digests(system, "hq@demo.example", day), what="head office's digest")
        assert "全部项目" in str(head_office["Subject"])

        again = _send_digest(system, day)  # an operator's second try, or the second replica
        assert (again["queued"], again["already_sent"]) == (0, 2)
        time.sleep(1.5)  # anything wrongly queued would have reached the sink by now
        assert len(_digests(system, "manager@demo.example", day)) == 1
        assert _digests(system, "supervisor@demo.example", day) == []  # opted out
    finally:
        restored = requests.put(url, headers=hq, timeout=TIMEOUT, json={
            k: before[k] for k in ("enabled", "hour", "timezone", "opt_outs")})
        assert restored.status_code == 200, restored.text
