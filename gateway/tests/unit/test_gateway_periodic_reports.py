"""/api/v1/report-subscriptions and /api/v1/report-runs: head office and group admins; the page served safely."""
import uuid

import pytest

SUB = {"id": str(uuid.uuid4()), "kind": "monthly", "estate": None, "recipients": ["hq@demo.example"],
       "locale": "zh_CN", "created_at": "2026-12-03T00:00:00+00:00"}
RUN = {"id": str(uuid.uuid4()), "subject": "集团月报", "html": "<html><body>月报</body></html>", "from": "2026-11-01",
       "to": "2026-11-30"}
HQ = (("head_office", None),)


@pytest.fixture
def rpc(fake_rpc):
    fake_rpc.reply("reporting", "subscribe_report", lambda data: SUB | data)
    fake_rpc.reply("reporting", "list_report_subscriptions", [SUB])
    fake_rpc.reply("reporting", "unsubscribe_report", lambda i: {"id": i, "active": False})
    fake_rpc.reply("reporting", "run_report_now", lambda i: {"id": RUN["id"], "new": True, "from": "2026-11-01",
                                                             "to": "2026-11-30"})
    fake_rpc.reply("reporting", "list_report_runs", [])
    fake_rpc.reply("reporting", "get_report_run", lambda i: RUN)
    return fake_rpc


def test_head_office_subscribes_runs_and_reads_the_page(client, bearer, rpc):
    h = bearer(roles=HQ)
    r = client.post("/api/v1/report-subscriptions", json={"kind": "monthly", "recipients": ["hq@demo.example"]},
                    headers=h)
    assert r.status_code == 201 and rpc.calls[-1]["args"][0] == {"kind": "monthly", "recipients": ["hq@demo.example"],
                                                                 "estate": None, "locale": "zh_CN"}
    assert client.post(f"/api/v1/report-subscriptions/{SUB['id']}/run", headers=h).json["new"] is True
    assert client.get(f"/api/v1/report-runs/{RUN['id']}", headers=h).json["subject"] == "集团月报"
    page = client.get(f"/api/v1/report-runs/{RUN['id']}?format=html", headers=h)
    assert page.status_code == 200 and page.content_type.startswith("text/html") and "月报" in page.text
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert client.delete(f"/api/v1/report-subscriptions/{SUB['id']}", headers=h).json["active"] is False


@pytest.mark.parametrize("body, field", [({"recipients": ["a@b.cn"]}, "kind"), ({"kind": "daily"}, "kind"),
                                         ({"kind": "weekly", "recipients": ["nope"]}, "recipients"),
                                         ({"kind": "weekly", "recipients": []}, "recipients")])
def test_bad_subscriptions_are_422(client, bearer, rpc, body, field):
    r = client.post("/api/v1/report-subscriptions", json=body, headers=bearer(roles=HQ))
    assert r.status_code == 422 and r.json["details"]["field"] == field and rpc.calls == []


def test_site_roles_may_not_and_bad_ids_are_404(client, bearer, rpc):
    assert client.get("/api/v1/report-runs", headers=bearer(roles=(("site_manager", "DEMO-RES"),))).status_code == 403
    assert client.delete("/api/v1/report-subscriptions/x", headers=bearer(roles=HQ)).status_code == 404
    assert client.get("/api/v1/report-runs/x", headers=bearer(roles=HQ)).status_code == 404
    assert rpc.calls == []
