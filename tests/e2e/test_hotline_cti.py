"""The hotline channel end to end: the telephone system reports a call with the demo tenant's API key, the
screen pop shows the caller's complaints, the agent records the call in the console and the complaint is
linked to the call, received by that agent; and the same in a real browser (typing a phone shows the owner)."""
import re
import uuid

import pytest
import requests

from .conftest import wait_for
from .test_console_browser import journey

pytestmark = pytest.mark.e2e

KEY = {"X-Api-Key": "demo-api-key"}
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def cti(system, call_id, event, caller, **extra):
    body = {"call_id": call_id, "event": event, "caller": caller, "called": "4008001234"} | extra
    return requests.post(f"{system.api}/cti/calls", json=body, headers=KEY, timeout=15)


def phone() -> str:
    return "137" + str(uuid.uuid4().int)[:8]


def earlier_complaint(system, number, name="冯女士", unit="2栋202"):
    body = {"estate": "DEMO-RES", "channel": "web", "description": "2栋电梯经常停运，已经第三次了",
            "complainant": {"name": name, "phone": number, "unit": unit}}
    r = requests.post(f"{system.api}/complaints", json=body, headers=system.headers(), timeout=15)
    assert r.status_code == 201, r.text
    return r.json()


def agent_session(system) -> requests.Session:
    s = requests.Session()
    token = CSRF.search(s.get(f"{system.base_url}/login", timeout=15).text).group(1)
    r = s.post(f"{system.base_url}/login", data={"username": "agent@demo", "password": "demo-password",
                                                  "csrf_token": token}, allow_redirects=False, timeout=15)
    assert r.status_code == 302
    return s


def test_call_events_screen_pop_and_the_complaint_recorded_from_the_call(system):
    number, call_id = phone(), f"e2e-{uuid.uuid4().hex[:10]}"
    old = earlier_complaint(system, number)
    assert requests.post(f"{system.api}/cti/calls", json={"call_id": call_id, "event": "ringing"},
                         timeout=15).status_code == 401  # no key

    ringing = cti(system, call_id, "ringing", "+86" + number)
    assert ringing.status_code == 200, ringing.text
    pop = ringing.json()
    assert pop["duplicate"] is False and pop["call"]["state"] == "ringing" and pop["call"]["estate"] == "DEMO-RES"
    assert [(o["name"], o["unit"], o["phone_masked"]) for o in pop["owners"]] == [
        ("冯女士", "2栋202", number[:3] + "****" + number[-4:])]
    assert [c["reference"] for c in pop["open_complaints"]] == [old["reference"]]
    assert pop["record_url"] == f"{system.base_url}/complaints/new?call={call_id}"
    again = cti(system, call_id, "ringing", "+86" + number).json()
    assert again["duplicate"] is True and again["call"] == pop["call"]

    answered = cti(system, call_id, "answered", "+86" + number, agent="agent@demo").json()
    assert answered["call"]["state"] == "answered" and answered["call"]["agent_known"] is True

    s = agent_session(system)
    form = s.get(pop["record_url"], timeout=15)
    assert form.status_code == 200 and f'value="{number}"' in form.text and call_id in form.text
    assert f"call={call_id}" in s.get(f"{system.base_url}/calls/panel", timeout=15).text  # the home page's panel
    token = CSRF.search(form.text).group(1)
    recorded = s.post(pop["record_url"], data={
        "csrf_token": token, "call": call_id, "estate": "DEMO-RES", "channel": "hotline", "name": "冯女士",
        "phone": number, "unit": "2栋202", "description": "电梯又停了，家里老人下不了楼"}, allow_redirects=False,
        timeout=15)
    assert recorded.status_code == 302, recorded.text[:500]
    complaint_id = recorded.headers["Location"].rsplit("/", 1)[-1]

    ended = cti(system, call_id, "ended", "+86" + number).json()
    assert ended["call"]["state"] == "ended" and ended["call"]["complaint_id"] == complaint_id
    assert {c["id"] for c in ended["open_complaints"]} >= {old["id"], complaint_id}
    assert f"call={call_id}" not in s.get(f"{system.base_url}/calls/panel", timeout=15).text  # recorded

    view = wait_for(lambda: requests.get(f"{system.api}/complaints/{complaint_id}", headers=system.headers(),
                                         timeout=15).json(), what="complaint readable")
    assert view["channel"] == "hotline" and view["call_id"] == call_id
    received = [e for e in view["timeline"] if e["kind"] == "complaint_received"]
    assert [e["actor"] for e in received] == ["客服专员 张"]  # first-question responsibility: the receiving agent

    lookup = s.get(f"{system.base_url}/complaints/lookup", params={"phone": number}, timeout=15).json()
    assert {c["id"] for c in lookup["open"]} >= {old["id"], complaint_id}


def test_typing_a_phone_on_the_form_shows_the_owner_in_a_browser(system):
    number, call_id = phone(), f"e2e-{uuid.uuid4().hex[:10]}"
    old = earlier_complaint(system, number, name="褚先生", unit="1栋102")
    assert cti(system, call_id, "ringing", "+86" + number).status_code == 200
    found = journey(system, "hotline_lookup", phone=number, reference=old["reference"], owner="褚先生",
                    unit="1栋102", caller="+86" + number, call_id=call_id)
    assert "褚先生" in found["lookup"]
