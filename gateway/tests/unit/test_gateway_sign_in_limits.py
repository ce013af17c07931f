"""Per-IP limits on the doors a guesser knocks on (``web.limit_doors``): the console's sign-in form, the token
endpoint, both ways of spending a reset link, and the WeChat callback. ``lockout`` counts per username; these count
per address, so one address cannot spray passwords across many usernames."""
from __future__ import annotations

import pytest

from estatedesk_common.demo import DEMO_PASSWORD
from gateway.app import create_app
from gateway.web import DOOR_LIMITS
from test_gateway_console_pages import csrf_of

from conftest import SECRET


@pytest.fixture
def limited(db_url, fake_rpc):
    app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": db_url, "RPC": fake_rpc, "CONFIGURE_LOGGING": False,
                      "LOGIN_RATE_LIMIT": "3 per minute", "WECHAT_RATE_LIMIT": "2 per minute"})
    yield app
    app.extensions["db"].dispose()


def test_every_limited_door_is_a_registered_endpoint(app):
    assert set(DOOR_LIMITS) <= set(app.view_functions)


def test_token_endpoint_is_limited_per_address_across_usernames(limited):
    client = limited.test_client()
    answers = [client.post("/api/v1/auth/token", json={"username": f"user{i}@demo", "password": "guess"})
               for i in range(4)]
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert answers[-1].get_json()["error"] == "too_many_requests"
    other = client.post("/api/v1/auth/token", json={"username": "agent@demo", "password": DEMO_PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200, "another address is not affected"


def test_console_sign_in_form_is_limited_per_address(limited):
    client = limited.test_client()
    token = csrf_of(client)
    codes = [client.post("/login", data={"username": f"u{i}@demo", "password": "x", "csrf_token": token}).status_code
             for i in range(4)]
    assert codes[:3] != [429] * 3 and codes[3] == 429
    assert client.get("/login").status_code == 200, "only the POST counts"


def test_spending_reset_links_is_limited_per_address(limited):
    client = limited.test_client()
    codes = [client.post("/api/v1/auth/password-reset", json={"token": f"t{i}" * 10, "password": "Long-enough-1"})
             .status_code for i in range(4)]
    assert 429 not in codes[:3] and codes[3] == 429


def test_the_wechat_callback_is_limited_per_address(limited):
    client = limited.test_client()
    codes = [client.post("/channels/wechat/nobody", data=b"<xml/>").status_code for _ in range(3)]
    assert codes[-1] == 429 and 429 not in codes[:2]
