import datetime as dt

import pytest

from workflow.domain.limits import first_contact_deadline, resolve_limit

ROWS = [("*", "*", "first_contact", 60), ("*", "committee", "first_contact", 120),
        ("DEMO-OFFICE", "*", "first_contact", 30), ("DEMO-OFFICE", "hotline", "first_contact", 10)]


@pytest.mark.parametrize("estate, channel, minutes, source", [
    ("DEMO-RES", "web", 60, "group"),
    ("DEMO-RES", "committee", 120, "group"),
    ("DEMO-OFFICE", "web", 30, "estate"),
    ("DEMO-OFFICE", "hotline", 10, "estate"),
    ("DEMO-OFFICE", "committee", 30, "estate"),  # the site's own limit beats the group's channel rule
])
def test_most_specific_limit_wins(estate, channel, minutes, source):
    limit = resolve_limit(ROWS, estate, channel, "first_contact")
    assert (limit.minutes, limit.source) == (minutes, source)


def test_builtin_limits_follow_seed_002_when_nothing_is_configured():
    assert resolve_limit([], "X", "web", "first_contact").minutes == 60
    assert resolve_limit([], "X", "committee", "first_contact").minutes == 120


def test_deadline_counts_from_receipt_and_explains_itself():
    received = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
    d = first_contact_deadline(received, resolve_limit(ROWS, "DEMO-OFFICE", "web", "first_contact"))
    assert d.due_at == received + dt.timedelta(minutes=30)
    assert "项目自定时限" in d.explanation() and "30" in d.explanation()
    with pytest.raises(ValueError):
        first_contact_deadline(received.replace(tzinfo=None), d.limit)
