"""Hostile API input against the real gateway app (fake services): always a clear 4xx, never a 500
(issue 9, Security 3): JSON bombs and deep nesting, huge numbers, oversized bodies (413), wrong content types
(415), CR/LF in e-mail addresses, SQL in list filters (passed on as plain data), XSS in console pages."""
from __future__ import annotations

import re
import uuid

import pytest

from estatedesk_common.demo import DEMO_PASSWORD

JSON = {"Content-Type": "application/json"}
GOOD = {"estate": "DEMO-RES", "description": "电梯困人", "complainant": {"name": "王先生", "phone": "13800138000"}}

BOMBS = {
    "deep arrays": b"[" * 100_000 + b"]" * 100_000,
    "deep objects": b'{"a":' * 50_000 + b"1" + b"}" * 50_000,
    "deep in a field": b'{"estate": "DEMO-RES", "description": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
    "a 5000-digit integer": b'{"estate": 1' + b"0" * 5000 + b"}",
    "a float overflowing to inf": b'{"estate": "DEMO-RES", "description": 1e999, "complainant": {}}',
    "NaN": b"NaN",
    "many keys": b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(50_000)) + b"}",
    "a long string of escapes": b'{"description": "' + b"\\u0000" * 100_000 + b'"}',
    "lone surrogates": b'{"estate": "DEMO-RES", "description": "\\ud800\\udfff\\udc00", "complainant": '
                       b'{"phone": "13800138000"}}',
    "not utf-8": b'{"description": "\xff\xfe"}',
    "duplicate keys": b'{"estate": "DEMO-RES", "estate": {"$ne": null}}',
    "empty body": b"",
}
POST_ROUTES = ["/api/v1/complaints", "/api/v1/classification/suggest", "/api/v1/sla/preview",
               f"/api/v1/complaints/{uuid.uuid4()}/classification", "/api/v1/auth/token"]


@pytest.mark.parametrize("route", POST_ROUTES)
@pytest.mark.parametrize("name", sorted(BOMBS))
def test_json_bombs_get_a_clear_4xx(client, auth, route, name):
    r = client.post(route, data=BOMBS[name], headers=auth("admin@demo") | JSON)
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data()[:300])
    assert r.get_json()["error"] in ("malformed_json", "validation_failed", "not_found", "payload_too_large",
                                     "estate_not_found", "forbidden", "invalid_credentials")


def test_case_action_bombs_need_if_match_then_get_a_4xx(client, auth):
    for body in BOMBS.values():
        r = client.post(f"/api/v1/complaints/{uuid.uuid4()}/actions", data=body,
                        headers=auth("admin@demo") | JSON | {"If-Match": '"1"'})
        assert 400 <= r.status_code < 500, (r.status_code, r.get_data()[:300])


@pytest.mark.parametrize("route", POST_ROUTES)
def test_oversized_bodies_are_413(client, auth, route):
    body = b'{"description": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    # as a caller every route lets in (a role a route refuses gets its 403 before the body is read)
    r = client.post(route, data=body, headers=auth("admin@demo") | JSON)
    assert r.status_code == 413 and r.get_json()["error"] == "payload_too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; "
                                          "boundary=x", "application/xml", "text/xml", "application/json-patch",
                                          None])
def test_wrong_content_types_are_415(client, auth, content_type):
    headers = auth() | ({"Content-Type": content_type} if content_type else {})
    r = client.post("/api/v1/complaints", data=b'{"estate": "DEMO-RES"}', headers=headers)
    assert r.status_code == 415 and r.get_json()["error"] == "unsupported_media_type"


@pytest.mark.parametrize("email", ["owner@example.com\r\nBcc: victim@example.com", "owner@example.com\nX: 1",
                                   "\"a\r\nb\"@example.com", "owner@example.com%0d%0aBcc:victim@example.com"])
def test_cr_lf_in_the_complainant_email_is_refused(client, auth, fake_rpc, email):
    body = GOOD | {"complainant": {"name": "王先生", "email": email}}
    r = client.post("/api/v1/complaints", json=body, headers=auth())
    assert r.status_code == 422 and r.get_json()["details"]["field"] == "complainant.email"
    assert not [c for c in fake_rpc.calls if c[1] == "register_complaint"]


def test_cr_lf_in_the_complainant_name_is_data_not_a_header(client, auth, fake_rpc):
    fake_rpc.replies[("intake", "register_complaint")] = {"id": str(uuid.uuid4()), "reference": "TS1"}
    body = GOOD | {"complainant": {"name": "王\r\nBcc: victim@example.com", "phone": "13800138000"}}
    r = client.post("/api/v1/complaints", json=body, headers=auth())
    assert r.status_code == 201  # kept as text; notify collapses it in the subject (test_notify_outputs)


SQL = ["' OR 1=1--", "DEMO-RES' OR '1'='1", "'; DROP TABLE complaints;--", "\" OR \"\"=\"", "1 UNION SELECT * FROM users",
       "%' --", "\\'; --"]


@pytest.mark.parametrize("value", SQL)
def test_sql_in_list_filters_is_passed_on_as_plain_data(client, auth, fake_rpc, value):
    r = client.get("/api/v1/complaints", query_string={"estate": value, "status": value, "channel": value},
                   headers=auth())
    assert r.status_code == 200 and r.get_json() == {"total": 0, "items": []}
    [(service, method, args, kwargs)] = [c for c in fake_rpc.calls if c[1] == "list_complaints"]
    assert kwargs["estate"] == value  # a bound parameter downstream (tests/e2e/test_security_inputs.py)


@pytest.mark.parametrize("query", [{"limit": "1e9"}, {"limit": "9" * 5000}, {"offset": "-1"}, {"limit": "0x10"},
                                   {"limit": "1; DROP TABLE x"}])
def test_bad_paging_is_422(client, auth, query):
    r = client.get("/api/v1/complaints", query_string=query, headers=auth())
    assert r.status_code == 422, r.get_data()


XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _console_login(client, username="agent@demo"):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": username, "password": DEMO_PASSWORD, "csrf_token": token})
    assert r.status_code == 302


def _complaint(complaint_id: str) -> dict:
    return {"id": complaint_id, "reference": "TS20261124-7KQ2MX", "status": "received",
            "estate": {"code": "DEMO-RES", "name": XSS, "kind": "residential", "timezone": "Asia/Shanghai",
                       "region": "EAST"},
            "channel": "hotline", "category": XSS, "severity": XSS, "urgent": False, "description": XSS,
            "complainant": {"name": XSS, "phone": "13812345678", "email": "zhou@example.com", "unit": XSS},
            "received_at": "2026-11-24T05:00:00+00:00", "received_by": None,
            "timeline": [{"at": "2026-11-24T05:00:00+00:00", "kind": "complaint_received", "actor": XSS, "text": XSS}]}


def test_complaint_text_is_escaped_on_the_case_page(client, fake_rpc):
    complaint_id = str(uuid.uuid4())
    fake_rpc.replies[("intake", "get_complaint")] = _complaint(complaint_id)
    _console_login(client)
    r = client.get(f"/complaints/{complaint_id}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "&lt;script&gt;" in html
    assert "<script>alert" not in html and "<img src=x" not in html


def test_complaint_text_is_escaped_on_the_list_and_home_pages(client, fake_rpc):
    row = {"id": str(uuid.uuid4()), "reference": XSS, "status": "received", "estate_code": XSS, "estate_name": XSS,
           "channel": "hotline", "category": XSS, "severity": XSS, "received_at": "2026-11-24T05:00:00+00:00",
           "complainant_name": XSS}
    fake_rpc.replies[("intake", "list_complaints")] = {"total": 1, "items": [row]}
    _console_login(client, "supervisor@demo")
    for path in ("/complaints", "/", f"/complaints?estate={XSS}&status={XSS}"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html, path


def test_owner_status_page_escapes_the_complaint(client, fake_rpc):
    fake_rpc.replies[("intake", "find_by_reference")] = _complaint(str(uuid.uuid4()))
    page = client.get("/t/demo/status").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post("/t/demo/status", data={"reference": XSS[:32], "phone": "13812345678", "csrf_token": token})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "<script>alert" not in html and "<img src=x" not in html


def test_login_next_cannot_redirect_off_site(app):
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"):
        client = app.test_client()
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
        r = client.post("/login", query_string={"next": target},
                        data={"username": "agent@demo", "password": DEMO_PASSWORD, "csrf_token": token})
        assert r.status_code == 302 and "evil" not in r.headers["Location"] and "javascript" not in r.headers["Location"]


def test_lone_surrogates_are_malformed_json_not_a_500_downstream(client, auth, fake_rpc):
    body = b'{"estate": "DEMO-RES", "description": "\\udc00 x", "complainant": {"phone": "13800138000"}}'
    r = client.post("/api/v1/complaints", data=body, headers=auth() | JSON)
    assert r.status_code == 400 and r.get_json()["error"] == "malformed_json"
    assert not fake_rpc.calls
    paired = b'{"estate": "DEMO-RES", "description": "\\ud83c\\udfe2 x", "complainant": {"phone": "13800138000"}}'
    fake_rpc.replies[("intake", "register_complaint")] = {"id": str(uuid.uuid4()), "reference": "TS1"}
    assert client.post("/api/v1/complaints", data=paired, headers=auth() | JSON).status_code == 201


@pytest.mark.parametrize("body", [
    {"estate": "DEMO-RES", "description": "a\x00b", "complainant": {"phone": "13800138000"}},
    {"estate": "DEMO-RES", "description": "x", "complainant": {"phone": "13800138000", "name": "\x00"}},
    {"estate": "DEMO-RES", "description": "x", "complainant": {"phone": "13800138000"}, "k\x00": 1},
])
def test_nul_characters_in_a_body_are_refused_before_any_service(client, auth, fake_rpc, body):
    r = client.post("/api/v1/complaints", json=body, headers=auth())
    assert r.status_code in (400, 422) and r.get_json()["error"] in ("malformed_json", "validation_failed")
    assert not fake_rpc.calls


def test_nul_in_a_login_is_refused_before_the_database(client):
    r = client.post("/api/v1/auth/token", json={"username": "agent@demo\x00", "password": "x"})
    assert r.status_code in (400, 422)



def test_nul_check_survives_the_deepest_json_the_parser_accepts(client, auth):
    for depth in (200, 500, *range(900, 1000, 3)):
        body = b'{"estate": "DEMO-RES", "description": ' + b"[" * depth + b'"\\u0000"' + b"]" * depth + b"}"
        r = client.post("/api/v1/complaints", data=body, headers=auth() | JSON)
        assert 400 <= r.status_code < 500, (depth, r.status_code)



@pytest.mark.parametrize("path, query", [
    ("/api/v1/complaints", {"estate": "DEMO-RES\x00"}), ("/api/v1/complaints", {"status\x00": "x"}),
    ("/api/v1/reports/kpis", {"estate": "\x00"}), ("/api/v1/sla/policy", {"estate": "DEMO-RES\x00"}),
    ("/api/v1/complaints/%00", {}), ("/t/demo%00/status", {}), ("/complaints", {"estate": "\x00"}),
])
def test_nul_in_a_url_is_400_before_any_service(client, auth, fake_rpc, path, query):
    r = client.get(path, query_string=query, headers=auth("admin@demo"))
    assert r.status_code == 400, r.get_data()[:200]
    assert not fake_rpc.calls


def test_nul_in_a_console_form_is_400_before_the_database(client):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    r = client.post("/login", data={"username": "agent@demo\x00", "password": "x", "csrf_token": token})
    assert r.status_code == 400
