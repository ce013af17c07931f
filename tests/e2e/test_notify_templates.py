"""Message templates on the running system: the site manager overrides DEMO-RES's acknowledgement subject
through the API, a complaint filed there is acknowledged with it (mail sink), a bad template is refused with its
line; deleting the override brings the default back."""
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e

PATH = "/notify-templates/acknowledgement/zh_CN"


def _acknowledgement(system, complaint_body, owner):
    body = complaint_body()
    body["complainant"] = body["complainant"] | {"email": owner}
    created = requests.post(f"{system.api}/complaints", json=body, headers=system.headers(), timeout=15)
    assert created.status_code == 201, created.text
    mail = wait_for(lambda: next((m for m in system.mails() if m["To"] == owner), None), timeout=30,
                    what="the acknowledgement in the mail sink")
    return created.json()["reference"], mail


def test_an_estates_subject_override_is_used_then_removed(system, complaint_body):
    manager = system.headers("manager@demo")
    marker = uuid.uuid4().hex[:6]
    subject = "【{{ estate_name }}】模板" + marker + " 已收到您的投诉 {{ reference }}"
    bad = requests.put(system.api + PATH, headers=manager, timeout=15,
                       json={"estate": "DEMO-RES", "parts": {"subject": "好\n{{ ''.__class__.__mro__ }}"}})
    assert bad.status_code == 422 and bad.json()["details"]["field"] == "parts.subject", bad.text
    assert bad.json()["details"]["line"] == 2
    saved = requests.put(system.api + PATH, headers=manager, json={"estate": "DEMO-RES", "parts": {"subject": subject}},
                         timeout=15)
    assert saved.status_code == 200, saved.text
    try:
        reference, mail = _acknowledgement(system, complaint_body, f"tpl-{marker}@example.com")
        assert mail["Subject"] == f"【锦绣花园】模板{marker} 已收到您的投诉 {reference}"
        assert "您的投诉已受理" in mail.get_body(("plain",)).get_content()  # the body is still the default
    finally:
        gone = requests.delete(system.api + PATH, headers=manager, params={"estate": "DEMO-RES"}, timeout=15)
        assert gone.status_code == 200 and gone.json()["deleted"] == 1, gone.text
    reference, mail = _acknowledgement(system, complaint_body, f"tpl-{marker}-after@example.com")
    assert mail["Subject"] == f"【锦绣花园】您的投诉已受理，受理编号 {reference}"
