"""Self-service password reset on the running system (issue 8): a group admin gives a new user an e-mail
address, the user asks for a link on /forgot-password, notify mails it through the real mail loop and SMTP, the
link (on the configured public URL) sets a new password, and the user logs in with it. An unknown username gets
the same page and no mail."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e
TIMEOUT = 20
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _form_post(session, url, data):
    token = CSRF.search(session.get(url, timeout=TIMEOUT).text).group(1)
    return session.post(url, data=data | {"csrf_token": token}, timeout=TIMEOUT, allow_redirects=False)


def _mails_to(system, address):
    return [m for m in system.mails() if address in str(m["To"])]


def test_password_reset_by_mail_sets_a_new_password(system):
    admin = system.headers("admin@demo")
    tag = uuid.uuid4().hex[:8]
    username, address = f"reset.{tag}@demo", f"reset.{tag}@wuye.example.cn"
    created = requests.post(f"{system.api}/users", headers=admin, timeout=TIMEOUT, json={
        "username": username, "display_name": "找回密码测试", "roles": [["agent", "DEMO-RES"]], "email": address})
    assert created.status_code == 201, created.text
    initial = created.json()["initial_password"]

    browser = requests.Session()
    unknown = _form_post(browser, f"{system.base_url}/forgot-password", {"username": f"nobody.{tag}@demo"})
    asked = _form_post(browser, f"{system.base_url}/forgot-password", {"username": username})
    assert unknown.status_code == asked.status_code == 200
    assert CSRF.sub("", unknown.text) == CSRF.sub("", asked.text), "the same page whether the user exists or not"

    [mail] = wait_for(lambda: _mails_to(system, address), timeout=30, what="the reset e-mail")
    assert mail["Subject"] == "EstateDesk 重置密码"
    text = mail.get_body(("plain",)).get_content()
    link = re.search(r"(https?://\S+/reset-password/\S+)", text).group(1)
    assert link.startswith(system.base_url + "/reset-password/"), link
    assert f"nobody.{tag}" not in str([m["To"] for m in system.mails()])

    page = browser.get(link, timeout=TIMEOUT)
    assert page.status_code == 200 and username in page.text
    new_password = f"mailed-{tag}-secret"
    done = _form_post(browser, link, {"new_password": new_password, "confirm_password": new_password})
    assert done.status_code == 302, done.text[:500]
    assert browser.get(link, timeout=TIMEOUT).status_code == 404, "the link works once"

    assert requests.post(f"{system.api}/auth/token", json={"username": username, "password": new_password},
                         timeout=TIMEOUT).status_code == 200
    assert requests.post(f"{system.api}/auth/token", json={"username": username, "password": initial},
                         timeout=TIMEOUT).status_code == 401
    user_id = created.json()["id"]
    log = [e for e in requests.get(f"{system.api}/audit", headers=admin, params={"limit": 500},
                                   timeout=TIMEOUT).json()["items"] if e["target_id"] == user_id]
    issued = [e["detail"] for e in log if e["action"] == "password_reset_issued"]
    assert issued and issued[0].get("by") == "self-service"
    assert "password_reset_used" in {e["action"] for e in log}
