"""Periodic reports: subscriptions checked, the last complete week/month/quarter, a page safe to open."""
import datetime as dt

import pytest

from reporting.domain import periodic

UTC = dt.timezone.utc


@pytest.mark.parametrize("kind, now, period", [
    ("weekly", "2026-12-03T10:00:00+08:00", ("2026-11-23", "2026-11-29")),   # Thursday -> last Mon..Sun
    ("weekly", "2026-11-30T00:30:00+08:00", ("2026-11-23", "2026-11-29")),   # Monday just after midnight
    ("weekly", "2026-11-29T23:30:00+08:00", ("2026-11-16", "2026-11-22")),   # Sunday: this week is not over
    ("monthly", "2026-12-03T10:00:00+08:00", ("2026-11-01", "2026-11-30")),
    ("monthly", "2026-03-01T00:10:00+08:00", ("2026-02-01", "2026-02-28")),
    ("monthly", "2026-01-05T00:00:00+08:00", ("2025-12-01", "2025-12-31")),
    ("quarterly", "2026-12-03T10:00:00+08:00", ("2026-07-01", "2026-09-30")),
    ("quarterly", "2026-01-01T08:00:00+08:00", ("2025-10-01", "2025-12-31")),
    ("quarterly", "2026-04-01T00:00:01+08:00", ("2026-01-01", "2026-03-31")),
    ("monthly", "2026-11-30T17:00:00+00:00", ("2026-11-01", "2026-11-30")),  # already 1 Dec in Shanghai
])
def test_the_last_complete_period_in_the_groups_zone(kind, now, period):
    start, end = periodic.last_complete_period(kind, dt.datetime.fromisoformat(now), "Asia/Shanghai")
    assert (start.isoformat(), end.isoformat()) == period


@pytest.mark.parametrize("data, field", [
    (None, "body"), ({"recipients": ["a@b.cn"]}, "kind"), ({"kind": "daily", "recipients": ["a@b.cn"]}, "kind"),
    ({"kind": "weekly"}, "recipients"), ({"kind": "weekly", "recipients": []}, "recipients"),
    ({"kind": "weekly", "recipients": ["not-an-address"]}, "recipients"),
    ({"kind": "weekly", "recipients": ["a@b.cn"] * 21}, "recipients"),
    ({"kind": "weekly", "recipients": ["a@b.cn"], "estate": ""}, "estate"),
    ({"kind": "weekly", "recipients": ["a@b.cn"], "locale": "fr"}, "locale"),
])
def test_bad_subscriptions_name_the_field(data, field):
    with pytest.raises(periodic.InvalidSubscription) as err:
        periodic.check_subscription(data)
    assert err.value.field == field


def test_a_subscription_is_normalised():
    sub = periodic.check_subscription({"kind": "monthly", "recipients": ["HQ@Demo.example ", "hq@demo.example"],
                                       "estate": " DEMO-RES "})
    assert sub == {"kind": "monthly", "estate": "DEMO-RES", "locale": "zh_CN", "recipients": ["hq@demo.example"]}


def test_the_page_shows_the_figures_and_escapes_what_it_did_not_write():
    kpis = {"received": 12, "first_contact_on_time_pct": 91.7, "resolved_within_limit_pct": None, "overdue_now": 1,
            "nonconformity": {"opened": 2, "approved": 1, "rejected": 0}, "capa_open": 3, "capa_overdue": 1,
            "per_1000_units": 37.5,
            "by_category": [{"key": "<script>alert(1)</script>", "received": 5}, {"key": "sanitation", "received": 7}]}
    league = [{"rank": 1, "estate": "DEMO-RES", "estate_name": "阳光<b>花园</b>", "received": 12, "on_time_pct": 91.7,
               "resolved_within_limit_pct": None, "overdue_now": 1}]
    subject, html, text = periodic.render("monthly", "zh_CN", None, dt.date(2026, 11, 1), dt.date(2026, 11, 30),
                                          kpis, league, dt.datetime(2026, 12, 1, 1, tzinfo=UTC))
    assert subject == "集团月报（2026-11-01 至 2026-11-30）"
    assert "91.7 %" in html and "受理投诉" in html and "<svg" in html and "<script>" not in html
    assert "&lt;script&gt;" in html and "阳光&lt;b&gt;花园" in html
    assert "受理投诉: 12" in text
    assert "不合格记录（开立 / 批准 / 驳回）: 2 / 1 / 0" in text and "纠正预防措施（进行中 / 逾期）: 3 / 1" in text
    assert "每千户投诉数: 37.5" in text
    subject_en, html_en, _ = periodic.render("weekly", "en", "Sunny Garden", dt.date(2026, 11, 23),
                                             dt.date(2026, 11, 29), kpis, [], dt.datetime(2026, 12, 1, tzinfo=UTC))
    assert subject_en == "Sunny Garden weekly report (2026-11-23 to 2026-11-29)" and 'lang="en"' in html_en


def test_trend_is_per_day_up_to_a_month_and_per_week_beyond():
    per_day = {dt.date(2026, 11, 2): 3, dt.date(2026, 11, 30): 1}
    month = periodic.trend_buckets(per_day, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert len(month) == 30 and month[1] == {"from": "2026-11-02", "to": "2026-11-02", "received": 3}
    assert sum(b["received"] for b in month) == 4 and month[0]["received"] == 0
    quarter = periodic.trend_buckets({dt.date(2026, 7, 1): 2, dt.date(2026, 7, 5): 1, dt.date(2026, 7, 6): 4,
                                      dt.date(2026, 9, 30): 5}, dt.date(2026, 7, 1), dt.date(2026, 9, 30))
    assert quarter[0] == {"from": "2026-07-01", "to": "2026-07-05", "received": 3}  # Wed..Sun, clipped
    assert quarter[1]["from"] == "2026-07-06" and quarter[1]["to"] == "2026-07-12" and quarter[1]["received"] == 4
    assert quarter[-1] == {"from": "2026-09-28", "to": "2026-09-30", "received": 5} and len(quarter) == 14


def test_the_page_has_a_trend_and_an_sla_compliance_chart():
    kpis = {"received": 4, "first_contact_on_time_pct": 95.0, "resolved_within_limit_pct": 50.0,
            "callback_coverage_pct": None}
    trend = periodic.trend_buckets({dt.date(2026, 11, 2): 3, dt.date(2026, 11, 3): 1}, dt.date(2026, 11, 1),
                                   dt.date(2026, 11, 7))
    _, html, _ = periodic.render("weekly", "zh_CN", None, dt.date(2026, 11, 1), dt.date(2026, 11, 7), kpis, [],
                                 dt.datetime(2026, 11, 9, tzinfo=UTC), trend)
    chart = html.split('id="chart-trend"')[1].split("</svg>")[0]
    assert "每日投诉量" in html and chart.count("<rect") == 7 and "<title>11-02: 3</title>" in chart
    assert 'height="116.0"' in chart and 'height="38.7"' in chart  # the day with 3 is the top, 1 is a third
    sla = html.split('id="chart-sla"')[1].split("</svg>")[0]
    assert "时限达成情况" in html and "首次联系及时率" in sla and "95.0 %" in sla and "50.0 %" in sla
    assert 'width="380.0" height="16" fill="#2e9d5b"' in sla and 'width="200.0" height="16" fill="#e0902f"' in sla
    assert sla.count('fill="#eee"') == 3 and sla.count("<rect") == 5  # coverage unknown: its track, no bar
    _, html_en, _ = periodic.render("quarterly", "en", None, dt.date(2026, 7, 1), dt.date(2026, 9, 30), kpis, [],
                                    dt.datetime(2026, 10, 1, tzinfo=UTC),
                                    periodic.trend_buckets({}, dt.date(2026, 7, 1), dt.date(2026, 9, 30)))
    assert "Complaints per week" in html_en and "SLA compliance" in html_en and "<script" not in html_en
