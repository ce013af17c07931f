"""domain.facts, scope and hot spots: pure functions, no database."""
import dataclasses
import datetime as dt
import itertools

import pytest

from reporting.domain import facts
from reporting.domain.facts import CaseFact, contribution, first_contact_status, rollup_changes
from reporting.domain.hotspots import hot_spots, score
from reporting.domain.rollup import InvalidEvent, earlier_period
from reporting.domain.scope import scope_from_roles

UTC = dt.timezone.utc
T = "00000000-0000-4000-8000-000000000001"
C = "c-1"


def zeros(**counts):
    """A full rollup delta: every count 0 but those given."""
    return {**dict.fromkeys(facts.COUNTS, 0), **counts}


def apply_all(events_in_order):
    fact = CaseFact(T, C)
    for kind, payload in events_in_order:
        if kind == "received":
            fact = facts.apply_complaint_received(fact, payload)
        elif kind == "opened":
            fact = facts.apply_case_opened(fact, payload)
        elif kind == "sent":
            fact = facts.apply_notification(fact, payload, sent=True)
        else:
            fact = facts.apply_reclassified(fact, payload, None)
    return fact


@pytest.fixture
def stream(events):
    return [
        ("received", events.received(T, complaint_id=C, category="greening", severity="minor").payload),
        ("opened", events.opened(T, C, category="greening", severity="minor").payload),
        ("sent", events.notification(T, C, sent_at="2026-11-24T02:20:00+00:00").payload),
        ("reclassified", events.reclassified(T, C, "facilities", "moderate").payload),
    ]


def test_every_order_of_the_events_ends_in_the_same_fact(stream):
    results = {apply_all(order) for order in itertools.permutations(stream)}
    assert len(results) == 1
    (fact,) = results
    assert (fact.category, fact.severity, fact.reclassified) == ("facilities", "moderate", True)
    assert fact.first_contact_due_at == dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    assert fact.acknowledged_at == dt.datetime(2026, 11, 24, 2, 20, tzinfo=UTC)
    assert fact.day == dt.date(2026, 11, 24) and fact.estate_code == "DEMO-RES" and fact.case_id == C


def test_applying_an_event_twice_changes_nothing(stream):
    once = apply_all(stream)
    assert apply_all(stream + stream) == once


def test_the_earliest_acknowledgement_counts(events):
    late = events.notification(T, C, sent_at="2026-11-24T04:00:00+00:00").payload
    early = events.notification(T, C, sent_at="2026-11-24T02:30:00+00:00").payload
    assert apply_all([("sent", late), ("sent", early)]).acknowledged_at.hour == 2
    reminder = events.notification(T, C, kind="reminder").payload
    assert apply_all([("sent", reminder)]) == CaseFact(T, C)


def test_two_reclassifications_out_of_order_keep_the_newest(events):
    first = events.reclassified(T, C, "sanitation", "minor", at="2026-11-24T05:00:00+00:00").payload
    second = events.reclassified(T, C, "security", "major", at="2026-11-24T06:00:00+00:00").payload
    fact = apply_all([("reclassified", second), ("reclassified", first)])
    assert (fact.category, fact.severity) == ("security", "major")


@pytest.mark.parametrize("due_minutes, ack_minutes, now_minutes, status", [
    (60, 20, None, "on_time"), (60, 60, None, "on_time"), (60, 61, None, "late"),
    (60, None, 59, "pending"), (60, None, 61, "overdue"), (60, None, None, "pending"), (None, 5, 99, "unknown"),
])
def test_first_contact_status(due_minutes, ack_minutes, now_minutes, status):
    base = dt.datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
    at = lambda m: None if m is None else base + dt.timedelta(minutes=m)  # noqa: E731
    fact = CaseFact(T, C, first_contact_due_at=at(due_minutes), acknowledged_at=at(ack_minutes))
    assert first_contact_status(fact, at(now_minutes)) == status


def test_contribution_needs_day_estate_and_channel():
    assert contribution(CaseFact(T, C, estate_code="E", channel="web")) is None
    key, counts = contribution(CaseFact(T, C, estate_code="E", channel="web", day=dt.date(2026, 11, 24)))
    assert key == (dt.date(2026, 11, 24), "E", "web", "", "")
    assert counts == zeros(received=1)


def test_reclassification_moves_the_whole_contribution_between_buckets():
    day = dt.date(2026, 11, 24)
    old = CaseFact(T, C, estate_code="E", channel="web", day=day, category="greening", severity="minor",
                   first_contact_due_at=dt.datetime(2026, 11, 24, 3, tzinfo=UTC),
                   acknowledged_at=dt.datetime(2026, 11, 24, 2, tzinfo=UTC))
    new = CaseFact(**{**old.as_row(), "category": "facilities", "reclassified": True})
    (k1, d1), (k2, d2) = rollup_changes(old, new)
    assert (k1[3], d1) == ("facilities", zeros(received=1, first_contact_due=1, first_contact_on_time=1,
                                                reclassified=1, first_contact_proxy=1))
    assert (k2[3], d2) == ("greening", zeros(received=-1, first_contact_due=-1, first_contact_on_time=-1,
                                              first_contact_proxy=-1))
    assert rollup_changes(new, new) == []


def test_an_acknowledgement_updates_the_same_bucket():
    day = dt.date(2026, 11, 24)
    old = CaseFact(T, C, estate_code="E", channel="web", day=day,
                   first_contact_due_at=dt.datetime(2026, 11, 24, 3, tzinfo=UTC))
    new = CaseFact(**{**old.as_row(), "acknowledged_at": dt.datetime(2026, 11, 24, 4, tzinfo=UTC)})
    assert rollup_changes(old, new) == [((day, "E", "web", "", ""), zeros(first_contact_late=1,
                                                                          first_contact_proxy=1))]


@pytest.mark.parametrize("payload_patch", [{"received_at": "2026-11-24T02:00:00"}, {"estate": None},
                                           {"deadlines": [{"stage": "first_contact", "due_at": "soon"}]}])
def test_unusable_case_opened_is_an_invalid_event(events, payload_patch):
    with pytest.raises(InvalidEvent):
        facts.apply_case_opened(CaseFact(T, C), events.opened(T, C, **payload_patch).payload)


@pytest.mark.parametrize("roles, allowed, denied", [
    ([["head_office", None]], ["ANY"], []),
    ([["group_admin", None], ["agent", "A"]], ["ANY"], []),
    ([["site_manager", "A"], ["cs_supervisor", "B"]], ["A", "B"], ["C"]),
    ([["site_manager", None]], [], ["A"]),            # a site role without an estate grants nothing
    ([["janitor", "A"]], [], ["A"]),                   # unknown role: nothing
    ([], [], ["A"]), (None, [], ["A"]), ([["bad"]], [], ["A"]),
])
def test_scope_from_roles(roles, allowed, denied):
    scope = scope_from_roles(roles)
    assert all(scope.allows(e) for e in allowed)
    assert not any(scope.allows(e) for e in denied)


def test_hot_spot_rules():
    assert score(10, [2, 3, 2, 3])["hot"] is True
    assert score(4, [0, 0, 0, 0])["hot"] is False          # below the minimum count
    assert score(6, [5, 5, 5, 5])["hot"] is False          # steady: +1 is noise (sqrt(mean) floor)
    assert score(30, [20, 20, 20, 20])["hot"] is True      # z = 2.24 and 1.5x
    assert score(125, [100, 100, 100, 100])["hot"] is False  # z = 2.5 but only 1.25x: a big key must rise by half
    assert score(40, [20, 22, 18, 20])["hot"] is True
    assert score(12, [2, 20, 2, 20])["hot"] is False       # a noisy baseline absorbs it
    found = hot_spots({"greening": 12, "lift": 3, "noise": 9}, {"greening": [1, 2, 1, 2], "noise": [1, 1, 0, 1]})
    assert [f["key"] for f in found] == ["greening", "noise"]  # z 8.57 then 8.25; "lift" is under MIN_COUNT
    assert found[0]["baseline"] == [1, 2, 1, 2] and found[0]["ratio"] == 8.0


def test_earlier_period_has_the_same_length():
    d = dt.date
    assert earlier_period(d(2026, 10, 1), d(2026, 12, 31)) == (d(2026, 7, 1), d(2026, 9, 30))   # Q4 -> Q3
    assert earlier_period(d(2026, 10, 1), d(2026, 12, 31), 4) == (d(2025, 10, 1), d(2025, 12, 31))
    assert earlier_period(d(2026, 3, 1), d(2026, 3, 31)) == (d(2026, 2, 1), d(2026, 2, 28))      # month -> month
    assert earlier_period(d(2026, 1, 1), d(2026, 2, 28), 2) == (d(2025, 9, 1), d(2025, 10, 31))
    assert earlier_period(d(2026, 8, 24), d(2026, 11, 22)) == (d(2026, 5, 25), d(2026, 8, 23))  # 91 days
    assert earlier_period(dt.date(2026, 11, 24), dt.date(2026, 11, 24), 4) == (dt.date(2026, 11, 20),) * 2


def test_overdue_ledger_keys_follow_the_open_stages_with_a_deadline_before_the_watermark():
    from reporting.domain.facts import overdue_changes, overdue_keys
    utc = dt.timezone.utc
    watermark = dt.datetime(2026, 11, 24, 8, tzinfo=utc)
    fact = CaseFact("t", "c", estate_code="E1", day=dt.date(2026, 11, 23),
                    first_contact_due_at=dt.datetime(2026, 11, 23, 3, tzinfo=utc),
                    resolution_due_at=dt.datetime(2026, 11, 26, tzinfo=utc))
    assert overdue_keys(fact, watermark) == [("first_contact", dt.date(2026, 11, 1), "E1")]
    contacted = dataclasses.replace(fact, first_contact_met_at=dt.datetime(2026, 11, 24, 9, tzinfo=utc))
    assert overdue_changes(fact, contacted, watermark) == [(("first_contact", dt.date(2026, 11, 1), "E1"), -1)]
    later = dt.datetime(2026, 11, 27, tzinfo=utc)  # both deadlines passed; resolving closes the second
    resolved = dataclasses.replace(fact, resolved_at=later)
    assert overdue_changes(fact, resolved, later) == [(("resolution", dt.date(2026, 11, 1), "E1"), -1)]
    assert overdue_keys(dataclasses.replace(fact, cancelled_at=later, acknowledged_at=later), later) == []
    assert overdue_keys(dataclasses.replace(fact, day=None), later) == []  # counted in no period yet
    assert overdue_keys(dataclasses.replace(fact, estate_code=None), watermark)[0][2] == ""
