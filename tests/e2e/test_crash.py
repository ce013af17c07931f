"""Every accepted complaint survives a crash of a downstream service (SIGKILL, then restart)."""
import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("victim", ["workflow", "notify"])
def test_complaint_accepted_while_a_service_is_dead_is_handled_after_restart(system, complaint_body, victim):
    headers = system.headers()
    system.kill(victim)
    r = requests.post(f"{system.api}/complaints", json=complaint_body(description=f"{victim} 宕机期间的投诉"),
                      headers=headers, timeout=15)
    assert r.status_code == 201, r.text
    created = r.json()
    system.restart_service(victim)
    wait_for(lambda: requests.get(f"{system.api}/health", timeout=15).status_code == 200, timeout=60,
             what=f"{victim} healthy again")

    def acknowledged():
        view = requests.get(f"{system.api}/complaints/{created['id']}", headers=headers, timeout=15).json()
        return view if "notification_sent" in [e["kind"] for e in view["timeline"]] else None

    view = wait_for(acknowledged, timeout=60, what="case opened and acknowledged after restart")
    assert view["status"] == "open"
    owner_mails = [m for m in system.mails() if created["reference"] in m["Subject"]
                   and not str(m["To"]).endswith("@demo.example")]  # staff alerts (a major case) aside
    assert len(owner_mails) == 1
