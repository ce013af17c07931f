"""Estate-local days and the accepted date ranges (pure functions)."""
import datetime as dt

import pytest

from reporting.domain.rollup import (InvalidEvent, InvalidRange, fact_from_complaint_received, local_day,
                                     parse_range)

UTC = dt.timezone.utc


@pytest.mark.parametrize("utc, expected", [
    (dt.datetime(2026, 11, 24, 15, 59, 59, tzinfo=UTC), dt.date(2026, 11, 24)),  # 23:59:59 in Shanghai
    (dt.datetime(2026, 11, 24, 16, 0, 0, tzinfo=UTC), dt.date(2026, 11, 25)),    # 00:00 next day in Shanghai
    (dt.datetime(2026, 12, 31, 16, 30, tzinfo=UTC), dt.date(2027, 1, 1)),        # and across the year
])
def test_local_day_uses_the_estate_zone_across_midnight(utc, expected):
    assert local_day(utc, "Asia/Shanghai") == expected


def test_local_day_refuses_naive_times():
    with pytest.raises(ValueError):
        local_day(dt.datetime(2026, 11, 24, 12, 0), "Asia/Shanghai")


def test_fact_reads_a_non_utc_offset_and_stores_utc(make_event):
    payload = make_event(received_at="2026-11-25T00:10:00+08:00").payload
    fact = fact_from_complaint_received("t", payload)
    assert fact.received_at == dt.datetime(2026, 11, 24, 16, 10, tzinfo=UTC)
    assert fact.day == dt.date(2026, 11, 25)
    assert fact.rollup_key["category"] == "" and fact.rollup_key["severity"] == ""


@pytest.mark.parametrize("overrides", [
    {"received_at": "2026-11-24T02:00:00"},                    # no offset
    {"received_at": "yesterday"},
    {"estate": {"code": "X", "name": "X", "timezone": "Mars/Olympus"}},
    {"estate": None},
    {"complaint_id": None},
    {"channel": 7},
])
def test_unusable_payloads_are_invalid_events(make_event, overrides):
    with pytest.raises(InvalidEvent):
        fact_from_complaint_received("t", make_event(**overrides).payload)


def test_range_open_sides_and_inclusive_bounds():
    assert parse_range(None, None) == (None, None)
    assert parse_range("2026-11-01", None) == (dt.date(2026, 11, 1), None)
    assert parse_range("2026-11-24", "2026-11-24") == (dt.date(2026, 11, 24),) * 2


@pytest.mark.parametrize("date_from, date_to, field", [
    ("2026/11/01", None, "from"),
    ("20261101", None, "from"),          # fromisoformat would accept it; the API says YYYY-MM-DD
    ("2026-02-30", None, "from"),
    (None, "tomorrow", "to"),
    (None, 20261130, "to"),
    ("2026-11-30", "2026-11-01", "from"),  # reversed
    ("2024-01-01", "2025-01-01", "to"),    # 367 days inclusive
])
def test_range_errors_name_the_field(date_from, date_to, field):
    with pytest.raises(InvalidRange) as info:
        parse_range(date_from, date_to)
    assert info.value.field == field


def test_a_leap_year_is_the_longest_range():
    assert parse_range("2024-01-01", "2024-12-31") == (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
