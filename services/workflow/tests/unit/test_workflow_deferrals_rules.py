"""Night shift and deferral rules: business time on a site's calendar, who is on duty, pause arithmetic."""
import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from workflow.domain import deferrals, duty, offhours
from workflow.domain.sla.workdays import WorkCalendar

SH = ZoneInfo("Asia/Shanghai")
HOURS = ((dt.time(8, 30), dt.time(12, 0)), (dt.time(13, 30), dt.time(17, 30)))
# 2026-11-23 is a Monday; Friday 27th is closed (a site closure) to cover a non-working weekday
CAL = WorkCalendar("Asia/Shanghai", "none", HOURS, closures=frozenset({dt.date(2026, 11, 27)}))


def at(day, hour, minute=0):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=SH)


@pytest.mark.parametrize("instant, inside", [
    (at(24, 8, 29), False), (at(24, 8, 30), True), (at(24, 12, 0), False), (at(24, 12, 30), False),
    (at(24, 17, 29), True), (at(24, 17, 30), False), (at(24, 22), False), (at(27, 10), False),  # closure
    (at(28, 10), False),  # Saturday
])
def test_business_hours_edges(instant, inside):
    assert offhours.in_business_hours(CAL, instant) is inside


def test_next_working_period_skips_lunch_nights_weekends_and_closures():
    assert offhours.next_period_start(CAL, at(24, 22)) == at(25, 8, 30)
    assert offhours.next_period_start(CAL, at(24, 12, 10)) == at(24, 13, 30)
    assert offhours.next_period_start(CAL, at(24, 8, 30)) == at(24, 8, 30)
    assert offhours.next_period_start(CAL, at(26, 18)) == at(30, 8, 30)  # Fri closed, weekend: Monday


def test_business_seconds_and_adding_them_back():
    assert offhours.business_seconds(CAL, at(24, 17), at(25, 9)) == 3600  # 17:00-17:30 + 08:30-09:00
    assert offhours.business_seconds(CAL, at(24, 18), at(25, 8, 30)) == 0
    assert offhours.business_seconds(CAL, at(26, 18), at(30, 8, 30)) == 0
    assert offhours.add_business(CAL, at(24, 11), 2 * 3600) == at(24, 14, 30)  # lunch skipped
    assert offhours.add_business(CAL, at(24, 13, 30), 4 * 3600) == at(24, 17, 30)  # ends at closing, not next day
    assert offhours.add_business(CAL, at(26, 17), 3600) == at(30, 9)


def test_the_night_belongs_to_the_evening_it_starts_on():
    assert offhours.duty_date(CAL, at(24, 22)) == dt.date(2026, 11, 24)
    assert offhours.duty_date(CAL, at(25, 3)) == dt.date(2026, 11, 24)
    assert offhours.duty_date(CAL, at(25, 8, 30)) == dt.date(2026, 11, 25)


def test_the_most_specific_roster_entry_wins_and_entries_are_validated():
    entries = duty.parse_roster([
        {"person": "centre@demo", "post": "消防监控中心"},
        {"person": "tue@demo", "weekdays": [2]},
        {"person": "swap@demo", "weekdays": [2], "date_from": "2026-11-24", "date_to": "2026-11-24"},
    ])
    assert duty.on_duty(entries, dt.date(2026, 11, 24)).person == "swap@demo"
    assert duty.on_duty(entries, dt.date(2026, 12, 1)).person == "tue@demo"
    assert duty.on_duty(entries, dt.date(2026, 11, 25)).post == "消防监控中心"
    assert duty.on_duty(entries[1:2], dt.date(2026, 11, 25)) is None
    assert entries[1].post == duty.DEFAULT_POST
    for raw, field in (([{"post": "x"}], "entries[0].person"),
                       ([{"person": "a", "weekdays": [0]}], "entries[0].weekdays"),
                       ([{"person": "a", "date_from": "2026-12-02", "date_to": "2026-12-01"}], "entries[0].date_to"),
                       ([{"person": "a", "date_from": "soon"}], "entries[0].date_from"), ("x", "entries")):
        with pytest.raises(duty.RosterInvalid) as err:
            duty.parse_roster(raw)
        assert err.value.field == field


def test_only_non_urgent_cases_may_wait():
    deferrals.check_severity(("minor", "moderate", "major"), "moderate")
    for order, severity in ((("minor", "moderate", "major"), "major"), (None, "minor"), (("a", "b"), "c")):
        with pytest.raises(deferrals.NotDeferrable) as err:
            deferrals.check_severity(order, severity)
        assert err.value.field == "severity"


def test_defer_request_defaults_to_the_next_working_period_and_checks_its_fields():
    now, default = at(24, 22), at(25, 8, 30)
    d = deferrals.parse_defer({"consented_by": " 业主（电话确认） "}, now, default)
    assert (d.consented_by, d.until) == ("业主（电话确认）", default)
    later = deferrals.parse_defer({"consented_by": "周先生", "until": "2026-11-25T10:00:00+08:00"}, now, default)
    assert later.until == at(25, 10)
    for data, field in (({}, "consented_by"), ({"consented_by": "a", "until": "2026-11-24T21:00:00+08:00"}, "until"),
                        ({"consented_by": "a", "until": "2026-11-25T10:00:00"}, "until"),
                        ({"consented_by": "a", "until": "2027-01-30T10:00:00+08:00"}, "until")):
        with pytest.raises(deferrals.NotDeferrable) as err:
            deferrals.parse_defer(data, now, default)
        assert err.value.field == field


def test_a_night_pause_moves_wall_clock_stages_and_not_business_hour_stages():
    deferred, resumed = at(24, 22), at(25, 8, 30)
    # first contact 1 h (wall clock) due 22:40: it gets the 10.5 h the owner agreed to wait
    assert deferrals.resumed_due(CAL, "h", at(24, 22, 40), deferred, resumed) == at(25, 9, 10)
    # resolution 3 working days and a 4 business-hour plan: their clocks did not run at night anyway
    assert deferrals.resumed_due(CAL, "wd", at(27 - 1, 17, 30), deferred, resumed) == at(26, 17, 30)
    assert deferrals.resumed_due(CAL, "bh", at(25, 12), deferred, resumed) == at(25, 12)


def test_a_daytime_pause_moves_business_hour_stages_by_the_business_time_it_took():
    deferred, resumed = at(24, 10), at(25, 8, 30)  # 6 business hours of Tuesday paused
    assert deferrals.resumed_due(CAL, "bh", at(24, 15, 30), deferred, resumed) == at(25, 14)  # 4 h left
    # due Thursday closing with 21 h left -> Friday closed, weekend: Monday 16:00
    assert deferrals.resumed_due(CAL, "wd", at(26, 17, 30), deferred, resumed) == at(30, 16)
    assert deferrals.resumed_due(CAL, "h", at(24, 11), deferred, resumed) == at(25, 9, 30)


def test_an_overdue_stage_keeps_its_due_and_a_pause_never_shortens():
    assert deferrals.resumed_due(CAL, "h", at(24, 21), at(24, 22), at(25, 8, 30)) == at(24, 21)
    assert deferrals.resumed_due(CAL, "bh", at(25, 9), at(24, 22), at(24, 22)) == at(25, 9)
    assert deferrals.resumed_due(None, "bh", at(25, 9), at(24, 22), at(25, 8)) == at(25, 19)  # no calendar: wall
    assert deferrals.unit_of("4bh") == "bh" and deferrals.unit_of("15m") == "m" and deferrals.unit_of(None) is None
