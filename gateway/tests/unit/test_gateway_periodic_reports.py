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


@pytest.mark.parametrize("fmt, mimetype", [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")])
def test_a_run_downloads_as_csv_or_xlsx(client, bearer, rpc, fmt, mimetype):
    import base64
    rpc.reply("reporting", "export_report_run", lambda i, f, loc: {
        "filename": f"monthly_report_2026-11-01_2026-11-30.{f}", "content_base64": base64.b64encode(b"x,y").decode()})
    r = client.get(f"/api/v1/report-runs/{RUN['id']}/export.{fmt}?locale=en", headers=bearer(roles=HQ))
    assert r.status_code == 200 and r.mimetype.startswith(mimetype) and r.data == b"x,y"
    assert r.headers["Content-Disposition"] == f'attachment; filename="monthly_report_2026-11-01_2026-11-30.{fmt}"'
    assert rpc.calls[-1]["method"] == "export_report_run" and rpc.calls[-1]["args"] == (RUN["id"], fmt, "en")
    client.get(f"/api/v1/report-runs/{RUN['id']}/export.{fmt}?locale=xx", headers=bearer(roles=HQ))
    assert rpc.calls[-1]["args"] == (RUN["id"], fmt, None)  # the subscription's language


def test_run_export_refuses_other_formats_bad_ids_and_site_roles(client, bearer, rpc):
    assert client.get(f"/api/v1/report-runs/{RUN['id']}/export.pdf", headers=bearer(roles=HQ)).status_code == 404
    assert client.get("/api/v1/report-runs/x/export.csv", headers=bearer(roles=HQ)).status_code == 404
    site = bearer(roles=(("site_manager", "DEMO-RES"),))
    assert client.get(f"/api/v1/report-runs/{RUN['id']}/export.csv", headers=site).status_code == 403
    assert rpc.calls == []
