"""Open311 GeoReport v2 against the running system: file with demo-api-key, list, get, tokens, errors, closing,
another tenant's key, and the group admin's key management (issue, use, revoke)."""
from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 20
DEMO = {"X-Api-Key": "demo-api-key"}
OTHER = {"X-Api-Key": "other-api-key"}


def o311(system, method, path, headers=None, **kw):
    return requests.request(method, f"{system.base_url}/open311/v2{path}", headers=headers or {}, timeout=TIMEOUT,
                            **kw)


def form(**over) -> dict:
    text = f"Open311：3栋楼道垃圾两天没清运 {uuid.uuid4().hex[:8]}"
    return {"api_key": "demo-api-key", "jurisdiction_id": "DEMO-RES", "service_code": "sanitation",
            "lat": "31.230416", "long": "121.473701", "address_string": "锦绣花园 3栋 楼道", "description": text,
            "phone": "+86 139 0013 9311", "email": "o311@example.com", "first_name": "敏", "last_name": "陈",
            "device_id": "device-311", "account_id": "acct-311", "media_url": "https://img.example.com/311.jpg"} | over


@pytest.fixture(scope="module")
def filed(system):
    """One request filed with demo-api-key, its case opened by workflow."""
    body = form()
    r = o311(system, "POST", "/requests.json", data=body)
    assert r.status_code == 200, r.text
    reference = r.json()[0]["service_request_id"]
    url = f"/requests/{reference}.json"
    wait_for(lambda: o311(system, "GET", url, DEMO).json()[0]["expected_datetime"], timeout=30, interval=0.5,
             what="the case is opened with a resolution deadline")
    return reference, body


def test_discovery_and_services(system):
    discovery = o311(system, "GET", "/discovery.json").json()
    assert discovery["endpoints"][0]["url"] == f"{system.base_url}/open311/v2"
    services = o311(system, "GET", "/services.json", DEMO).json()
    assert "sanitation" in [s["service_code"] for s in services] and services[0]["type"] == "realtime"
    root = ET.fromstring(o311(system, "GET", "/services.xml", DEMO).content)
    assert root.tag == "services" and root.find("service/service_name").text
    definition = o311(system, "GET", "/services/sanitation.xml", DEMO)
    assert ET.fromstring(definition.content).findtext("service_code") == "sanitation"


def test_filed_request_is_a_complaint_staff_can_see(system, filed):
    reference, body = filed
    headers = system.headers("admin@demo")
    listed = requests.get(f"{system.api}/complaints", params={"channel": "open311", "limit": 200}, headers=headers,
                          timeout=TIMEOUT).json()["items"]
    [mine] = [c for c in listed if c["reference"] == reference]
    complaint = requests.get(f"{system.api}/complaints/{mine['id']}", headers=headers, timeout=TIMEOUT).json()
    assert complaint["channel"] == "open311" and complaint["category"] == "sanitation"
    phone = complaint["complainant"]["phone"]  # "+86 139 0013 9311" kept as a mainland mobile (the API may mask it)
    assert phone.startswith("139") and phone.endswith("9311") and complaint["complainant"]["name"].startswith("陈")
    assert body["description"] in complaint["description"] and "锦绣花园 3栋 楼道" in complaint["description"]


def test_get_list_and_token(system, filed):
    reference, body = filed
    [one] = o311(system, "GET", f"/requests/{reference}.json", DEMO).json()
    assert one["status"] == "open" and one["service_code"] == "sanitation" and one["description"] == body["description"]
    assert one["requested_datetime"].endswith("+08:00") and one["expected_datetime"].endswith("+08:00")
    assert one["address"] == body["address_string"] and one["lat"] == pytest.approx(31.230416)
    assert one["media_url"] == body["media_url"] and one["agency_responsible"]
    for fmt in ("json", "xml"):
        text = o311(system, "GET", f"/requests.{fmt}", DEMO).text
        assert reference in text
        assert all(private not in text for private in ("13900139311", "o311@example.com", "device-311", "陈敏",
                                                       "acct-311"))
    root = ET.fromstring(o311(system, "GET", "/requests.xml", DEMO, params={"service_request_id": reference}).content)
    assert [r.findtext("service_request_id") for r in root.findall("request")] == [reference]
    complaint_id = next(c["id"] for c in requests.get(
        f"{system.api}/complaints", params={"channel": "open311", "limit": 200}, headers=system.headers("admin@demo"),
        timeout=TIMEOUT).json()["items"] if c["reference"] == reference)
    token = o311(system, "GET", f"/tokens/{complaint_id}.json", DEMO).json()
    assert token == [{"service_request_id": reference, "token": complaint_id}]


def test_closing_the_case_closes_the_request(system, filed):
    reference, _ = filed
    headers = system.headers("admin@demo")
    complaint_id = next(c["id"] for c in requests.get(
        f"{system.api}/complaints", params={"channel": "open311", "limit": 200}, headers=headers,
        timeout=TIMEOUT).json()["items"] if c["reference"] == reference)
    url = f"{system.api}/complaints/{complaint_id}"
    etag = requests.get(url, headers=headers, timeout=TIMEOUT).headers["ETag"]
    for body in ({"action": "resolve", "cause": "staff_service", "remedy": "已安排保洁清运并加密巡查"},
                 {"action": "accept"}):
        r = requests.post(f"{url}/actions", json=body, headers=headers | {"If-Match": etag}, timeout=TIMEOUT)
        assert r.status_code == 200, r.text
        etag = r.headers["ETag"]
    [one] = o311(system, "GET", f"/requests/{reference}.json", DEMO).json()
    assert one["status"] == "closed" and "已安排保洁清运并加密巡查" in one["status_notes"]
    closed = o311(system, "GET", "/requests.json", DEMO, params={"status": "closed"}).json()
    assert reference in [r["service_request_id"] for r in closed]
    still_open = o311(system, "GET", "/requests.json", DEMO, params={"status": "open"}).json()
    assert reference not in [r["service_request_id"] for r in still_open]


def test_errors_in_the_spec_format(system):
    no_key = o311(system, "GET", "/services.xml")
    assert no_key.status_code == 403 and ET.fromstring(no_key.content).findtext("error/code") == "403"
    unknown = o311(system, "POST", "/requests.json", data=form(jurisdiction_id="OTHER-RES"))
    assert unknown.status_code == 404 and unknown.json()[0]["code"] == 404
    no_place = o311(system, "POST", "/requests.json", data=form(lat="", long="", address_string=""))
    assert no_place.status_code == 400 and no_place.json()[0]["code"] == 400
    anonymous = o311(system, "POST", "/requests.json", data=form(phone="", email=""), headers={"Accept-Language": "en"})
    assert anonymous.status_code == 400 and "phone or email" in anonymous.json()[0]["description"]
    assert o311(system, "GET", "/requests/TS20000101-NOPE00.json", DEMO).status_code == 404
    assert o311(system, "GET", f"/tokens/{uuid.uuid4()}.xml", DEMO).status_code == 404


def test_another_tenants_key_sees_nothing(system, filed):
    reference, _ = filed
    assert o311(system, "GET", f"/requests/{reference}.json", OTHER).status_code == 404
    assert o311(system, "GET", "/requests.json", OTHER, params={"service_request_id": reference}).json() == []
    assert reference not in o311(system, "GET", "/requests.json", OTHER).text
    r = o311(system, "POST", "/requests.json", OTHER, data=form(api_key="other-api-key"))
    assert r.status_code == 404  # DEMO-RES is not an estate of tenant other


def test_group_admin_issues_and_revokes_a_key(system):
    headers = system.headers("admin@demo")
    created = requests.post(f"{system.api}/api-keys", json={"name": "e2e 城市服务平台", "scopes": ["open311"]},
                            headers=headers, timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    key = created.json()
    assert o311(system, "GET", "/services.json", {"Authorization": f"ApiKey {key['key']}"}).status_code == 200
    listed = requests.get(f"{system.api}/api-keys", headers=headers, timeout=TIMEOUT).json()["items"]
    assert key["key"] not in str(listed) and [k for k in listed if k["id"] == key["id"]][0]["last_used_at"]
    assert requests.delete(f"{system.api}/api-keys/{key['id']}", headers=headers, timeout=TIMEOUT).status_code == 200
    assert o311(system, "GET", "/services.json", {"X-Api-Key": key["key"]}).status_code == 403
