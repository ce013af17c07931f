import logging
import socket

import pytest
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService


def test_unexpected_exception_is_500_json_without_traceback(client, auth_headers, fake_rpc, caplog):
    fake_rpc.reply("intake", "list_estates", KeyError("secret-internal-detail"))
    with caplog.at_level(logging.ERROR, logger="gateway.errors"):
        response = client.get("/api/v1/estates", headers={**auth_headers, "X-Request-ID": "req-500"})
    assert response.status_code == 500
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert body["error"] == "internal_error"
    assert body["details"] == {"request_id": "req-500"}
    assert "req-500" in body["message"]
    text = response.get_data(as_text=True)
    assert "Traceback" not in text and "secret-internal-detail" not in text
    assert any(r.exc_info and "secret-internal-detail" in str(r.exc_info[1]) for r in caplog.records)


def test_remote_error_that_is_not_ours_is_500(client, auth_headers, fake_rpc):
    fake_rpc.reply("intake", "list_estates", RemoteError("KeyError", "'estate'"))
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 500
    assert "KeyError" not in response.get_data(as_text=True)


def test_service_message_is_kept_when_code_has_no_translation(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "list_estates", remote_error("Conflict", 409, "duplicate_reference", "已存在"))
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 409
    assert response.get_json() == {"error": "duplicate_reference", "message": "已存在", "details": {}}


@pytest.mark.parametrize("exc", [UnknownService("intake"), socket.error("connection refused"),
                                 OperationalError("broker down"), ConnectionRefusedError(111, "refused")])
def test_broker_trouble_is_503(client, auth_headers, fake_rpc, exc):
    fake_rpc.reply("intake", "list_estates", exc)
    response = client.get("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["error"] == "service_unavailable"


def test_unknown_route_is_json_404(client):
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not_found"


def test_wrong_method_is_json_405(client, auth_headers):
    response = client.delete("/api/v1/estates", headers=auth_headers)
    assert response.status_code == 405
    assert response.get_json()["error"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]


def test_messages_default_to_chinese(client):
    response = client.get("/api/v1/me")
    assert response.get_json()["message"] == "请先登录"
    assert response.headers["Content-Language"] == "zh-CN"


def test_messages_in_english_when_preferred(client):
    response = client.get("/api/v1/me", headers={"Accept-Language": "en-US,en;q=0.9,zh-CN;q=0.5"})
    assert response.get_json()["message"] == "Authentication required"
    assert response.headers["Content-Language"] == "en"


def test_service_error_translated_to_english(client, auth_headers, fake_rpc, remote_error):
    fake_rpc.reply("intake", "get_complaint", remote_error("NotFound", 404, "complaint_not_found", "没有"))
    response = client.get("/api/v1/complaints/7d9f3c1e-59a5-4d57-9d9c-2c4a1f6f0b11",
                          headers={**auth_headers, "Accept-Language": "en"})
    assert response.get_json()["message"] == "Complaint not found"


def test_service_validation_error_names_its_field(client, auth_headers, fake_rpc, remote_error):
    """The catalogue's text has a {field} placeholder: filled from the service's details, never shown literally."""
    url = "/api/v1/complaints/7d9f3c1e-59a5-4d57-9d9c-2c4a1f6f0b11"
    fake_rpc.reply("intake", "get_complaint", remote_error("ValidationFailed", 422, "validation_failed",
                                                           field="location.building"))
    named = client.get(url, headers=auth_headers).get_json()
    assert named["message"] == "提交的数据有误：location.building" and named["details"]["field"] == "location.building"
    fake_rpc.reply("intake", "get_complaint", remote_error("ValidationFailed", 422, "validation_failed"))
    unnamed = client.get(url, headers={**auth_headers, "Accept-Language": "en"}).get_json()
    assert unnamed["message"] == "Invalid data"


def test_request_id_is_echoed_or_made_up(client):
    given = client.get("/api/v1/me", headers={"X-Request-ID": "abc-123"})
    assert given.headers["X-Request-ID"] == "abc-123"
    insane = client.get("/api/v1/me", headers={"X-Request-ID": "<script>" + "x" * 300})
    assert insane.headers["X-Request-ID"] != "" and "<" not in insane.headers["X-Request-ID"]
