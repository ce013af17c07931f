"""A group admin's integrations in the console on the running system (issue 8): the Chromium journey issues an
API key and a webhook (each secret shown once), exports the audit log, then revokes and deletes them; checked
here through the API. Whatever the journey leaves behind is removed, so later tests see the seeded demo data."""
from __future__ import annotations

import uuid

import pytest
import requests

pytestmark = pytest.mark.e2e
TIMEOUT = 20


def _clean_up(system, admin, key_name, url) -> None:
    for key in requests.get(f"{system.api}/api-keys", headers=admin, timeout=TIMEOUT).json()["items"]:
        if key["name"] == key_name and key["active"]:
            requests.delete(f"{system.api}/api-keys/{key['id']}", headers=admin, timeout=TIMEOUT)
    for hook in requests.get(f"{system.api}/webhooks", headers=admin, timeout=TIMEOUT).json()["items"]:
        if hook["url"] == url:
            requests.delete(f"{system.api}/webhooks/{hook['id']}", headers=admin, timeout=TIMEOUT)


def test_integrations_admin_issues_a_key_and_a_webhook_exports_the_audit_log_and_cleans_up(system):
    from .test_console_browser import journey

    run = uuid.uuid4().hex[:8]
    key_name, url = f"浏览器集成 {run}", f"http://127.0.0.1:9/estatedesk-{run}"
    admin = system.headers("admin@demo")
    try:
        found = journey(system, "integrations", key_name=key_name, url=url)
    finally:
        _clean_up(system, admin, key_name, url)
    assert found["download"].startswith("audit_") and found["download"].endswith(".csv")
    [key] = [k for k in requests.get(f"{system.api}/api-keys", headers=admin, timeout=TIMEOUT).json()["items"]
             if k["name"] == key_name]
    assert key["prefix"] == found["prefix"] and key["scopes"] == ["cti"] and not key["active"]
    assert url not in [h["url"] for h in requests.get(f"{system.api}/webhooks", headers=admin,
                                                      timeout=TIMEOUT).json()["items"]]
    log = requests.get(f"{system.api}/audit", headers=admin, params={"user": "admin@demo", "limit": 100},
                       timeout=TIMEOUT).json()["items"]
    actions = {e["action"] for e in log}
    assert {"api_key_issued", "api_key_revoked", "webhook_created", "webhook_deleted", "audit_exported"} <= actions
    assert {"host": "127.0.0.1", "events": ["case_opened", "sla_breached"]} in [  # plus what changed (changes)
        {k: e["detail"].get(k) for k in ("host", "events")} for e in log if e["action"] == "webhook_created"]
