"""/dashboard, /dashboard/drilldown and /dashboard/export.<fmt>: reporting's figures as pages, SVG charts, links."""
import base64
import uuid

import pytest

from gateway.blueprints.dashboard_charts import BAR_WIDTH, bars

from test_gateway_console_pages import ESTATES, console_login

KPIS = {"from": "2026-11-01", "to": "2026-11-24", "estate": None, "received": 42, "first_contact_on_time_pct": 87.5,
        "overdue_now": 3, "resolved_within_limit_pct": 66.7, "handling_hours_avg": 5.2, "handling_hours_p90": 11.0,
        "breaches": 4, "escalated": 2, "callback_coverage_pct": 90.0, "satisfaction_pct": None, "reopen_rate_pct": 0.0,
        "repeat_complaints": 1, "extensions_requested": 2, "extensions_approved": 1,
        "nonconformity_records": 5, "nonconformity": {"opened": 5, "approved": 3, "rejected": 1},
        "capa_open": 4, "capa_overdue": 2, "per_1000_units": None,
        "notes": {"per_1000_units": "unit counts not known for every estate in scope"},
        "by_category": [{"key": "facilities_equipment", "received": 30}, {"key": None, "received": 12}]}
LEAGUE = {"from": "2026-11-01", "to": "2026-11-24", "previous_from": "2026-10-08", "previous_to": "2026-10-31",
          "sort": "received", "region": None, "rows": [
              {"estate": "DEMO-RES", "estate_name": "锦绣花园", "region": "EAST", "received": 30, "previous_received": 20,
               "received_change": 10, "received_change_pct": 50.0, "on_time_pct": 90.0, "previous_on_time_pct": 80.0,
               "on_time_pct_change": 10.0, "overdue_now": 1, "resolved_within_limit_pct": 70.0, "rank": 1,
               "per_1000_units": 3750.0, "nonconformity_records": 5, "capa_open": 3, "capa_overdue": 2},
              {"estate": "DEMO-NEW", "estate_name": "滨江新城", "region": "EAST", "received": 12, "previous_received": 15,
               "received_change": -3, "received_change_pct": -20.0, "on_time_pct": None,
               "previous_on_time_pct": None, "on_time_pct_change": None, "overdue_now": 0,
               "resolved_within_limit_pct": None, "rank": 2, "per_1000_units": None, "nonconformity_records": 0,
               "capa_open": 1, "capa_overdue": 0}]}
HOT = {"from": "2026-11-01", "to": "2026-11-24", "baseline_from": "2026-07-01", "baseline_to": "2026-10-31",
       "categories": [{"category": "facilities_equipment", "count": 30, "baseline_mean": 6.0, "z": 4.1}],
       "estates": [], "estate_categories": []}


@pytest.fixture
def as_user(client, fake_rpc):
    fake_rpc.reply("intake", "list_estates", ESTATES)
    fake_rpc.reply("reporting", "kpis", KPIS)
    fake_rpc.reply("reporting", "league_table", LEAGUE)
    fake_rpc.reply("reporting", "hot_spots", HOT)

    def as_user(username="hq@demo"):
        assert console_login(client, username=username).status_code == 302
        return client
    return as_user


def calls(fake_rpc, method):
    return [c for c in fake_rpc.calls if c["method"] == method]


def test_gateway_console_dashboard_shows_figures_charts_and_links(as_user, fake_rpc):
    html = as_user().get("/dashboard?from=2026-11-01&to=2026-11-24").get_data(as_text=True)
    assert "运营看板" in html and "项目排行榜" in html and "投诉热点" in html
    assert '<svg class="bars" id="chart-categories"' in html and 'id="chart-on-time"' in html
    assert "87.5%" in html and "▲ 10" in html and "▼ 3" in html
    assert "/dashboard/drilldown?metric=received&amp;from=2026-11-01&amp;to=2026-11-24&amp;estate=DEMO-RES" in html
    assert "metric=first_contact_on_time" in html and "metric=overdue_now" in html
    assert "/dashboard/export.csv?report=league_table" in html and "/dashboard/export.xlsx" in html
    [league] = calls(fake_rpc, "league_table")
    assert league["args"] == ("2026-11-01", "2026-11-24", "received", None)
    assert league["context"]["roles"] == [["head_office", None]]  # reporting scopes by these


def test_gateway_console_dashboard_shows_quality_records_and_complaints_per_1000_units(as_user):
    html = as_user().get("/dashboard?from=2026-11-01&to=2026-11-24").get_data(as_text=True)
    assert ">5</a> / <a" in html and ">1</a></span>" in html and "不合格记录 开立 / 批准 / 驳回" in html
    assert "纠正预防措施 进行中 / 当前逾期" in html and "每千户投诉数" in html
    assert 'title="unit counts not known for every estate in scope"' in html
    drill = "/dashboard/drilldown?metric={}&amp;from=2026-11-01&amp;to=2026-11-24"
    assert "3750.0" in html and f'href="{drill.format("capa_open")}&amp;estate=DEMO-RES">3</a>' in html
    assert f'href="{drill.format("capa_overdue")}&amp;estate=DEMO-RES">2</a>' in html
    english = as_user().get("/dashboard?from=2026-11-01&to=2026-11-24&lang=en").get_data(as_text=True)
    assert "Nonconformity records opened / approved / rejected" in english and "CAPA open / overdue now" in english
    assert "Complaints per 1,000 units" in english and "Per 1,000 units" in english


def test_gateway_console_dashboard_sort_and_region_pass_through_unknown_sort_does_not(as_user, fake_rpc):
    client = as_user("admin@demo")
    client.get("/dashboard?from=2026-11-01&to=2026-11-24&sort=on_time_pct&region=EAST")
    client.get("/dashboard?from=2026-11-01&to=2026-11-24&sort=drop+table")
    first, second = calls(fake_rpc, "league_table")
    assert first["args"] == ("2026-11-01", "2026-11-24", "on_time_pct", "EAST")
    assert second["args"][2] == "received"


def test_gateway_console_dashboard_bad_period_is_explained(as_user, fake_rpc, remote_error):
    fake_rpc.reply("reporting", "kpis", remote_error("ValidationFailed", 422, "validation_failed", field="from"))
    r = as_user().get("/dashboard?from=2026-12-01&to=2026-11-01")
    assert r.status_code == 422 and "请选择有效的时间段" in r.get_data(as_text=True)


@pytest.mark.parametrize("user, status", [("manager@demo", 200), ("supervisor@demo", 200), ("agent@demo", 403),
                                          ("committee@demo", 403)])
def test_gateway_console_dashboard_roles(as_user, fake_rpc, user, status):
    r = as_user(user).get("/dashboard")
    assert r.status_code == status
    if status == 200:
        assert calls(fake_rpc, "kpis")[0]["context"]["roles"][0][0] in ("site_manager", "cs_supervisor")


def test_gateway_console_dashboard_drilldown_lists_the_cases(as_user, fake_rpc):
    cid = str(uuid.uuid4())
    fake_rpc.reply("reporting", "drilldown", {"metric": "overdue_now", "total": 1, "limit": 50, "offset": 0, "items": [
        {"complaint_id": cid, "reference": "TS20261124-DRILL1", "estate": "DEMO-RES", "estate_name": "锦绣花园",
         "channel": "hotline", "category": "facilities_equipment", "received_at": "2026-11-24T01:00:00+00:00",
         "first_contact_status": "overdue", "resolution_status": "pending", "handling_hours": None,
         "breached": True}]})
    html = as_user().get("/dashboard/drilldown?metric=overdue_now&from=2026-11-01&to=2026-11-24&estate=DEMO-RES"
                         ).get_data(as_text=True)
    assert "TS20261124-DRILL1" in html and f"/complaints/{cid}" in html and "当前首次联系逾期" in html
    [call] = calls(fake_rpc, "drilldown")
    assert call["args"] == ("overdue_now", "2026-11-01", "2026-11-24", "DEMO-RES", None, None, 50, 0, None, None)


def test_gateway_console_drilldown_shows_escalation_level_and_extension_and_filters_by_location(as_user, fake_rpc):
    item = {"reference": "TS20261124-DRILL2", "estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "hotline",
            "category": None, "received_at": "2026-11-24T01:00:00+00:00", "first_contact_status": "on_time",
            "resolution_status": "pending", "handling_hours": None, "breached": False}
    fake_rpc.reply("reporting", "drilldown", {"metric": "received", "total": 3, "limit": 50, "offset": 0, "items": [
        item | {"complaint_id": str(uuid.uuid4()), "escalation_level": 2, "extension_requested": True,
                "extension_approved": True},
        item | {"complaint_id": str(uuid.uuid4()), "escalation_level": None, "extension_requested": True,
                "extension_approved": False},
        item | {"complaint_id": str(uuid.uuid4()), "escalation_level": None, "extension_requested": False,
                "extension_approved": False}]})
    html = as_user().get("/dashboard/drilldown?metric=received&from=2026-11-01&to=2026-11-24&estate=DEMO-RES"
                         "&building=3栋&facility=电梯").get_data(as_text=True)
    assert "最高升级级别" in html and "第 2 级" in html
    assert '<td class="extension">已批准</td>' in html and '<td class="extension">已申请</td>' in html
    assert "楼栋: 3栋" in html and "设施: 电梯" in html
    assert 'name="building" value="3栋"' in html
    [call] = calls(fake_rpc, "drilldown")
    assert call["args"][-2:] == ("3栋", "电梯")


def test_gateway_console_dashboard_shows_location_hot_spots_with_drilldown_links(as_user, fake_rpc):
    fake_rpc.reply("reporting", "hot_spots", HOT | {
        "buildings": [{"estate": "DEMO-RES", "estate_name": "锦绣花园", "building": "3栋", "count": 9,
                       "baseline_mean": 2.0, "z": 3.5}],
        "facilities": [{"estate": "DEMO-RES", "estate_name": "锦绣花园", "facility": "地下车库", "count": 7,
                        "baseline_mean": 1.0, "z": 6.0}]})
    fake_rpc.reply("reporting", "league_table", LEAGUE | {"rows": [LEAGUE["rows"][0] | {"active": False}]})
    html = as_user().get("/dashboard?from=2026-11-01&to=2026-11-24").get_data(as_text=True)
    assert "位置热点" in html and "锦绣花园 · 楼栋 3栋" in html and "锦绣花园 · 设施 地下车库" in html
    assert "estate=DEMO-RES&amp;building=3%E6%A0%8B" in html
    assert "facility=%E5%9C%B0%E4%B8%8B%E8%BD%A6%E5%BA%93" in html
    assert "已停用" in html


def test_gateway_console_dashboard_drilldown_unknown_metric_and_estate_outside_scope(as_user, fake_rpc, remote_error):
    fake_rpc.reply("reporting", "drilldown", remote_error("NotFound", 404, "not_found", field="estate"))
    r = as_user("supervisor@demo").get("/dashboard/drilldown?metric=evil&estate=DEMO-OFFICE")
    assert r.status_code == 404 and "不在您的管辖范围" in r.get_data(as_text=True)
    assert calls(fake_rpc, "drilldown")[0]["args"][0] == "received"


def test_gateway_console_dashboard_export_streams_the_report_for_the_session(as_user, fake_rpc):
    fake_rpc.reply("reporting", "export", {"filename": "league_table_2026-11-01_2026-11-24.csv",
                                           "content_base64": base64.b64encode("项目,受理\n".encode()).decode()})
    r = as_user().get("/dashboard/export.csv?report=league_table&from=2026-11-01&to=2026-11-24&sort=on_time_pct")
    assert r.status_code == 200 and r.mimetype == "text/csv" and r.data.decode() == "项目,受理\n"
    assert 'filename="league_table_2026-11-01_2026-11-24.csv"' in r.headers["Content-Disposition"]
    assert r.headers["Cache-Control"] == "no-store"
    [call] = calls(fake_rpc, "export")
    assert call["args"] == ("league_table", "csv", "2026-11-01", "2026-11-24", None, "on_time_pct", None, "zh_CN")
    assert as_user().get("/dashboard/export.pdf").status_code == 404


def test_gateway_console_dashboard_export_needs_a_session(client):
    r = client.get("/dashboard/export.csv")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_gateway_console_dashboard_bars_scale_and_mark_missing_values():
    chart = bars([("a", 50), ("b", None), ("c", 100), ("d", -5)], unit="%", maximum=100)
    assert [r["width"] for r in chart["rows"]] == [BAR_WIDTH / 2, 0, BAR_WIDTH, 0]
    assert [r["text"] for r in chart["rows"]] == ["50%", "—", "100%", "-5%"]
    assert bars([])["rows"] == [] and bars([("x", 0)])["rows"][0]["width"] == 0


def test_gateway_console_dashboard_every_figure_links_to_its_drilldown_with_escalations_by_level(as_user,
                                                                                                fake_rpc):
    fake_rpc.reply("reporting", "kpis", dict(KPIS, escalations_by_level=[
        {"level": 1, "cases": 7}, {"level": 2, "cases": 3}, {"level": 3, "cases": 1}]))
    html = as_user().get("/dashboard?from=2026-11-01&to=2026-11-24").get_data(as_text=True)
    drill = "/dashboard/drilldown?metric={}&amp;from=2026-11-01&amp;to=2026-11-24"
    for metric, value in (("escalated_level_1", 7), ("escalated_level_2", 3), ("escalated_level_3", 1),
                          ("extensions_requested", 2), ("extensions_approved", 1), ("nonconformity_records", 5),
                          ("nonconformity_approved", 3), ("nonconformity_rejected", 1), ("capa_open", 4),
                          ("capa_overdue", 2)):
        assert f'href="{drill.format(metric)}"' in html and f">{value}</a>" in html, metric
    assert f'href="{drill.format("handling_measured")}"' in html
    assert "各级升级案件（1 / 2 / 3 级）" in html and 'title="第 1 级"' in html
    assert "/quality" not in html.split('id="kpis"')[1].split("</section>")[0]  # figures open their cases


@pytest.mark.parametrize("metric, title", [
    ("escalated_level_2", "升级至第 2 级"), ("handling_measured", "计入处理时长的案件（最慢在前）"),
    ("capa_overdue", "当前逾期的纠正/预防措施"), ("extensions_approved", "延期已批准"),
])
def test_gateway_console_drilldown_offers_the_new_figures(as_user, fake_rpc, metric, title):
    fake_rpc.reply("reporting", "drilldown", {"metric": metric, "total": 0, "limit": 50, "offset": 0, "items": []})
    client = as_user("manager@demo")
    html = client.get(f"/dashboard/drilldown?metric={metric}&from=2026-11-01&to=2026-11-24&estate=DEMO-RES"
                      ).get_data(as_text=True)
    assert title in html
    [call] = calls(fake_rpc, "drilldown")
    assert call["args"][:4] == (metric, "2026-11-01", "2026-11-24", "DEMO-RES")
    assert ('id="drill-note"' in html) == metric.startswith("capa_")
    english = client.get(f"/dashboard/drilldown?metric={metric}&from=2026-11-01&to=2026-11-24&lang=en"
                         ).get_data(as_text=True)
    assert "Escalated to level 2" in english if metric == "escalated_level_2" else True
