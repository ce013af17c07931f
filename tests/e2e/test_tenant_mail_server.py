"""A group's own outgoing mail server (发件邮箱) in the running system: the admin sets it through the API, the owner's
acknowledgement goes out through it (not the platform's mail sink), the test mail reports a certificate the system
does not trust in Chinese, and the platform's server comes back when the admin says so."""
import email
import email.policy
import importlib.util
import os
import time

import pytest
import requests
from aiosmtpd.controller import Controller
from nameko.testing.utils import find_free_port

pytestmark = pytest.mark.e2e

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def _tls_peers():
    """notify's real-peer helper (a CA made in the test, aiosmtpd demanding STARTTLS and a login)."""
    path = os.path.join(ROOT, "services", "notify", "tests", "integration", "notify_tls_smtp.py")
    spec = importlib.util.spec_from_file_location("notify_tls_smtp_e2e", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Sink:
    async def handle_DATA(self, server, session, envelope):
        self.received.append(envelope)
        return "250 OK"

    def __init__(self):
        self.received, self.port = [], find_free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)


def test_the_groups_own_mail_server_carries_its_mail_until_it_goes_back_to_the_platform(system, complaint_body,
                                                                                       tmp_path):
    admin = system.headers("admin@demo")
    sink = Sink()
    sink.controller.start()
    peers = _tls_peers()
    untrusted = peers.TlsSmtpServer(peers.make_certificates(str(tmp_path)), {"kefu@jinxiu.example": "Secret-42"},
                                    str(tmp_path / "tls")).start()
    own = {"mode": "custom", "host": "127.0.0.1", "port": sink.port, "security": "none", "username": "",
           "from_address": "kefu@jinxiu.example", "from_name": "锦绣物业客服"}
    try:
        r = requests.put(f"{system.api}/mail-settings", json=own, headers=admin, timeout=20)
        assert r.status_code == 200, r.text
        assert requests.get(f"{system.api}/mail-settings", headers=admin, timeout=20).json()["mode"] == "custom"

        created = requests.post(f"{system.api}/complaints", json=complaint_body(), headers=system.headers(),
                                timeout=20).json()
        def ours():  # every mail of the group goes there now (staff alerts, digests...): the owner's acknowledgement
            return [(e, m) for e in list(sink.received)
                    for m in [email.message_from_bytes(e.original_content, policy=email.policy.default)]
                    if created["reference"] in str(m["Subject"]) and "wang@example.com" in e.rcpt_tos]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not ours():
            time.sleep(0.2)
        [(envelope, mail)] = ours()
        assert envelope.mail_from == "kefu@jinxiu.example"
        assert mail["From"].addresses[0].display_name == "锦绣物业客服"
        assert not [m for m in system.mails() if created["reference"] in str(m["Subject"])]  # not the platform's

        tls = {"mode": "custom", "host": "127.0.0.1", "port": untrusted.port, "security": "starttls",
               "username": "kefu@jinxiu.example", "password": "Secret-42", "from_address": "kefu@jinxiu.example"}
        test = requests.post(f"{system.api}/mail-settings/test", json={"to": "me@example.com", "settings": tls},
                             headers=admin, timeout=60).json()
        assert (test["ok"], test["stage"], test["error"]) == (False, "tls", "certificate_invalid")
        assert "证书未通过验证" in test["message"] and not untrusted.logins  # the password never left
        audit = requests.get(f"{system.api}/audit", params={"action": "mail_settings_saved"}, headers=admin,
                             timeout=20).json()["items"]
        assert audit and audit[0]["detail"]["after"]["host"] == "127.0.0.1" and "Secret-42" not in str(audit)
    finally:
        r = requests.put(f"{system.api}/mail-settings", json={"mode": "platform"}, headers=admin, timeout=20)
        untrusted.stop()
        sink.controller.stop()
    assert r.status_code == 200 and r.json()["mode"] == "platform"
    again = requests.post(f"{system.api}/complaints", json=complaint_body(), headers=system.headers(),
                          timeout=20).json()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not [m for m in system.mails() if again["reference"] in str(m["Subject"])]:
        time.sleep(0.2)
    assert [m for m in system.mails() if again["reference"] in str(m["Subject"])]
