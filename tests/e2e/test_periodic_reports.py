"""Head office subscribes managers to the group's monthly report; it is made and e-mailed through notify."""
import time

import pytest
import requests

pytestmark = pytest.mark.e2e


def test_a_monthly_group_report_reaches_the_subscribers_mailbox(system):
    hq = system.headers("hq@demo")
    r = requests.post(f"{system.api}/report-subscriptions", headers=hq, timeout=10,
                      json={"kind": "monthly", "recipients": ["ceo@demo.example", "hq@demo.example"]})
    assert r.status_code == 201, r.text
    sub = r.json()
    run = requests.post(f"{system.api}/report-subscriptions/{sub['id']}/run", headers=hq, timeout=60).json()
    assert run["new"] is True
    subject = f"集团月报（{run['from']} 至 {run['to']}）"
    ours = {"ceo@demo.example", "hq@demo.example"}  # subscriptions other tests (schemathesis) left get it too

    def received():
        return [m for m in system.mails() if m["Subject"] == subject and m["To"] in ours]

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(received()) < 2:
        time.sleep(0.3)
    mails = received()
    assert sorted(m["To"] for m in mails) == ["ceo@demo.example", "hq@demo.example"]
    assert "受理投诉" in mails[0].get_body(("html",)).get_content()
    page = requests.get(f"{system.api}/report-runs/{run['id']}?format=html", headers=hq, timeout=10)
    assert page.status_code == 200 and subject in page.text and "受理投诉" in page.text
    assert requests.get(f"{system.api}/report-runs", headers=system.headers("manager@demo"),
                        timeout=10).status_code == 403
    requests.delete(f"{system.api}/report-subscriptions/{sub['id']}", headers=hq, timeout=10)
