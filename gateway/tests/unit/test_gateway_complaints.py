import uuid

import pytest
from nameko.exceptions import RpcTimeout

from estatedesk_common.demo import DEMO_TENANT, demo_id


def valid_complaint(**overrides):
    body = {"estate": "DEMO-RES", "channel": "wechat", "description": "  电梯故障，已停运两天  ",
            "complainant": {"name": "刘女士", "phone": "13800138000", "unit": "1栋 101"}}
    body.update(overrides)
    return body


def registered(data):
    return {"id": str(uuid.uuid4()), "reference": "C-20261124-0001", "status": "received",
            "estate": {"code": data["estate"], "name": "锦绣花园", "kind": "residential",
                       "timezone": "Asia/Shanghai"},
            "channel": data["channel"], "category": None, "severity": None, "urgent": data["urgent"],
            "description": data["description"], "complainant": data["complainant"],
            "received_at": "2026-11-24T05:00:00+00:00", "received_by": None, "timeline": []}


def test_create_passes_principal_and_data_to_intake(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", registered)
    response = client.post("/api/v1/complaints", json=valid_complaint(),
                           headers={**auth_headers, "X-Request-ID": "req-create-1"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"] == f"/api/v1/complaints/{body['id']}"
    (call,) = fake_rpc.calls
    assert (call["service"], call["method"]) == ("intake", "register_complaint")
    data = call["args"][0]
    assert data["description"] == "电梯故障，已停运两天"
    assert data["complainant"]["phone"] == "13800138000" and data["complainant"]["email"] is None
    assert data["urgent"] is False and data["category"] is None
    assert call["context"]["tenant_id"] == DEMO_TENANT["id"]
    assert call["context"]["user_id"] == demo_id("user", "agent@demo")
    assert call["context"]["request_id"] == "req-create-1"
    assert ["agent", "DEMO-RES"] in call["context"]["roles"]


def test_channel_defaults_to_web(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", registered)
    body = valid_complaint()
    del body["channel"]
    client.post("/api/v1/complaints", json=body, headers=auth_headers)
    assert fake_rpc.calls[0]["args"][0]["channel"] == "web"


def test_tenant_in_body_is_refused(client, auth_headers, fake_rpc):
    response = client.post("/api/v1/complaints", json=valid_complaint(tenant_id=str(uuid.uuid4())),
                           headers=auth_headers)
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == "tenant_id"
    assert fake_rpc.calls == []


def test_body_must_be_json(client, auth_headers):
    response = client.post("/api/v1/complaints", data="estate=DEMO-RES", headers=auth_headers,
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert response.get_json()["error"] == "unsupported_media_type"


def test_malformed_json(client, auth_headers):
    response = client.post("/api/v1/complaints", data='{"estate": "DEMO-RES",', headers=auth_headers,
                           content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "malformed_json"


def test_body_over_one_mib(client, auth_headers, fake_rpc):
    response = client.post("/api/v1/complaints", json=valid_complaint(description="x" * (1024 * 1024)),
                           headers=auth_headers)
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert fake_rpc.calls == []


@pytest.mark.parametrize("overrides,field", [
    ({"description": None}, "description"),
    ({"description": "   "}, "description"),
    ({"description": "x" * 5001}, "description"),
    ({"estate": ""}, "estate"),
    ({"channel": "fax"}, "channel"),
    ({"complainant": {"name": "刘", "phone": "call me"}}, "complainant.phone"),
    ({"complainant": {"name": "刘"}}, "complainant.phone"),
    ({"complainant": {"name": "刘", "email": "not-an-address"}}, "complainant.email"),
    ({"severity": "s" * 41}, "severity"),
])
def test_validation_names_the_first_bad_field(client, auth_headers, fake_rpc, overrides, field):
    body = valid_complaint(**overrides)
    body = {k: v for k, v in body.items() if v is not None}
    response = client.post("/api/v1/complaints", json=body, headers=auth_headers)
    assert response.status_code == 422
    payload = response.get_json()
    assert payload["error"] == "validation_failed"
    assert payload["details"]["field"] == field
    assert payload["details"]["fields"]
    assert fake_rpc.calls == []


def test_email_alone_is_enough_contact(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", registered)
    body = valid_complaint(complainant={"email": "liu@example.com"})
    assert client.post("/api/v1/complaints", json=body, headers=auth_headers).status_code == 201


def test_landline_is_accepted(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", registered)
    body = valid_complaint(complainant={"phone": "021-6888-1234"})
    assert client.post("/api/v1/complaints", json=body, headers=auth_headers).status_code == 201


def test_unknown_estate_from_intake_is_404(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "register_complaint",
                   remote_error("NotFound", 404, "estate_not_found", "no estate NOPE", field="estate"))
    response = client.post("/api/v1/complaints", json=valid_complaint(estate="NOPE"), headers=auth_headers)
    assert response.status_code == 404
    body = response.get_json()
    assert body["error"] == "estate_not_found"
    assert body["details"] == {"field": "estate"}
    assert body["message"] == "找不到该项目（小区）"


def test_rpc_timeout_is_503_with_retry_after(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "register_complaint", RpcTimeout(5))
    response = client.post("/api/v1/complaints", json=valid_complaint(), headers=auth_headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "service_unavailable"


def _complaint(complaint_id):
    return {"id": complaint_id, "reference": "C-1", "status": "received",
            "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai"},
            "channel": "web", "category": "lift", "severity": "high", "urgent": True, "description": "电梯故障",
            "complainant": {"name": "刘", "phone": "13800138000", "email": None, "unit": None},
            "received_at": "2026-11-24T01:00:00+00:00", "received_by": "u",
            "timeline": [{"at": "2026-11-24T01:00:00+00:00", "kind": "received", "actor": "web", "text": "收到"}]}


def test_get_merges_timelines_and_uses_case_status(client, auth_headers, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("intake", "get_complaint", _complaint)
    fake_rpc.reply("workflow", "get_case", {
        "complaint_id": cid, "status": "in_progress", "severity": "high",
        "deadlines": [{"stage": "acknowledge", "due_at": "2026-11-24T03:00:00Z", "met_at": "2026-11-24T02:00:00Z",
                       "explanation": "集团默认时限：受理后 60 分钟内"}],
        "timeline": [{"at": "2026-11-24T02:00:00Z", "kind": "assigned", "actor": demo_id("user", "supervisor@demo"),
                      "text": "已派单"},
                     {"at": "2026-11-24T01:30:00.250+00:00", "kind": "opened", "actor": "system", "text": "立案"}]})
    fake_rpc.reply("notify", "get_timeline", [
        {"at": "2026-11-24T09:15:00+08:00", "kind": "sms_sent", "actor": "notify", "text": "短信已发送"}])
    response = client.get(f"/api/v1/complaints/{cid}", headers=auth_headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["id"] == cid and body["status"] == "in_progress"
    assert body["deadlines"] == [{"stage": "acknowledge", "due_at": "2026-11-24T03:00:00Z",
                                  "met_at": "2026-11-24T02:00:00Z", "explanation": "集团默认时限：受理后 60 分钟内",
                                  "original_due_at": None}]
    assert [e["kind"] for e in body["timeline"]] == ["received", "sms_sent", "opened", "assigned"]
    assert body["timeline"][-1]["actor"] == "客服主管 李"  # a user of this tenant is shown by name
    assert [c["method"] for c in fake_rpc.calls] == ["get_complaint", "get_case", "get_timeline"]
    assert all(c["context"]["tenant_id"] == DEMO_TENANT["id"] for c in fake_rpc.calls)


def test_get_before_the_case_is_opened(client, auth_headers, fake_rpc, remote_error):
    cid = str(uuid.uuid4())
    fake_rpc.reply("intake", "get_complaint", _complaint)
    fake_rpc.reply("workflow", "get_case", remote_error("NotFound", 404, "case_not_found"))
    fake_rpc.reply("notify", "get_timeline", remote_error("NotFound", 404, "not_found"))
    body = client.get(f"/api/v1/complaints/{cid}", headers=auth_headers).get_json()
    assert body["status"] == "received"
    assert body["deadlines"] == []
    assert [e["kind"] for e in body["timeline"]] == ["received"]


def test_get_unknown_complaint(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "get_complaint", remote_error("NotFound", 404, "complaint_not_found"))
    response = client.get(f"/api/v1/complaints/{uuid.uuid4()}", headers=auth_headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == "complaint_not_found"


def test_get_malformed_id_is_404_without_calling_services(client, auth_headers, fake_rpc):
    response = client.get("/api/v1/complaints/not-an-id", headers=auth_headers)
    assert response.status_code == 404
    assert response.get_json()["error"] == "complaint_not_found"
    assert fake_rpc.calls == []


def test_workflow_failure_other_than_not_found_is_not_hidden(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "get_complaint", _complaint)
    fake_rpc.reply("workflow", "get_case", RpcTimeout(5))
    fake_rpc.reply("notify", "get_timeline", [])
    response = client.get(f"/api/v1/complaints/{uuid.uuid4()}", headers=auth_headers)
    assert response.status_code == 503


def test_estates(client, auth_headers, fake_rpc):
    estates = [{"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                "region": "EAST"}]
    fake_rpc.reply("intake", "list_estates", estates)
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 200
    assert response.get_json() == estates


def test_nul_characters_are_refused_with_the_field(client, auth_headers, fake_rpc):
    body = valid_complaint()
    body["complainant"]["name"] = "王\u0000先生"
    r = client.post("/api/v1/complaints", json=body, headers=auth_headers)
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "complainant.name"
    assert not [c for c in fake_rpc.calls if c["method"] == "register_complaint"]
