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
