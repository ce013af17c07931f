"""Bad input gets a clear 4xx JSON error and writes nothing anywhere."""
import time

import jwt
import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def _total(system) -> int:
    r = requests.get(f"{system.api}/reports/complaint-counts", headers=system.headers("hq@demo"), timeout=15)
    return r.json()["total"]


def _secret(system) -> str:
    with open(f"{system.var}/secret_key") as f:
        return f.read().strip()


def _post(system, headers, **kw):
    return requests.post(f"{system.api}/complaints", headers=headers, timeout=15, **kw)


def test_every_kind_of_bad_input_is_refused_clearly_and_leaves_no_trace(system, complaint_body):
    total_before, mails_before = _total(system), len(system.mails())
    auth = system.headers()
    cases = [
        (_post(system, auth, json=complaint_body(estate="NO-SUCH")), 404, "estate_not_found", "estate"),
        (_post(system, auth, json=complaint_body(estate="OTHER-RES")), 404, "estate_not_found", "estate"),
        (_post(system, auth, json=complaint_body(description="   ")), 422, "validation_failed", "description"),
        (_post(system, auth, json=complaint_body(complainant={"name": "x", "phone": "12"})), 422,
         "validation_failed", "complainant.phone"),
        (_post(system, auth | {"Content-Type": "application/json"}, data=b'{"estate": "DEMO-RES",'), 400,
         "malformed_json", None),
        (_post(system, auth | {"Content-Type": "text/plain"}, data=b"hello"), 415, "unsupported_media_type", None),
        (_post(system, auth | {"Content-Type": "application/json"}, data=b'{"d": "' + b"x" * 1_100_000 + b'"}'),
         413, "payload_too_large", None),
    ]
    for response, status, code, field in cases:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["error"] == code and body["message"] and "Traceback" not in response.text
        if field:
            assert body["details"]["field"] == field
    time.sleep(1.5)  # anything wrongly accepted would have reached reporting and the mail sink by now
    assert _total(system) == total_before and len(system.mails()) == mails_before


@pytest.mark.parametrize("make_token, code", [
    (lambda secret: jwt.encode({"sub": "x", "tid": "x", "roles": [], "iat": 1, "jti": "j", "exp": int(time.time()) - 60},
                               secret, algorithm="HS256"), "token_expired"),
    (lambda secret: jwt.encode({"sub": "x", "tid": "x", "roles": [], "iat": 1, "jti": "j", "exp": int(time.time()) + 600},
                               "not-the-secret-" * 3, algorithm="HS256"), "invalid_token"),
    (lambda secret: "garbage", "invalid_token"),
    (lambda secret: None, "unauthenticated"),
])
def test_missing_expired_or_forged_tokens_are_401(system, complaint_body, make_token, code):
    token = make_token(_secret(system))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = _post(system, headers, json=complaint_body())
    assert r.status_code == 401 and r.json()["error"] == code


def test_wrong_password_is_401_and_messages_follow_the_language(system):
    r = requests.post(f"{system.api}/auth/token", json={"username": "agent@demo", "password": "nope"}, timeout=15)
    assert r.status_code == 401 and r.json()["error"] == "invalid_credentials"
    zh = r.json()["message"]
    en = requests.post(f"{system.api}/auth/token", json={"username": "agent@demo", "password": "nope"},
                       headers={"Accept-Language": "en"}, timeout=15).json()["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh) and en.isascii() and zh != en


def test_another_tenants_complaint_is_not_found(system, complaint_body):
    other = system.headers("hq@other")
    r = _post(system, other, json=complaint_body(estate="OTHER-RES"))
    assert r.status_code == 201, r.text
    theirs = r.json()["id"]
    wait_for(lambda: requests.get(f"{system.api}/complaints/{theirs}", headers=other, timeout=15).json()["deadlines"],
             what="their case opened")
    mine = requests.get(f"{system.api}/complaints/{theirs}", headers=system.headers(), timeout=15)
    assert mine.status_code == 404 and mine.json()["error"] == "complaint_not_found"
    assert "OTHER-RES" not in requests.get(f"{system.api}/estates", headers=system.headers(), timeout=15).text
