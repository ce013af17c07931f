"""Webhook rules: signatures a receiver can check, which URLs and addresses, which events, when to retry."""
import datetime as dt

import pytest

from notify.domain import webhooks as rules


def test_a_signature_verifies_once_and_only_with_the_same_secret_body_and_a_fresh_time():
    body = '{"event_type": "case_opened", "payload": {"reference": "TS1"}}'.encode()
    header = rules.sign("whsec_x", 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert rules.verify("whsec_x", header, body, now=1_700_000_100)
    assert not rules.verify("whsec_y", header, body, now=1_700_000_100)
    assert not rules.verify("whsec_x", header, body + b" ", now=1_700_000_100)
    assert not rules.verify("whsec_x", header, body, now=1_700_000_000 + 3600)  # a replay an hour later
    assert not rules.verify("whsec_x", "garbage", body, now=1_700_000_000)


@pytest.mark.parametrize("url, allow_http, field_ok", [
    ("https://hooks.example.com/estatedesk", False, True),
    ("http://hooks.example.com/x", False, False),
    ("http://127.0.0.1:9999/x", True, True),
    ("ftp://example.com/x", True, False),
    ("https://user:pw@example.com/x", False, False),
    ("https:///nohost", False, False),
    ("", False, False),
    (None, False, False),
    ("https://e.com/" + "x" * 500, False, False),
])
def test_only_plain_http_s_urls_without_credentials(url, allow_http, field_ok):
    if field_ok:
        assert rules.check_url(url, allow_http) == url
    else:
        with pytest.raises(rules.InvalidWebhook) as err:
            rules.check_url(url, allow_http)
        assert err.value.field == "url"


@pytest.mark.parametrize("ip, allow_private, ok", [
    ("93.184.216.34", False, True), ("8.8.8.8", False, True),
    ("127.0.0.1", False, False), ("127.0.0.1", True, True), ("10.1.2.3", False, False), ("192.168.0.9", True, True),
    ("169.254.169.254", True, False),  # cloud metadata: never
    ("0.0.0.0", True, False), ("224.0.0.1", True, False), ("::1", False, False), ("fe80::1", True, False),
])
def test_addresses(ip, allow_private, ok):
    assert rules.address_allowed(ip, allow_private) is ok


def test_events_are_checked_and_none_means_all():
    assert rules.check_events(None) == [] and rules.check_events([]) == []
    assert rules.check_events(["sla_breached", "case_opened", "case_opened"]) == ["case_opened", "sla_breached"]
    with pytest.raises(rules.InvalidWebhook) as err:
        rules.check_events(["case_opened", "owner_birthday"])
    assert err.value.field == "events" and "owner_birthday" in str(err.value)
    with pytest.raises(rules.InvalidWebhook):
        rules.check_events("case_opened")


def test_retries_back_off_then_stop():
    now = dt.datetime(2026, 12, 3, tzinfo=dt.timezone.utc)
    waits = [rules.next_attempt(n, now) for n in range(1, rules.MAX_ATTEMPTS + 1)]
    assert [w - now for w in waits[:-1]] == list(rules.BACKOFF) and waits[-1] is None
    assert rules.new_secret().startswith("whsec_") and rules.new_secret() != rules.new_secret()
