"""Properties: a ``bh``/``wd`` deadline always falls inside working time, and deadlines never move earlier when
the complaint arrives later."""
import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from workflow.domain.sla import build, compute

HOURS = [{"start": "08:30", "end": "12:00"}, {"start": "13:30", "end": "17:30"}]
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SPAN = dt.timedelta(days=330)  # stays inside 2026 (and its calendar) for every limit below


def policy_for(limit: str, timezone: str, calendar: str, closures=()):
    doc = {"timezone": timezone, "calendar": calendar, "business_hours": HOURS, "closures": list(closures),
           "default_severity": "s", "severities": {"s": {"stages": [{"name": "x", "limit": limit}]}}}
    return build([("group", 1, doc)])


instants = st.integers(min_value=0, max_value=int(SPAN.total_seconds()) // 60).map(
    lambda m: START + dt.timedelta(minutes=m))
zones = st.sampled_from([("Asia/Shanghai", "cn"), ("Europe/Berlin", "none"), ("America/New_York", "none")])
closures = st.lists(st.dates(dt.date(2026, 1, 1), dt.date(2026, 12, 15)).map(dt.date.isoformat),
                    max_size=5, unique=True)
working_limits = st.one_of(st.integers(1, 40).map(lambda n: f"{n}bh"), st.integers(1, 10).map(lambda n: f"{n}wd"))
any_limits = st.one_of(working_limits, st.integers(1, 600).map(lambda n: f"{n}m"),
                       st.integers(1, 72).map(lambda n: f"{n}h"), st.integers(1, 10).map(lambda n: f"{n}d"))


def due(policy, received):
    [deadline] = compute(policy, received, "s")
    return deadline.due_at


@settings(max_examples=300, deadline=None)
@given(limit=working_limits, received=instants, zone=zones, closed=closures)
def test_working_time_deadlines_fall_inside_working_time(limit, received, zone, closed):
    policy = policy_for(limit, *zone, closures=closed)
    at = due(policy, received)
    cal = policy.calendar
    local = at.astimezone(cal.zone)
    assert cal.day(local.date()).working
    if limit.endswith("wd"):
        assert at == cal.closing(local.date())
    else:
        assert any(opens < at <= closes for opens, closes in cal.periods(local.date()))
    assert at > received


@settings(max_examples=300, deadline=None)
@given(limit=any_limits, a=instants, b=instants, zone=zones, closed=closures)
def test_deadlines_are_monotonic_in_receipt_time(limit, a, b, zone, closed):
    policy = policy_for(limit, *zone, closures=closed)
    early, late = sorted((a, b))
    assert due(policy, early) <= due(policy, late)
