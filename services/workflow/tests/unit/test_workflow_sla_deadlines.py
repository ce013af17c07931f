"""Deadlines across the 2026 statutory calendar, business hours with a lunch break, closures, the day-of-receipt
rule and a DST zone. Expected dates follow the State Council's 2026 schedule (as chinese-calendar 1.11 has it):
Spring Festival off 15-23 Feb, make-up working Saturdays 14 Feb and 28 Feb; Mid-autumn off 25-27 Sep; National
Day off 1-7 Oct, make-up working Sunday 20 Sep and Saturday 10 Oct."""
import datetime as dt

import pytest

from workflow.domain.sla import CalendarUnavailable, build, compute, render

CN_HOURS = [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:30"}]


def policy(limit, timezone="Asia/Shanghai", calendar="cn", hours=None, closures=(), extra=()):
    doc = {"timezone": timezone, "calendar": calendar, "business_hours": hours or CN_HOURS,
           "closures": list(closures), "extra_working_days": list(extra), "default_severity": "s",
           "severities": {"s": {"stages": [{"name": "x", "limit": limit}]}}}
    return build([("group", 1, doc)])


def due(limit, received, **kwargs):
    p = policy(limit, **kwargs)
    [deadline] = compute(p, dt.datetime.fromisoformat(received), "s")
    return deadline.due_at.astimezone(p.calendar.zone).isoformat(), deadline


CASES = [
    # working days: due at the last "end" of the Nth working day after the day of receipt (day 0)
    ("1wd", "2026-02-13T16:00+08:00", "2026-02-14T17:30:00+08:00"),  # make-up Saturday counts
    ("2wd", "2026-02-13T16:00+08:00", "2026-02-24T17:30:00+08:00"),  # Spring Festival 15-23 Feb skipped
    ("5wd", "2026-02-13T16:00+08:00", "2026-02-27T17:30:00+08:00"),
    ("10wd", "2026-02-13T16:00+08:00", "2026-03-05T17:30:00+08:00"),  # both make-up Saturdays counted
    ("1wd", "2026-02-14T23:00+08:00", "2026-02-24T17:30:00+08:00"),  # after hours on a make-up day: still day 0
    ("1wd", "2026-02-15T10:00+08:00", "2026-02-24T17:30:00+08:00"),  # received on a holiday
    ("1wd", "2026-02-27T09:00+08:00", "2026-02-28T17:30:00+08:00"),
    ("2wd", "2026-02-27T09:00+08:00", "2026-03-02T17:30:00+08:00"),
    ("1wd", "2026-09-18T10:00+08:00", "2026-09-20T17:30:00+08:00"),  # make-up Sunday before National Day
    ("1wd", "2026-09-24T10:00+08:00", "2026-09-28T17:30:00+08:00"),  # Mid-autumn 25-27 Sep
    ("1wd", "2026-09-30T10:00+08:00", "2026-10-08T17:30:00+08:00"),  # National Day 1-7 Oct
    ("3wd", "2026-09-30T10:00+08:00", "2026-10-10T17:30:00+08:00"),  # make-up Saturday 10 Oct
    ("4wd", "2026-09-30T10:00+08:00", "2026-10-12T17:30:00+08:00"),
    ("1wd", "2026-11-24T00:05+08:00", "2026-11-25T17:30:00+08:00"),  # day of receipt = day 0, whatever the hour
    ("1wd", "2026-11-24T23:59+08:00", "2026-11-25T17:30:00+08:00"),
    ("1wd", "2026-11-23T17:00+00:00", "2026-11-25T17:30:00+08:00"),  # 01:00 on the 24th in Shanghai
    ("1wd", "2026-11-28T10:00+08:00", "2026-11-30T17:30:00+08:00"),  # an ordinary Saturday
    # business hours, lunch break 12:00-13:30
    ("4bh", "2026-11-24T10:00+08:00", "2026-11-24T15:30:00+08:00"),
    ("1bh", "2026-11-24T11:00+08:00", "2026-11-24T12:00:00+08:00"),  # ends exactly at the lunch break
    ("1bh", "2026-11-24T11:30+08:00", "2026-11-24T14:00:00+08:00"),
    ("1bh", "2026-11-24T12:30+08:00", "2026-11-24T14:30:00+08:00"),  # received at lunch: starts 13:30
    ("2bh", "2026-11-24T20:00+08:00", "2026-11-25T10:30:00+08:00"),  # after hours: next opening
    ("2bh", "2026-11-27T17:00+08:00", "2026-11-30T10:00:00+08:00"),  # Friday evening to Monday
    ("4bh", "2026-02-13T17:00+08:00", "2026-02-14T12:00:00+08:00"),  # into the make-up Saturday
    ("4bh", "2026-09-30T17:00+08:00", "2026-10-08T12:00:00+08:00"),  # across National Day
    # wall clock: holidays do not matter
    ("2h", "2026-02-15T10:00+08:00", "2026-02-15T12:00:00+08:00"),
    ("15m", "2026-02-15T23:50+08:00", "2026-02-16T00:05:00+08:00"),
    ("7d", "2026-02-15T10:00+08:00", "2026-02-22T10:00:00+08:00"),
]


@pytest.mark.parametrize("limit, received, expected", CASES)
def test_deadlines_in_shanghai(limit, received, expected):
    assert due(limit, received)[0] == expected


@pytest.mark.parametrize("limit, received, expected", [
    ("1wd", "2026-11-24T10:00+08:00", "2026-11-26T17:30:00+08:00"),
    ("8bh", "2026-11-24T17:00+08:00", "2026-11-26T17:30:00+08:00"),
    ("1h", "2026-11-24T23:30+08:00", "2026-11-25T00:30:00+08:00"),
])
def test_a_site_closure_is_not_a_working_day(limit, received, expected):
    assert due(limit, received, closures=["2026-11-25"])[0] == expected


def test_the_reason_given_for_a_closure_or_extra_day_is_in_the_explanation():
    local, deadline = due("3wd", "2026-11-24T10:00+08:00",
                          closures=[{"date": "2026-11-25", "reason": "停水检修"}],
                          extra=[{"date": "2026-11-28", "reason": "交房集中办理"}])
    assert local == "2026-11-28T17:30:00+08:00"  # 25 closed; 26, 27 and the extra Saturday 28 count
    zh, en = render(deadline.explanation), render(deadline.explanation, "en")
    assert "2026-11-25 项目停业日（停水检修）" in zh and "site closure (停水检修)" in en, zh
    assert "交房集中办理" in zh, zh
    _local, plain = due("3wd", "2026-11-24T10:00+08:00", closures=["2026-11-25"])  # no reason given: as before
    assert "2026-11-25 项目停业日" in render(plain.explanation) and "停业日（" not in render(plain.explanation)


def test_a_site_extra_working_day_counts():
    assert due("1wd", "2026-11-27T10:00+08:00", extra=["2026-11-28"])[0] == "2026-11-28T17:30:00+08:00"
    assert due("1wd", "2026-02-13T10:00+08:00", extra=["2026-02-16"])[0] == "2026-02-14T17:30:00+08:00"


BERLIN = {"timezone": "Europe/Berlin", "calendar": "none", "hours": [{"start": "09:00", "end": "17:00"}]}


@pytest.mark.parametrize("limit, received, expected", [
    ("1d", "2026-03-28T12:00+01:00", "2026-03-29T13:00:00+02:00"),  # 24 h elapsed across spring forward
    ("24h", "2026-03-28T12:00+01:00", "2026-03-29T13:00:00+02:00"),
    ("7d", "2026-10-20T12:00+02:00", "2026-10-27T11:00:00+01:00"),  # across fall back
    ("1wd", "2026-03-27T10:00+01:00", "2026-03-30T17:00:00+02:00"),  # local closing time after the change
    ("2bh", "2026-10-23T16:00+02:00", "2026-10-26T10:00:00+01:00"),
    ("1wd", "2026-09-30T10:00+02:00", "2026-10-01T17:00:00+02:00"),  # calendar none: China's holiday is a workday
])
def test_deadlines_in_a_dst_zone(limit, received, expected):
    assert due(limit, received, **BERLIN)[0] == expected


def test_explanation_names_holidays_make_up_days_and_policy_version():
    _, deadline = due("5wd", "2026-02-13T16:00+08:00")
    e = deadline.explanation
    assert e["policy"]["version"] == "group@v1" and e["day0"] == "2026-02-13"
    assert {d["date"] for d in e["skipped_days"]} >= {"2026-02-15", "2026-02-23"}
    assert [d["date"] for d in e["makeup_days"]] == ["2026-02-14"]
    zh, en = render(e), render(e, "en")
    assert "2026-02-15 至 2026-02-23 法定节假日（春节）" in zh and "调休上班日" in zh and "group@v1" in zh
    assert "public holiday (Spring Festival)" in en and "make-up working day" in en


def test_explanation_lists_out_of_hours_and_closures():
    local, deadline = due("8bh", "2026-11-24T11:00+08:00", closures=["2026-11-25"])
    assert local == "2026-11-26T11:30:00+08:00"
    e = deadline.explanation
    assert e["clock_start"] == "2026-11-24T11:00:00+08:00"
    assert [d["reason"] for d in e["skipped_days"]] == ["closure"]
    assert [g["from"][11:16] for g in e["out_of_hours"]] == ["12:00", "17:30"]  # lunch; night + closed day
    assert "项目停业日" in render(e) and "site closure" in render(e, "en") and "非营业时段 2 段" in render(e)


def test_a_year_the_calendar_does_not_know_is_an_error():
    with pytest.raises(CalendarUnavailable, match="2027"):
        due("1wd", "2026-12-31T10:00+08:00")
    with pytest.raises(CalendarUnavailable):
        due("1bh", "2027-03-01T10:00+08:00")
    assert due("2h", "2027-03-01T10:00+08:00")[0] == "2027-03-01T12:00:00+08:00"  # no calendar needed


def test_failures_can_be_collected_instead_of_raised():
    doc = {"timezone": "Asia/Shanghai", "calendar": "cn", "business_hours": CN_HOURS, "default_severity": "s",
           "severities": {"s": {"stages": [{"name": "a", "limit": "1h"}, {"name": "b", "limit": "3wd"},
                                           {"name": "c", "limit": "1h", "after": "b"}]}}}
    failures = []
    deadlines = compute(build([("group", 1, doc)]), dt.datetime.fromisoformat("2026-12-30T10:00+08:00"), "s",
                        failures=failures)
    assert [d.stage for d in deadlines] == ["a"]
    assert [f["stage"] for f in failures] == ["b", "c"] and "2027" in failures[0]["error"]


def test_after_counts_from_the_earlier_stage_due_time():
    doc = {"timezone": "Asia/Shanghai", "calendar": "cn", "business_hours": CN_HOURS, "default_severity": "s",
           "severities": {"s": {"stages": [{"name": "resolution", "limit": "5wd"},
                                           {"name": "callback", "limit": "1wd", "after": "resolution"}]}}}
    res, cb = compute(build([("group", 1, doc)]), dt.datetime.fromisoformat("2026-02-13T16:00+08:00"), "s")
    assert res.due_at.isoformat() == "2026-02-27T09:30:00+00:00"
    assert cb.due_at.isoformat() == "2026-02-28T09:30:00+00:00"  # the make-up Saturday after it
    assert "「resolution」到期后" in render(cb.explanation)


def test_naive_receipt_time_is_refused():
    with pytest.raises(ValueError):
        compute(policy("1h"), dt.datetime(2026, 11, 24, 10), "s")


def test_closures_and_extra_working_days_may_carry_a_reason():
    """The console's form writes ``{date, reason}``; the date counts exactly as a plain date does."""
    plain = due("1wd", "2026-11-24T11:00+08:00", closures=["2026-11-25"], extra=["2026-11-28"])[0]
    kept = due("1wd", "2026-11-24T11:00+08:00", closures=[{"date": "2026-11-25", "reason": "停电检修"}],
               extra=[{"date": "2026-11-28", "reason": "业主开放日"}])[0]
    assert kept == plain == "2026-11-26T17:30:00+08:00"
    assert due("3wd", "2026-11-26T11:00+08:00")[0] == "2026-12-01T17:30:00+08:00"
    assert due("3wd", "2026-11-26T11:00+08:00", extra=[{"date": "2026-11-28"}])[0] == "2026-11-30T17:30:00+08:00"
