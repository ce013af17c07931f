"""Operator-loaded statutory years: validation, the package round trip, and deadlines across a loaded year."""
import datetime as dt

import chinese_calendar
import pytest

from workflow.domain.sla import CalendarUnavailable, build, compute, render
from workflow.domain.sla import statutory
from workflow.domain.sla.errors import PolicyInvalid

CN_HOURS = [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:30"}]

# A made-up arrangement for a year no package knows (2031): the dates are test data, not the real schedule.
YEAR_2031 = {
    "calendar": "cn", "year": 2031, "source": "test arrangement",
    "holidays": [{"name": "元旦", "from": "2031-01-01", "to": "2031-01-03"},
                 {"name": "春节", "from": "2031-01-22", "to": "2031-01-28"}],
    "makeup_workdays": [{"name": "春节", "date": "2031-01-19"}],  # a Sunday
}


@pytest.fixture(autouse=True)
def empty_registry():
    statutory.REGISTRY.install([])
    yield
    statutory.REGISTRY.install([])


def due(limit, received):
    doc = {"timezone": "Asia/Shanghai", "calendar": "cn", "business_hours": CN_HOURS, "default_severity": "s",
           "severities": {"s": {"stages": [{"name": "x", "limit": limit}]}}}
    [deadline] = compute(build([("group", 1, doc)]), dt.datetime.fromisoformat(received), "s")
    return deadline.due_at.astimezone(dt.timezone(dt.timedelta(hours=8))).isoformat(), deadline


def test_the_package_year_round_trips_day_by_day():
    exported = statutory.from_package(2026).document()
    year = statutory.parse_year(exported)
    day = dt.date(2026, 1, 1)
    while day.year == 2026:
        assert year.day(day) == (chinese_calendar.is_workday(day), chinese_calendar.get_holiday_detail(day)[1]), day
        day += dt.timedelta(days=1)
    assert {"name": "Spring Festival", "from": "2026-02-15", "to": "2026-02-23"} in exported["holidays"]


def test_an_unknown_year_fails_loudly_until_it_is_loaded():
    with pytest.raises(CalendarUnavailable, match="python -m workflow.statutory import"):
        due("1wd", "2031-01-20T10:00+08:00")
    statutory.REGISTRY.install([statutory.parse_year(YEAR_2031)])
    local, deadline = due("1wd", "2031-01-17T10:00+08:00")  # Friday -> make-up Sunday 19th counts
    assert local == "2031-01-19T17:30:00+08:00"
    local, deadline = due("3wd", "2031-01-20T10:00+08:00")  # Mon: 21st, then 22-28 off, 29th, 30th
    assert local == "2031-01-30T17:30:00+08:00"
    assert "春节" in render(deadline.explanation)


def test_a_loaded_year_overrides_the_package():
    doc = statutory.from_package(2026).document()
    doc["holidays"].append({"name": "测试停业", "from": "2026-12-07", "to": "2026-12-07"})
    statutory.REGISTRY.install([statutory.parse_year(doc)])
    assert statutory.cn_day(dt.date(2026, 12, 7)) == (False, "测试停业")
    assert due("1wd", "2026-12-04T10:00+08:00")[0] == "2026-12-08T17:30:00+08:00"  # Fri -> skips Mon 7th


@pytest.mark.parametrize("change, path", [
    (lambda d: d.update(year=1999), "year"),
    (lambda d: d.update(source=""), "source"),
    (lambda d: d["makeup_workdays"].append({"name": "x", "date": "2031-01-20"}), "makeup_workdays[1].date"),
    (lambda d: d["makeup_workdays"].append({"name": "x", "date": "2031-01-02"}), "makeup_workdays[1].date"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2031-12-31", "to": "2032-01-01"}), "holidays[2]"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2031-03-05", "to": "2031-03-01"}), "holidays[2].to"),
    (lambda d: d["holidays"].append({"name": "x", "from": "2031-01-02", "to": "2031-01-02"}), "holidays[2]"),
    (lambda d: d["holidays"].append({"name": "", "from": "yesterday", "to": "2031-01-02"}), "holidays[2].name"),
])
def test_a_bad_year_document_names_the_field(change, path):
    doc = {**YEAR_2031, "holidays": list(YEAR_2031["holidays"]), "makeup_workdays": list(YEAR_2031["makeup_workdays"])}
    change(doc)
    with pytest.raises(PolicyInvalid) as err:
        statutory.parse_year(doc)
    assert path in [p["path"] for p in err.value.problems]


def test_the_last_known_year_includes_loaded_years():
    assert statutory.last_known_year() == max(statutory.package_years())
    statutory.REGISTRY.install([statutory.parse_year(YEAR_2031)])
    assert statutory.last_known_year() == 2031
