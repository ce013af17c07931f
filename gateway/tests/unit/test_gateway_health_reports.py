import pytest
from nameko.exceptions import RpcTimeout

SERVICES = ("intake", "workflow", "notify", "reporting")


def answer_health(fake_rpc, down=()):
    for name in SERVICES:
        fake_rpc.reply(name, "health", RpcTimeout(2) if name in down else {"status": "ok", "service": name})


def test_health_ok_when_everything_answers(client, fake_rpc):
    answer_health(fake_rpc)
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["services"] == {name: "ok" for name in SERVICES}
    assert {c["timeout"] for c in fake_rpc.calls} == {2.0}
    assert all("tenant_id" not in c["context"] for c in fake_rpc.calls)


def test_health_degraded_when_a_service_is_silent(client, fake_rpc):
    answer_health(fake_rpc, down=("notify",))
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "degraded"
    assert body["services"]["notify"] == "unavailable"
    assert body["services"]["intake"] == "ok"


def test_health_degraded_when_the_database_is_gone(client, fake_rpc, app):
    answer_health(fake_rpc)
    app.extensions["db"].dispose()
    from sqlalchemy import create_engine

    app.extensions["db"] = create_engine("sqlite:////nonexistent-dir/x.sqlite3")
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unavailable"


def test_metrics_expose_gateway_counters_without_tenant(client, fake_rpc, auth_headers):
    answer_health(fake_rpc)
    client.get("/api/v1/health")
    client.get("/api/v1/me", headers=auth_headers)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'estatedesk_gateway_requests_total{endpoint="/api/v1/health",method="GET",status="2xx"}' in text
    assert 'estatedesk_gateway_request_seconds_count{endpoint="/api/v1/me",method="GET"}' in text
    assert "tenant" not in text


def counts(fake_rpc):
    fake_rpc.reply("reporting", "complaint_counts", lambda f, t: {"total": 3, "rows": [
        {"estate": "DEMO-RES", "channel": "web", "count": 3}], "args": [f, t]})


def test_report_for_head_office(client, login, fake_rpc):
    counts(fake_rpc)
    token = login("hq@demo").get_json()["access_token"]
    response = client.get("/api/v1/reports/complaint-counts?from=2026-11-01&to=2026-11-30",
                          headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.get_json()["args"] == ["2026-11-01", "2026-11-30"]


def test_report_dates_are_optional(client, login, fake_rpc):
    counts(fake_rpc)
    token = login("manager@demo").get_json()["access_token"]
    response = client.get("/api/v1/reports/complaint-counts", headers={"Authorization": f"Bearer {token}"})
    assert response.get_json()["args"] == [None, None]


def test_report_refused_to_agents(client, auth_headers, fake_rpc):
    response = client.get("/api/v1/reports/complaint-counts", headers=auth_headers)
    assert response.status_code == 403
    assert response.get_json()["error"] == "forbidden"
    assert fake_rpc.calls == []


@pytest.mark.parametrize("query,field", [("from=2026-12-01&to=2026-11-01", "from"),
                                         ("from=2026-13-01", "from"), ("to=yesterday", "to")])
def test_report_bad_dates(client, login, fake_rpc, query, field):
    token = login("admin@demo").get_json()["access_token"]
    response = client.get(f"/api/v1/reports/complaint-counts?{query}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == field
