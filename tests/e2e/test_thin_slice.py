"""The thin slice through every service, on the running system."""
import json
import os
import uuid

import pytest
import requests

from .conftest import wait_for

pytestmark = pytest.mark.e2e


def test_health_answers_for_every_service(system):
    r = requests.get(f"{system.api}/health", timeout=15)
    assert r.status_code == 200
    assert r.json()["services"] == {"intake": "ok", "workflow": "ok", "notify": "ok", "reporting": "ok"}


def counts(system) -> dict:
    r = requests.get(f"{system.api}/reports/complaint-counts", headers=system.headers("hq@demo"), timeout=15)
    assert r.status_code == 200, r.text
    return {(row["estate"], row["channel"]): row["count"] for row in r.json()["rows"]}


def test_a_web_complaint_is_recorded_opened_acknowledged_and_counted(system, complaint_body):
    before = counts(system).get(("DEMO-RES", "web"), 0)
    request_id = f"e2e-{uuid.uuid4().hex[:12]}"
    headers = system.headers() | {"X-Request-ID": request_id}
    r = requests.post(f"{system.api}/complaints", json=complaint_body(), headers=headers, timeout=15)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["status"] == "received" and created["reference"].startswith("TS")
    assert r.headers["Location"].endswith(created["id"]) and r.headers["X-Request-ID"] == request_id

    def acknowledged():
        view = requests.get(f"{system.api}/complaints/{created['id']}", headers=headers, timeout=15).json()
        kinds = [e["kind"] for e in view["timeline"]]
        return view if "notification_sent" in kinds else None

    view = wait_for(acknowledged, what="acknowledgement on the timeline")
    assert view["status"] == "open" and view["estate"]["code"] == "DEMO-RES" and view["channel"] == "web"
    deadline = next(d for d in view["deadlines"] if d["stage"] == "first_contact")  # one per policy stage
    assert deadline["met_at"] is None
    # the group default for DEMO-RES (seed 002 preset): first contact by severity, moderate when none was given
    expected = {"minor": "24 小时", "moderate": "60 分钟", "major": "15 分钟"}[view["severity"] or "moderate"]
    assert "集团默认时限" in deadline["explanation"] and expected in deadline["explanation"]
    kinds = [e["kind"] for e in view["timeline"]]
    assert kinds[:2] == ["complaint_received", "case_opened"] and "notification_sent" in kinds
    assert set(kinds) <= {"complaint_received", "case_opened", "notification_sent", "notification_queued",
                          "notification_deferred", "notification_delivered",  # e-mail, and SMS (quiet hours)
                          "major_case_opened"}  # 困人 may be classified major: the site manager is told at once
    assert view["timeline"][0]["actor"] == "客服专员 张"  # first-question responsibility: who received it

    # the owner's acknowledgement (a major complaint also e-mails the site manager, manager@demo.example)
    [mail] = [m for m in system.mails() if created["reference"] in m["Subject"] and m["To"] == "wang@example.com"]
    assert created["reference"] in mail.get_body(("plain",)).get_content()

    wait_for(lambda: counts(system).get(("DEMO-RES", "web"), 0) == before + 1, what="reporting count")

    def logged_in(service):
        with open(os.path.join(system.var, "log", f"{service}.log"), encoding="utf-8") as f:
            return any(json.loads(line).get("request_id") == request_id for line in f if line.startswith("{"))
    assert all(logged_in(s) for s in ("intake", "workflow", "notify")), "request id must reach every service"


def test_site_limit_overrides_the_group_default(system, complaint_body):
    headers = system.headers()
    # DEMO-OFFICE's own limit: first contact on moderate complaints within 30 minutes (the group's is 60)
    r = requests.post(f"{system.api}/complaints", json=complaint_body(estate="DEMO-OFFICE", severity="moderate"),
                      headers=headers, timeout=15)
    assert r.status_code == 201, r.text

    def opened():
        view = requests.get(f"{system.api}/complaints/{r.json()['id']}", headers=headers, timeout=15).json()
        return view if view["deadlines"] else None

    view = wait_for(opened, what="case opened")
    first = next(d for d in view["deadlines"] if d["stage"] == "first_contact")
    assert "项目自定时限" in first["explanation"] and "30 分钟" in first["explanation"]


def test_metrics_are_exposed_in_prometheus_text_format(system):
    for port_var, default in (("INTAKE_METRICS_PORT", 9101), ("WORKFLOW_METRICS_PORT", 9102),
                              ("NOTIFY_METRICS_PORT", 9103), ("REPORTING_METRICS_PORT", 9104)):
        port = system.env.get(port_var, default)
        text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert "estatedesk_entrypoint_calls_total" in text
    assert 'estatedesk_events_published_total{outcome="ok",service="intake"}' in requests.get(
        f"http://127.0.0.1:{system.env.get('INTAKE_METRICS_PORT', 9101)}/metrics", timeout=10).text
    assert "estatedesk_gateway_requests_total" in requests.get(f"{system.base_url}/metrics", timeout=10).text
