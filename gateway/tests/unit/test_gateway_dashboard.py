"""Dashboard routes (``/api/v1/reports/...``) against a fake reporting service: arguments, roles, context,
errors and the export download."""
import base64

import pytest

KPIS = {"received": 3, "acknowledged_within_first_contact_pct": 66.7, "overdue_now": 1}


def headers(login, username):
    return {"Authorization": "Bearer " + login(username).get_json()["access_token"]}


def echo(fake_rpc, method, result=None):
    fake_rpc.reply("reporting", method, lambda *args: {"args": list(args), **(result or {})})


@pytest.mark.parametrize("path, method, args", [
    ("/reports/kpis?from=2026-10-01&to=2026-12-31&estate=DEMO-RES", "kpis", ["2026-10-01", "2026-12-31", "DEMO-RES"]),
    ("/reports/kpis?from=2026-10-01&to=2026-12-31", "kpis", ["2026-10-01", "2026-12-31", None]),
    ("/reports/league-table?from=2026-10-01&to=2026-12-31&sort=on_time_pct&region=EAST", "league_table",
     ["2026-10-01", "2026-12-31", "on_time_pct", "EAST"]),
    ("/reports/league-table?from=2026-10-01&to=2026-12-31", "league_table",
     ["2026-10-01", "2026-12-31", "received", None]),
    ("/reports/hot-spots?from=2026-11-23&to=2026-11-29", "hot_spots", ["2026-11-23", "2026-11-29"]),
    ("/reports/drilldown?metric=overdue_now&from=2026-11-01&to=2026-11-30&estate=DEMO-RES&channel=web"
     "&limit=20&offset=40", "drilldown",
     ["overdue_now", "2026-11-01", "2026-11-30", "DEMO-RES", None, "web", 20, 40, None, None]),
    ("/reports/drilldown?metric=received&from=2026-11-01&to=2026-11-30&estate=DEMO-RES&building=3栋&facility=电梯",
     "drilldown", ["received", "2026-11-01", "2026-11-30", "DEMO-RES", None, None, 50, 0, "3栋", "电梯"]),
])
def test_routes_pass_the_query_to_reporting(client, login, fake_rpc, path, method, args):
    echo(fake_rpc, method)
    response = client.get("/api/v1" + path, headers=headers(login, "hq@demo"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["args"] == args
    (call,) = fake_rpc.calls
    assert call["service"] == "reporting" and call["method"] == method
    assert call["context"]["roles"] == [["head_office", None]] and call["context"]["tenant_id"]


def test_site_manager_roles_travel_in_the_context(client, login, fake_rpc):
    echo(fake_rpc, "kpis", KPIS)
    response = client.get("/api/v1/reports/kpis?from=2026-11-01&to=2026-11-30", headers=headers(login, "manager@demo"))
    assert response.status_code == 200
    assert sorted(fake_rpc.calls[0]["context"]["roles"]) == [["site_manager", "DEMO-NEW"],
                                                             ["site_manager", "DEMO-RES"]]


@pytest.mark.parametrize("username", ["hq@demo", "admin@demo", "manager@demo", "supervisor@demo"])
def test_dashboard_roles_are_allowed(client, login, fake_rpc, username):
    echo(fake_rpc, "hot_spots")
    response = client.get("/api/v1/reports/hot-spots?from=2026-11-01&to=2026-11-30", headers=headers(login, username))
    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/reports/kpis", "/reports/league-table", "/reports/hot-spots",
                                  "/reports/drilldown", "/reports/export.csv"])
def test_agents_are_refused_before_any_call(client, auth_headers, fake_rpc, path):
    response = client.get("/api/v1" + path + "?from=2026-11-01&to=2026-11-30", headers=auth_headers)
    assert response.status_code == 403
    assert fake_rpc.calls == []


def test_no_token_no_report(client, fake_rpc):
    assert client.get("/api/v1/reports/kpis").status_code == 401
    assert fake_rpc.calls == []


@pytest.mark.parametrize("query, field", [("from=2026-13-01&to=2026-12-01", "from"), ("from=2026-11-01&to=soon", "to"),
                                          ("from=2026-11-01&to=2026-11-30&limit=ten", "limit")])
def test_malformed_query_is_422_with_the_field(client, login, fake_rpc, query, field):
    response = client.get(f"/api/v1/reports/drilldown?{query}", headers=headers(login, "hq@demo"))
    assert response.status_code == 422
    assert response.get_json()["details"]["field"] == field
    assert fake_rpc.calls == []


@pytest.mark.parametrize("status, code, cls, field", [(422, "validation_failed", "ValidationFailed", "sort"),
                                                     (404, "not_found", "NotFound", "estate")])
def test_reporting_refusals_keep_their_status_and_field(client, login, fake_rpc, remote_error, status, code, cls,
                                                        field):
    fake_rpc.reply("reporting", "league_table", remote_error(cls, status, code, "bad", field=field))
    response = client.get("/api/v1/reports/league-table?from=2026-11-01&to=2026-11-30&sort=name",
                          headers=headers(login, "manager@demo"))
    assert response.status_code == status
    body = response.get_json()
    assert body["error"] == code and body["details"] == {"field": field}


@pytest.mark.parametrize("fmt, mimetype", [
    ("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
def test_export_downloads_an_attachment(client, login, fake_rpc, fmt, mimetype):
    content = b"\xef\xbb\xbfrank,estate\r\n1,DEMO-RES\r\n"
    fake_rpc.reply("reporting", "export", lambda *args: {
        "filename": f"league_table_2026-11-01_2026-11-30.{fmt}", "content_type": "x",
        "content_base64": base64.b64encode(content).decode(), "args": list(args)})
    response = client.get(f"/api/v1/reports/export.{fmt}?report=league_table&from=2026-11-01&to=2026-11-30",
                          headers={**headers(login, "hq@demo"), "Accept-Language": "en-GB,en;q=0.9"})
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="league_table_2026-11-01_2026-11-30.{fmt}"'
    assert response.data == content
    assert fake_rpc.calls[0]["args"] == ("league_table", fmt, "2026-11-01", "2026-11-30", None, "received", None,
                                         "en")


def test_an_odd_filename_from_the_service_cannot_break_the_header(client, login, fake_rpc):
    fake_rpc.reply("reporting", "export", {"filename": 'x"\r\nSet-Cookie: a=b.csv', "content_type": "x",
                                           "content_base64": ""})
    response = client.get("/api/v1/reports/export.csv?report=kpis&from=2026-11-01&to=2026-11-30",
                          headers=headers(login, "hq@demo"))
    assert response.headers["Content-Disposition"] == 'attachment; filename="xSet-Cookieab.csv"'


def test_unknown_export_format_is_404(client, login, fake_rpc):
    response = client.get("/api/v1/reports/export.pdf?from=2026-11-01&to=2026-11-30", headers=headers(login, "hq@demo"))
    assert response.status_code == 404
    assert fake_rpc.calls == []
