"""Owner messages on the running system: progress recorded and the case resolved through the API -> the owner's
progress and resolution e-mails land in the mail sink (var/.../mail) and on the complaint's timeline."""
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def test_the_owner_is_told_of_progress_and_resolution_by_mail(system, complaint_body):
    agent = system.headers()
    owner = f"owner-{uuid.uuid4().hex[:8]}@example.com"
    body = complaint_body(severity="moderate")
    body["complainant"] = body["complainant"] | {"email": owner}
    created = requests.post(f"{system.api}/complaints", json=body, headers=agent, timeout=15).json()
    url = f"{system.api}/complaints/{created['id']}"
    wait_for(lambda: requests.get(url, headers=agent, timeout=15).json().get("case"), what="case opened")

    for action in ({"action": "progress", "note": "已联系电梯维保单位，今晚 8 点前到场"},
                   {"action": "resolve", "cause": "facility_fault", "remedy": "更换 3 栋电梯门机板"}):
        current = requests.get(url, headers=agent, timeout=15)
        done = requests.post(f"{url}/actions", json=action, headers=agent | {"If-Match": current.headers["ETag"]},
                             timeout=15)
        assert done.status_code == 200, done.text

    def mails():
        mine = [m for m in system.mails() if m["To"] == owner]
        return mine if len(mine) == 3 else None  # acknowledgement, progress, resolution
    subjects = {m["Subject"]: m for m in wait_for(mails, what="owner's three e-mails")}
    resolved = next(m for s, m in subjects.items() if "您的投诉已处理完毕" in s)
    assert created["reference"] in resolved["Subject"]
    text = resolved.get_body(("plain",)).get_content()
    assert "更换 3 栋电梯门机板" in text and "我们将回访您" in text
    assert any("今晚 8 点前到场" in m.get_body(("plain",)).get_content() for m in subjects.values())
    timeline = wait_for(lambda: [e["text"] for e in requests.get(url, headers=agent, timeout=15).json()["timeline"]
                                 if (e["text"] or "").startswith("办结通知邮件已发送")], what="timeline entry")
    assert timeline == ["办结通知邮件已发送至 o***@example.com"]
