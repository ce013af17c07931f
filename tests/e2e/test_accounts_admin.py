"""Accounts end to end on the running system: a group admin creates a user, the user logs in with the initial
password, turns TOTP on (codes computed with pyotp), logs in with a code, the admin deactivates the user and the
token is refused at once; the audit log lists every step (issue 8)."""
from __future__ import annotations

import time
import uuid

import pyotp
import pytest
import requests

pytestmark = pytest.mark.e2e
TIMEOUT = 20


def _token(system, username, password, code=None):
    body = {"username": username, "password": password} | ({"totp": code} if code else {})
    return requests.post(f"{system.api}/auth/token", json=body, timeout=TIMEOUT)


def test_accounts_admin_creates_user_who_enables_totp_then_is_deactivated(system):
    admin = system.headers("admin@demo")
    username = f"e2e.{uuid.uuid4().hex[:8]}@demo"
    created = requests.post(f"{system.api}/users", headers=admin, timeout=TIMEOUT, json={
        "username": username, "display_name": "端到端测试", "roles": [["agent", "DEMO-RES"]]})
    assert created.status_code == 201, created.text
    user_id, password = created.json()["id"], created.json()["initial_password"]

    first = _token(system, username, password)
    assert first.status_code == 200, first.text
    headers = {"Authorization": f"Bearer {first.json()['access_token']}"}
    me = requests.get(f"{system.api}/me", headers=headers, timeout=TIMEOUT).json()
    assert me["username"] == username and me["roles"] == [{"role": "agent", "estate": "DEMO-RES"}]

    started = requests.post(f"{system.api}/me/totp", headers=headers, timeout=TIMEOUT)
    assert started.status_code == 201, started.text
    totp = pyotp.TOTP(started.json()["secret"])
    confirmed = requests.post(f"{system.api}/me/totp/confirm", headers=headers, timeout=TIMEOUT,
                              json={"code": totp.at(time.time() - 30)})
    assert confirmed.status_code == 200, confirmed.text
    assert len(confirmed.json()["recovery_codes"]) == 10

    assert _token(system, username, password).json()["error"] == "totp_required"
    second = _token(system, username, password, totp.now())
    assert second.status_code == 200, second.text
    headers = {"Authorization": f"Bearer {second.json()['access_token']}"}
    assert requests.get(f"{system.api}/estates", headers=headers, timeout=TIMEOUT).status_code == 200

    off = requests.patch(f"{system.api}/users/{user_id}", headers=admin, json={"active": False}, timeout=TIMEOUT)
    assert off.status_code == 200 and off.json()["active"] is False
    refused = requests.get(f"{system.api}/estates", headers=headers, timeout=TIMEOUT)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"

    log = [e for e in requests.get(f"{system.api}/audit", headers=admin, params={"limit": 500},
                                   timeout=TIMEOUT).json()["items"] if user_id in (e["user_id"], e["target_id"])]
    actions = {e["action"] for e in log}
    assert {"user_created", "login_ok", "totp_enabled", "user_deactivated"} <= actions, actions
    assert {"factors": "password+totp"} in [e["detail"] for e in log if e["action"] == "login_ok"]


def test_accounts_admin_browser_journey_creates_a_user_who_turns_on_totp(system):
    from .test_console_browser import journey

    username = f"browser.{uuid.uuid4().hex[:8]}@demo"
    journey(system, "accounts", username=username)
    admin = system.headers("admin@demo")
    users = requests.get(f"{system.api}/users", headers=admin, timeout=TIMEOUT).json()["items"]
    [user] = [u for u in users if u["username"] == username]
    assert user["totp_enabled"] and user["roles"] == [["agent", "DEMO-RES"]]
    log = requests.get(f"{system.api}/audit", headers=admin, params={"user": username}, timeout=TIMEOUT).json()
    assert {"login_ok", "totp_enabled", "logout"} <= {e["action"] for e in log["items"]}
