"""Open311 GeoReport v2 routes with a fake RPC: formats, the POST form, request views, errors, tenant."""
from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET

import pytest
from nameko.exceptions import RpcTimeout

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT

KEY = {"X-Api-Key": "demo-api-key"}
CATEGORIES = [
    {"key": "facilities_equipment", "name": "设施设备", "name_en": "Facilities & equipment",
     "keywords": ["电梯", "困人"]},
    {"key": "sanitation", "name": "环境卫生", "name_en": "Sanitation", "keywords": ["垃圾"]},
]
ESTATES = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
            "region": "EAST"}]
FORM = {"jurisdiction_id": "DEMO-RES", "service_code": "facilities_equipment", "lat": "31.2304", "long": "121.4737",
        "address_string": "1栋 电梯厅", "description": "电梯困人", "phone": "+86 138 0013 8000",
        "email": "wang@example.com", "first_name": "伟", "last_name": "王", "device_id": "dev-1",
        "account_id": "acc-9", "media_url": "https://img.example.com/1.jpg", "attribute[floor]": "3"}


def item(reference="TS20261203-AAAAAA", received="2026-12-03T01:00:00+00:00", category="facilities_equipment",
         **public):
    return {"id": str(uuid.uuid4()), "reference": reference, "estate_code": "DEMO-RES", "estate_name": "锦绣花园",
            "timezone": "Asia/Shanghai", "category": category, "status": "received", "received_at": received,
            "public": public}


def summary(one, status, **over):
    return {"complaint_id": one["id"], "status": status, "closed": status in ("closed", "cancelled"),
            "updated_at": "2026-12-04T02:00:00+00:00", "resolution_due_at": "2026-12-08T10:00:00+00:00",
            "resolved_at": None, "remedy": None, "cancel_reason": None, "estate_name": "锦绣花园"} | over


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("intake", "list_categories", CATEGORIES)
    fake_rpc.reply("intake", "list_estates", ESTATES)
    return fake_rpc


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def test_discovery_is_public_in_both_formats(client):
    body = client.get("/open311/v2/discovery.json").get_json()
    assert body["endpoints"][0]["url"].endswith("/open311/v2")
    assert body["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    xml = client.get("/open311/v2/discovery.xml")
    assert xml.content_type.startswith("text/xml") and xml.data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert ET.fromstring(xml.data).find("endpoints/endpoint/formats/format").text == "text/xml"


def test_services_are_the_tenants_categories(client, rpc):
    body = client.get("/open311/v2/services.json", headers=KEY).get_json()
    assert [s["service_code"] for s in body] == ["facilities_equipment", "sanitation"]
    assert body[0] | {"description": None} == {"service_code": "facilities_equipment", "service_name": "设施设备",
                                               "description": None, "metadata": False, "type": "realtime",
                                               "keywords": "电梯, 困人", "group": None}
    english = client.get("/open311/v2/services.json", headers=KEY | {"Accept-Language": "en"}).get_json()
    assert english[1]["service_name"] == "Sanitation"
    root = ET.fromstring(client.get("/open311/v2/services.xml", headers=KEY).data)
    assert root.tag == "services" and [s.findtext("service_code") for s in root] == ["facilities_equipment",
                                                                                      "sanitation"]
    assert calls(rpc, "list_categories")[0]["context"]["tenant_id"] == DEMO_TENANT["id"]


def test_service_definition_and_unknown_codes(client, rpc):
    assert client.get("/open311/v2/services/sanitation.json", headers=KEY).get_json() == {
        "service_code": "sanitation", "attributes": []}
    root = ET.fromstring(client.get("/open311/v2/services/sanitation.xml", headers=KEY).data)
    assert root.tag == "service_definition" and root.find("attributes") is not None
    missing = client.get("/open311/v2/services/nope.json", headers=KEY)
    assert missing.status_code == 404 and missing.get_json()[0]["code"] == 404
    assert client.get("/open311/v2/services.json?jurisdiction_id=OTHER-RES", headers=KEY).status_code == 404
    assert client.get("/open311/v2/services.csv", headers=KEY).status_code == 404


@pytest.mark.parametrize("headers, query", [({}, ""), ({"X-Api-Key": "wrong"}, ""), ({}, "?api_key=nope")])
def test_a_missing_or_wrong_key_is_403_in_the_spec_format(client, rpc, headers, query):
    for fmt in ("json", "xml"):
        response = client.get(f"/open311/v2/services.{fmt}{query}", headers=headers)
        assert response.status_code == 403
        if fmt == "json":
            assert response.get_json()[0]["code"] == 403 and response.get_json()[0]["description"]
        else:
            assert ET.fromstring(response.data).findtext("error/code") == "403"
    assert not calls(rpc, "list_categories")


def test_post_registers_an_open311_complaint(client, rpc):
    rpc.reply("intake", "register_complaint", lambda data: {"id": str(uuid.uuid4()), "reference": "TS20261203-K2M4QX"})
    response = client.post("/open311/v2/requests.json", data=FORM | {"api_key": "demo-api-key"})
    assert response.status_code == 200, response.data
    body = response.get_json()
    assert body == [{"service_request_id": "TS20261203-K2M4QX", "service_notice": body[0]["service_notice"],
                     "account_id": "acc-9"}] and "token" not in body[0]
    call = calls(rpc, "register_complaint")[0]
    data = call["args"][0]
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"] and "user_id" not in call["context"]
    assert data["channel"] == "open311" and data["estate"] == "DEMO-RES" and data["category"] == "facilities_equipment"
    assert data["complainant"] == {"name": "王伟", "phone": "13800138000", "email": "wang@example.com", "unit": None}
    assert data["description"].startswith("电梯困人\n位置：1栋 电梯厅；31.230400, 121.473700")
    assert "https://img.example.com/1.jpg" in data["description"]
    assert data["open311"]["attribute"] == {"floor": "3"} and "api_key" not in data["open311"]
    assert data["open311"]["device_id"] == "dev-1" and data["open311_client"]["api_key_id"]


def test_post_answers_in_xml(client, rpc):
    rpc.reply("intake", "register_complaint", {"id": str(uuid.uuid4()), "reference": "TS20261203-XML001"})
    root = ET.fromstring(client.post("/open311/v2/requests.xml", data=FORM, headers=KEY).data)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == "TS20261203-XML001"


@pytest.mark.parametrize("change, status, word", [
    ({"jurisdiction_id": ""}, 400, "jurisdiction_id"), ({"service_code": ""}, 400, "service_code"),
    ({"lat": "", "long": "", "address_string": ""}, 400, "address_string"), ({"long": ""}, 400, "long"),
    ({"lat": "91"}, 400, "lat"), ({"lat": "nan"}, 400, "lat"), ({"phone": "", "email": ""}, 400, "phone"),
    ({"phone": "12"}, 400, "phone"), ({"email": "not-mail"}, 400, "email"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"), ({"description": "x" * 4001}, 400, "description"),
    ({"service_code": "nope"}, 404, "nope"),
])
def test_post_refusals_name_the_parameter(client, rpc, change, status, word):
    rpc.reply("intake", "register_complaint", AssertionError("must not be called"))
    response = client.post("/open311/v2/requests.json", data=FORM | change, headers=KEY | {"Accept-Language": "en"})
    assert response.status_code == status, response.data
    assert response.get_json()[0]["code"] == status and word in response.get_json()[0]["description"]


def test_post_maps_intakes_refusals(client, rpc, remote_error):
    rpc.reply("intake", "register_complaint", remote_error("EstateNotFound", 404, "estate_not_found", field="estate"))
    unknown = client.post("/open311/v2/requests.json", data=FORM | {"jurisdiction_id": "OTHER-RES"}, headers=KEY)
    assert unknown.status_code == 404 and "OTHER-RES" in unknown.get_json()[0]["description"]
    rpc.reply("intake", "register_complaint", remote_error("ValidationFailed", 422, "validation_failed",
                                                           field="complainant.email"))
    invalid = client.post("/open311/v2/requests.json", data=FORM, headers=KEY)
    assert invalid.status_code == 400 and "email" in invalid.get_json()[0]["description"]
    rpc.reply("intake", "register_complaint", RpcTimeout("intake"))
    down = client.post("/open311/v2/requests.xml", data=FORM, headers=KEY)
    assert down.status_code == 400 and down.headers["Retry-After"] == "5"  # spec: general service error
    assert ET.fromstring(down.data).findtext("error/code") == "400"


def test_get_requests_maps_cases_to_open_and_closed(client, rpc):
    fresh, done, cancelled = (item("TS20261203-AAAAAA", address_string="1栋", lat=31.2, long=121.4,
                                   description="电梯困人"),
                              item("TS20261202-BBBBBB"), item("TS20261201-CCCCCC"))
    rpc.reply("intake", "list_open311_requests", {"items": [fresh, done, cancelled], "more": False})
    rpc.reply("workflow", "case_summaries", lambda ids: [summary(done, "closed", remedy="已更换钢丝绳"),
                                                         summary(cancelled, "cancelled", cancel_reason="重复投诉")])
    body = client.get("/open311/v2/requests.json", headers=KEY).get_json()
    assert [(r["service_request_id"], r["status"]) for r in body] == [
        ("TS20261203-AAAAAA", "open"), ("TS20261202-BBBBBB", "closed"), ("TS20261201-CCCCCC", "closed")]
    first = body[0]
    assert list(first) == ["service_request_id", "status", "status_notes", "service_name", "service_code",
                           "description", "agency_responsible", "service_notice", "requested_datetime",
                           "updated_datetime", "expected_datetime", "address", "address_id", "zipcode", "lat",
                           "long", "media_url"]
    assert first["requested_datetime"] == "2026-12-03T09:00:00+08:00" and first["expected_datetime"] is None
    assert first["address"] == "1栋" and first["lat"] == 31.2 and first["service_name"] == "设施设备"
    assert body[1]["expected_datetime"] == "2026-12-08T18:00:00+08:00"
    assert "已更换钢丝绳" in body[1]["status_notes"]
    assert body[1]["updated_datetime"] == "2026-12-04T10:00:00+08:00" and body[2]["status_notes"] == "重复投诉"
    query = calls(rpc, "list_open311_requests")[0]["kwargs"]
    start, end = (dt.datetime.fromisoformat(query[k]) for k in ("received_from", "received_to"))
    assert end - start == dt.timedelta(days=90) and query["limit"] == 1000
    closed = client.get("/open311/v2/requests.json?status=closed", headers=KEY).get_json()
    assert [r["service_request_id"] for r in closed] == ["TS20261202-BBBBBB", "TS20261201-CCCCCC"]


def test_get_requests_filters_and_their_errors(client, rpc):
    rpc.reply("intake", "list_open311_requests", {"items": [], "more": False})
    ok = client.get("/open311/v2/requests.json?service_request_id=TS1,ts2&status=bogus&start_date=x", headers=KEY)
    assert ok.status_code == 200 and calls(rpc, "list_open311_requests")[-1]["kwargs"]["references"] == ["TS1", "ts2"]
    client.get("/open311/v2/requests.json?jurisdiction_id=DEMO-RES&service_code=sanitation"
               "&start_date=2026-11-01T00:00:00Z&end_date=2026-11-30T00:00:00%2B08:00", headers=KEY)
    query = calls(rpc, "list_open311_requests")[-1]["kwargs"]
    assert query["estate"] == "DEMO-RES" and query["category"] == "sanitation"
    assert query["received_to"] == "2026-11-30T00:00:00+08:00"
    for bad, status in (("status=pending", 400), ("start_date=yesterday", 400), ("start_date=2026-01-01T00:00:00",
                        400), ("start_date=2026-01-01T00:00:00Z&end_date=2026-06-01T00:00:00Z", 400),
                        ("start_date=2026-06-01T00:00:00Z&end_date=2026-01-01T00:00:00Z", 400),
                        ("jurisdiction_id=OTHER-RES", 404)):
        response = client.get(f"/open311/v2/requests.json?{bad}", headers=KEY)
        assert response.status_code == status, bad
        assert response.get_json()[0]["code"] == status


def test_private_fields_never_leave(client, rpc):
    one = item(description="路灯不亮", email="x@example.com", phone="13800138000")  # as if intake leaked them
    rpc.reply("intake", "list_open311_requests", {"items": [one], "more": False})
    rpc.reply("workflow", "case_summaries", [])
    for fmt in ("json", "xml"):
        text = client.get(f"/open311/v2/requests.{fmt}", headers=KEY).get_data(as_text=True)
        assert "路灯不亮" in text and "x@example.com" not in text and "13800138000" not in text


def test_xml_output_cannot_be_injected(client, rpc):
    evil = "</description><status>closed</status>&amp;<![CDATA[x]]>\x01\x0b\ud800"
    rpc.reply("intake", "list_open311_requests", {"items": [item(description=evil)], "more": False})
    rpc.reply("workflow", "case_summaries", [])
    root = ET.fromstring(client.get("/open311/v2/requests.xml", headers=KEY).data)
    request = root.find("request")
    assert request.findtext("status") == "open" and len(request.findall("status")) == 1
    assert request.findtext("description") == "</description><status>closed</status>&amp;<![CDATA[x]]>"


def test_get_one_request_and_token(client, rpc):
    one = item("TS20261203-AAAAAA")
    rpc.reply("intake", "list_open311_requests", {"items": [one], "more": False})
    rpc.reply("workflow", "case_summaries", [summary(one, "in_progress")])
    body = client.get("/open311/v2/requests/TS20261203-AAAAAA.json", headers=KEY).get_json()
    assert body[0]["status"] == "open" and body[0]["status_notes"] == "处理中"
    assert calls(rpc, "list_open311_requests")[-1]["kwargs"]["references"] == ["TS20261203-AAAAAA"]
    rpc.reply("intake", "list_open311_requests", {"items": [], "more": False})
    assert client.get("/open311/v2/requests/TS20261203-ZZZZZZ.xml", headers=KEY).status_code == 404
    rpc.reply("intake", "get_complaint", {"id": one["id"], "reference": one["reference"], "channel": "open311"})
    token = client.get(f"/open311/v2/tokens/{one['id']}.json", headers=KEY).get_json()
    assert token == [{"service_request_id": "TS20261203-AAAAAA", "token": one["id"]}]
    rpc.reply("intake", "get_complaint", {"id": one["id"], "reference": one["reference"], "channel": "hotline"})
    assert client.get(f"/open311/v2/tokens/{one['id']}.json", headers=KEY).status_code == 404


def test_the_key_decides_the_tenant(client, rpc):
    rpc.reply("intake", "list_open311_requests", {"items": [], "more": False})
    client.get("/open311/v2/requests.json", headers={"X-Api-Key": "other-api-key"})
    assert calls(rpc, "list_open311_requests")[-1]["context"]["tenant_id"] == OTHER_TENANT["id"]
