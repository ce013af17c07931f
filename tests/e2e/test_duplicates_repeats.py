"""Duplicates, repeats and privacy on the running system, through the HTTP API:
the same complaint twice is one complaint; after its case is closed, the owner complaining again is linked as
a repeat and the new case opens one severity level up with the reason on its timeline; head office sees the
complainant masked, the estate's agent in full."""
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e

TEXT = "5栋2单元电梯今天早上又停了，住在高层的老人下不了楼，请马上派人维修"


def _owner():
    return {"name": "周女士", "phone": f"139{uuid.uuid4().int % 10**8:08d}", "unit": "5栋2单元1801"}


def _post(system, body, headers):
    return requests.post(f"{system.api}/complaints", json=body, headers=headers, timeout=15)


def _view(system, complaint_id, headers):
    return requests.get(f"{system.api}/complaints/{complaint_id}", headers=headers, timeout=15)


def _total(system, headers):
    return requests.get(f"{system.api}/complaints", params={"estate": "DEMO-RES", "limit": 1}, headers=headers,
                        timeout=15).json()["total"]


def test_the_same_complaint_twice_is_one_complaint(system):
    agent = system.headers()
    owner = _owner()
    body = {"estate": "DEMO-RES", "channel": "web", "description": TEXT, "complainant": owner}
    before = _total(system, agent)
    first = _post(system, body, agent)
    assert first.status_code == 201, first.text
    again = _post(system, body | {"channel": "hotline", "description": "你好，" + TEXT + "。急！"}, agent)
    assert again.status_code == 200, again.text
    merged = again.json()
    assert merged["id"] == first.json()["id"] and merged["duplicate"] is True
    assert merged["merged_into"] == first.json()["id"]
    view = wait_for(lambda: _view(system, merged["id"], agent).json(), what="complaint")
    notes = [e for e in view["timeline"] if e["kind"] == "duplicate_merged"]
    assert len(notes) == 1 and "急" in notes[0]["text"]

    message = {"estate": "DEMO-RES", "channel": "wechat", "description": "楼道灯不亮", "complainant": _owner(),
               "external_id": f"wx-{uuid.uuid4().hex}"}
    one = _post(system, message, agent)
    two = _post(system, message | {"description": "WeChat 重试同一条消息"}, agent)
    assert (one.status_code, two.status_code) == (201, 200)
    assert two.json()["id"] == one.json()["id"] and two.json()["duplicate"] is True

    assert _total(system, agent) == before + 2  # four arrivals, two complaints


def test_a_complaint_after_closure_is_a_repeat_and_its_case_is_raised(system):
    agent = system.headers()
    owner = _owner()
    body = {"estate": "DEMO-RES", "channel": "web", "description": TEXT, "complainant": owner,
            "category": "facilities_equipment", "severity": "minor"}
    first = _post(system, body, agent).json()
    url = f"{system.api}/complaints/{first['id']}"
    wait_for(lambda: _view(system, first["id"], agent).json().get("case"), what="case opened")
    etag = _view(system, first["id"], agent).headers["ETag"]
    for action in ({"action": "resolve", "cause": "facility_fault", "remedy": "更换电梯主板"}, {"action": "accept"}):
        done = requests.post(f"{url}/actions", json=action, headers=agent | {"If-Match": etag}, timeout=15)
        assert done.status_code == 200, done.text
        etag = done.headers["ETag"]
    wait_for(lambda: _view(system, first["id"], agent).json().get("closed_at"), what="intake told of the closure")

    again = _post(system, body | {"description": "5栋电梯又坏了，上次修完才十天，老人还是下不了楼"}, agent)
    assert again.status_code == 201, again.text
    repeat = again.json()
    assert repeat["id"] != first["id"] and repeat["repeat_of"]["reference"] == first["reference"]

    view = wait_for(lambda: (lambda v: v if v.get("case") else None)(_view(system, repeat["id"], agent).json()),
                    what="repeat case opened")
    assert view["severity"] == "minor" and view["case"]["severity"] == "moderate"  # one level up (seed 002)
    assert view["repeat_of"]["complaint_id"] == first["id"]
    texts = " ".join(e["text"] or "" for e in view["timeline"])
    assert "重复投诉" in texts and first["reference"] in texts and "由「轻微」升为「中度」" in texts

    page = requests.Session()
    login = page.get(f"{system.base_url}/login", timeout=15).text
    token = login.split('name="csrf_token" value="')[1].split('"')[0]
    page.post(f"{system.base_url}/login", data={"username": "agent@demo", "password": "demo-password",
                                                "csrf_token": token}, timeout=15)
    html = page.get(f"{system.base_url}/complaints/{repeat['id']}", timeout=15).text
    assert first["reference"] in html and "第 1 次重复" in html and owner["phone"] in html


def test_head_office_sees_the_complainant_masked_and_the_agent_in_full(system):
    agent, hq = system.headers(), system.headers("hq@demo")
    owner = _owner() | {"name": f"欧阳{uuid.uuid4().hex[:4]}", "email": "ouyang@example.com"}
    created = _post(system, {"estate": "DEMO-RES", "description": f"绿化带杂草很久没人修剪 {uuid.uuid4().hex[:6]}",
                             "complainant": owner}, agent).json()
    masked_phone = f"{owner['phone'][:3]}****{owner['phone'][-4:]}"

    for headers, name, phone in ((hq, "欧**", masked_phone), (agent, owner["name"], owner["phone"])):
        listed = requests.get(f"{system.api}/complaints", params={"estate": "DEMO-RES", "limit": 200},
                              headers=headers, timeout=15).json()["items"]
        [row] = [r for r in listed if r["id"] == created["id"]]
        assert row["complainant_name"] == name
        view = _view(system, created["id"], headers).json()
        assert view["complainant"]["phone"] == phone and view["complainant"]["name"] == name
    hq_view = _view(system, created["id"], hq).text
    assert owner["phone"] not in hq_view and "ouyang@example.com" not in hq_view
