"""domain.lifecycle, figures and stats: the case's later life merged in any order, any number of times."""
import datetime as dt
import itertools

import pytest

from reporting.domain import facts, figures, lifecycle
from reporting.domain.facts import CaseFact, contribution, resolution_status
from reporting.domain.rollup import InvalidEvent
from reporting.domain.stats import percentile_cont

UTC = dt.timezone.utc
T, C = "00000000-0000-4000-8000-000000000001", "c-1"
OPENED = {"case_id": C, "complaint_id": C, "reference": "R", "channel": "hotline", "received_at":
          "2026-11-24T02:00:00+00:00", "estate": {"code": "E", "name": "E", "timezone": "Asia/Shanghai"},
          "deadlines": [{"stage": "first_contact", "due_at": "2026-11-24T03:00:00+00:00"},
                        {"stage": "resolution", "due_at": "2026-11-27T09:30:00+00:00"}]}
MERGES = {"opened": lambda f, p, o: facts.apply_case_opened(f, p), **{
    name: fn for name, fn in (("contacted", lifecycle.apply_case_contacted), ("resolved", lifecycle.apply_case_resolved),
                              ("reopened", lifecycle.apply_case_reopened), ("breached", lifecycle.apply_sla_breached),
                              ("escalated", lifecycle.apply_case_escalated), ("cancelled", lifecycle.apply_case_cancelled),
                              ("callback", lifecycle.apply_callback_answer))}}


def ev(kind, occurred_at="2026-11-24T12:00:00+00:00", **payload):
    return kind, {"complaint_id": C, "case_id": C, **payload}, occurred_at


def apply_all(stream):
    fact = CaseFact(T, C)
    for kind, payload, occurred_at in stream:
        fact = MERGES[kind](fact, payload, occurred_at)
    return fact


LIFE = [
    ("opened", OPENED, None),
    ev("contacted", at="2026-11-24T02:50:00+00:00"),
    ev("contacted", at="2026-11-24T05:00:00+00:00"),
    ev("resolved", at="2026-11-26T08:00:00+00:00", handling_working_hours=12.5, nonconformity_required=False),
    ev("callback", "2026-11-26T10:00:00+00:00", satisfaction="dissatisfied"),
    ev("reopened", at="2026-11-26T10:00:01+00:00"),
    ev("escalated", level=1), ev("escalated", level=2),
    ev("breached", due_at="2026-11-28T09:30:00+00:00", stage="resolution"),
    ev("resolved", at="2026-11-29T08:00:00+00:00", handling_working_hours=30.0, nonconformity_required=True),
    ev("callback", "2026-11-29T10:00:00+00:00", satisfaction="satisfied"),
]


def test_every_order_ends_in_the_same_fact():
    results = {apply_all(order) for order in itertools.permutations(LIFE[:6])}
    assert len(results) == 1
    results = {apply_all(LIFE[0:1] + list(order)) for order in itertools.permutations(LIFE[5:])}
    assert len(results) == 1


def test_the_whole_life_and_its_duplicates():
    fact = apply_all(LIFE)
    assert apply_all(LIFE + LIFE[::-1]) == fact  # redelivered, in reverse: nothing changes
    assert fact.first_contact_met_at == dt.datetime(2026, 11, 24, 2, 50, tzinfo=UTC)
    assert fact.resolved_at == dt.datetime(2026, 11, 26, 8, tzinfo=UTC) and fact.handling_minutes == 750
    assert fact.nonconformity_required is True  # a later resolution needed a record
    assert fact.reopened_at is not None and fact.breached_at == dt.datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    assert (fact.escalated_levels, fact.escalation_level) == ("1,2", 2)
    assert (fact.satisfaction, fact.satisfied) == ("satisfied", True)  # the newest answer
    assert fact.callback_at == dt.datetime(2026, 11, 26, 10, tzinfo=UTC)  # the first answer
    assert resolution_status(fact) == "on_time"


def test_contribution_of_a_whole_life():
    fact = apply_all(LIFE)
    fact = CaseFact(**{**fact.as_row(), "day": dt.date(2026, 11, 24)})
    _, counts = contribution(fact)
    expected = {"received": 1, "first_contact_due": 1, "first_contact_on_time": 1, "first_contact_proxy": 0,
                "resolution_due": 1, "resolved": 1, "resolved_on_time": 1, "resolved_late": 0,
                "handling_count": 1, "handling_minutes": 750, "called_back": 1, "callback_answered": 1,
                "satisfied": 1, "dissatisfied": 0, "reopened": 1, "breached": 1, "escalated": 1,
                "escalated_level_1": 1, "escalated_level_2": 1, "escalated_level_3": 0, "repeat": 0,
                "nonconformity_required": 1, "reclassified": 0, "first_contact_late": 0,
                "extensions_requested": 0, "extensions_approved": 0}
    assert counts == expected


def test_recorded_contact_wins_over_the_acknowledgement():
    fact = CaseFact(T, C, first_contact_due_at=dt.datetime(2026, 11, 24, 3, tzinfo=UTC),
                    acknowledged_at=dt.datetime(2026, 11, 24, 2, 5, tzinfo=UTC))
    assert facts.first_contact_status(fact) == "on_time"  # proxy only
    late = lifecycle.apply_case_contacted(fact, {"at": "2026-11-24T04:00:00+00:00"})
    assert facts.first_contact_status(late) == "late"


def test_same_instant_answers_resolve_to_the_less_satisfied_in_any_order():
    a = ev("callback", "2026-11-26T10:00:00+00:00", satisfaction="neutral")
    b = ev("callback", "2026-11-26T10:00:00+00:00", satisfaction="very_satisfied")
    assert apply_all([a, b]).satisfaction == apply_all([b, a]).satisfaction == "neutral"
    assert apply_all([a]).satisfied is False


def test_a_cancelled_case_leaves_the_resolution_figures():
    fact = apply_all([("opened", OPENED, None), ev("cancelled", at="2026-11-25T00:00:00+00:00")])
    fact = CaseFact(**{**fact.as_row(), "day": dt.date(2026, 11, 24)})
    assert resolution_status(fact, dt.datetime(2026, 12, 1, tzinfo=UTC)) == "cancelled"
    assert contribution(fact)[1]["resolution_due"] == 0


def test_resolution_late_and_overdue():
    opened = apply_all([("opened", OPENED, None)])
    assert resolution_status(opened, dt.datetime(2026, 11, 28, tzinfo=UTC)) == "overdue"
    assert resolution_status(opened, dt.datetime(2026, 11, 25, tzinfo=UTC)) == "pending"
    late = lifecycle.apply_case_resolved(opened, {"at": "2026-11-27T09:31:00+00:00"})
    assert resolution_status(late) == "late" and late.handling_minutes is None  # older event: no hours


@pytest.mark.parametrize("kind, payload", [
    ("escalated", {"level": "2"}), ("escalated", {"level": 0}), ("callback", {"satisfaction": "meh"}),
    ("resolved", {"at": "2026-11-26T08:00:00+00:00", "handling_working_hours": -1}),
    ("resolved", {"at": "2026-11-26T08:00:00+00:00", "nonconformity_required": "yes"}),
    ("contacted", {"at": "yesterday"}), ("contacted", {"at": "2026-11-26T08:00:00"}),
])
def test_unusable_payloads_are_invalid_events(kind, payload):
    with pytest.raises(InvalidEvent):
        MERGES[kind](CaseFact(T, C), payload, "2026-11-26T08:00:00+00:00")


@pytest.mark.parametrize("link, expected", [(None, None), ({"complaint_id": "x", "reference": "R"}, "x"),
                                            ("y", "y"), ({}, None)])
def test_repeat_of(link, expected):
    assert facts.repeat_of({"repeat_of": link} if link is not None else {}) == expected


def test_percentile_cont_matches_postgres():
    assert percentile_cont([], 0.9) is None
    assert percentile_cont([5], 0.9) == 5
    assert percentile_cont([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == pytest.approx(9.1)
    assert percentile_cont([10, 0], 0.5) == 5


def test_figures_from_counts():
    counts = {**dict.fromkeys(facts.COUNTS, 0), "resolved": 4, "called_back": 3, "callback_answered": 3,
              "satisfied": 1, "dissatisfied": 1, "resolution_due": 5, "resolved_on_time": 2, "resolved_late": 1,
              "handling_count": 2, "handling_minutes": 300, "escalated_level_1": 2}
    calls = figures.callbacks(counts)
    assert (calls["coverage_pct"], calls["satisfaction_pct"], calls["neutral"], calls["not_called_back"]) == (
        75.0, 33.3, 1, 1)
    res = figures.resolution(counts, overdue_now=1)
    assert (res["on_time_pct"], res["pending"]) == (50.0, 1)
    assert figures.handling(counts, 200.0) == {"measured": 2, "unmeasured": 2, "avg_hours": 2.5, "p90_hours": 3.3}
    assert figures.escalations(counts)[0] == {"level": 1, "cases": 2}


def test_a_pause_moves_the_due_times_later_in_either_order():
    resumed = ("resumed", {"complaint_id": C, "case_id": C, "deadlines": [
        {"stage": "resolution", "due_at": "2026-11-27T09:30:00+00:00", "new_due_at": "2026-11-30T09:30:00+00:00"},
        {"stage": "plan", "due_at": "2026-11-25T02:00:00+00:00", "new_due_at": "2026-11-26T02:00:00+00:00"}]},
               "2026-11-25T01:00:00+00:00")
    merges = MERGES | {"resumed": lifecycle.apply_case_resumed}
    results = set()
    for stream in itertools.permutations([("opened", OPENED, None), resumed]):
        fact = CaseFact(T, C)
        for kind, payload, occurred_at in stream:
            fact = merges[kind](fact, payload, occurred_at)
        results.add((fact.first_contact_due_at, fact.resolution_due_at))
    assert results == {(dt.datetime(2026, 11, 24, 3, tzinfo=UTC), dt.datetime(2026, 11, 30, 9, 30, tzinfo=UTC))}
    resolved = lifecycle.apply_case_resolved(facts.apply_case_opened(CaseFact(T, C), OPENED), {
        "at": "2026-11-29T08:00:00+00:00", "handling_working_hours": 10.0}, None)
    assert resolution_status(resolved) == "late"
    assert resolution_status(lifecycle.apply_case_resumed(resolved, resumed[1])) == "on_time"
    with pytest.raises(InvalidEvent):
        lifecycle.apply_case_resumed(resolved, {"deadlines": "soon"})
