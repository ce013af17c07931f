"""A tenant's webhook receives signed case events from the running system (notify's delivery loop)."""
import hashlib
import hmac
import http.server
import json
import threading
import time

import pytest
import requests

pytestmark = pytest.mark.e2e


class Receiver:
    def __init__(self):
        self.got = []
        got = self.got

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                got.append((dict(self.headers), self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/estatedesk"


def _verify(secret: str, header: str, body: bytes) -> bool:
    """What a tenant's receiver does (docs: services/notify/README.md, Webhooks)."""
    parts = dict(p.split("=", 1) for p in header.split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return abs(time.time() - int(parts["t"])) < 300 and hmac.compare_digest(expected, parts["v1"])


def test_case_events_are_posted_signed_to_the_tenants_webhook(system, complaint_body):
    receiver = Receiver()
    admin = system.headers("admin@demo")
    try:
        r = requests.post(f"{system.api}/webhooks", headers=admin, timeout=10,
                          json={"url": receiver.url, "events": ["case_opened"], "description": "物业 ERP"})
        assert r.status_code == 201, r.text
        hook = r.json()
        assert "secret" not in requests.get(f"{system.api}/webhooks", headers=admin, timeout=10).json()["items"][0]
        created = requests.post(f"{system.api}/complaints", json=complaint_body(), headers=system.headers(),
                                timeout=10).json()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not any(
                json.loads(b)["payload"].get("complaint_id") == created["id"] for _h, b in receiver.got):
            time.sleep(0.2)
        headers, body = next((h, b) for h, b in receiver.got if json.loads(b)["payload"]["complaint_id"] == created["id"])
        assert headers["X-EstateDesk-Event"] == "case_opened"
        assert _verify(hook["secret"], headers["X-EstateDesk-Signature"], body)
        assert json.loads(body)["payload"]["reference"] == created["reference"]
        log = requests.get(f"{system.api}/webhooks/{hook['id']}/deliveries", headers=admin, timeout=10).json()["items"]
        assert any(d["status"] == "delivered" and d["event_type"] == "case_opened" for d in log)
        assert requests.get(f"{system.api}/webhooks", headers=system.headers("agent@demo"), timeout=10).status_code == 403
    finally:
        requests.delete(f"{system.api}/webhooks/{hook['id']}", headers=admin, timeout=10)
        receiver.server.shutdown()
