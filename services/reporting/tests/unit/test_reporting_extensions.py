"""Reporting's side of workflow extensions (延期): counted per case, in any order; the SLA outcome is unchanged."""
import itertools

import pytest

from reporting.domain import facts, lifecycle
from reporting.domain.facts import CaseFact, contribution, resolution_status
from reporting.domain.rollup import InvalidEvent

T, C = "00000000-0000-4000-8000-000000000001", "c-1"
OPENED = {"case_id": C, "complaint_id": C, "reference": "R", "channel": "hotline", "received_at":
          "2026-11-24T02:00:00+00:00", "estate": {"code": "E", "name": "E", "timezone": "Asia/Shanghai"},
          "deadlines": [{"stage": "resolution", "due_at": "2026-11-27T09:30:00+00:00"}]}
REQUESTED = {"case_id": C, "stage": "resolution", "at": "2026-11-25T02:00:00+00:00",
             "due_at": "2026-11-27T09:30:00+00:00", "new_due_at": "2026-12-02T09:30:00+00:00"}
APPROVED = {"case_id": C, "stage": "resolution", "approved": True, "at": "2026-11-25T03:00:00+00:00",
            "due_at": "2026-12-02T09:30:00+00:00", "original_due_at": "2026-11-27T09:30:00+00:00"}
RESOLVED = {"case_id": C, "at": "2026-11-30T08:00:00+00:00", "handling_working_hours": 40.0}
STEPS = [lambda f: facts.apply_case_opened(f, OPENED),
         lambda f: lifecycle.apply_extension_requested(f, REQUESTED),
         lambda f: lifecycle.apply_extension_decided(f, APPROVED),
         lambda f: lifecycle.apply_case_resolved(f, RESOLVED)]


def test_any_order_gives_one_requested_one_approved_and_the_original_outcome():
    results = set()
    for order in itertools.permutations(STEPS):
        fact = CaseFact(T, C)
        for step in order:
            fact = step(fact)
        results.add(fact)
    [fact] = results
    _key, counts = contribution(facts.apply_complaint_received(fact, {
        "complaint_id": C, "reference": "R", "channel": "hotline", "received_at": "2026-11-24T02:00:00+00:00",
        "estate": {"code": "E", "name": "E", "timezone": "Asia/Shanghai", "kind": "residential"}}))
    assert counts["extensions_requested"] == 1 and counts["extensions_approved"] == 1
    assert resolution_status(fact) == "late"  # resolved after the original due, before the extended one


def test_a_rejection_counts_as_requested_only():
    fact = lifecycle.apply_extension_requested(CaseFact(T, C), REQUESTED)
    fact = lifecycle.apply_extension_decided(fact, APPROVED | {"approved": False})
    assert fact.extension_requested_at is not None and fact.extension_approved_at is None


def test_an_unusable_decision_is_an_invalid_event():
    with pytest.raises(InvalidEvent):
        lifecycle.apply_extension_decided(CaseFact(T, C), APPROVED | {"approved": "yes"})


def _counts(fact):
    return contribution(facts.apply_complaint_received(fact, {
        "complaint_id": C, "reference": "R", "channel": "hotline", "received_at": "2026-11-24T02:00:00+00:00",
        "estate": {"code": "E", "name": "E", "timezone": "Asia/Shanghai", "kind": "residential"}}))[1]


def test_late_against_the_original_due_is_a_breach_though_workflow_sent_none():
    fact = CaseFact(T, C)
    for step in STEPS:  # resolved inside the extension: no sla_breached came
        fact = step(fact)
    counts = _counts(fact)
    assert (counts["resolved_late"], counts["breached"]) == (1, 1)
    assert facts.breached(fact)
    on_time = lifecycle.apply_case_resolved(facts.apply_case_opened(CaseFact(T, C), OPENED),
                                            RESOLVED | {"at": "2026-11-26T08:00:00+00:00"})
    assert (_counts(on_time)["resolved_on_time"], _counts(on_time)["breached"]) == (1, 0)


def test_a_breach_after_an_extension_is_timed_at_the_original_due():
    breach = {"case_id": C, "stage": "resolution", "due_at": "2026-12-02T09:30:00+00:00",
              "original_due_at": "2026-11-27T09:30:00+00:00"}
    fact = lifecycle.apply_sla_breached(CaseFact(T, C), breach)
    assert fact.breached_at.isoformat() == "2026-11-27T09:30:00+00:00"
    older = lifecycle.apply_sla_breached(CaseFact(T, C), {k: v for k, v in breach.items() if k != "original_due_at"})
    assert older.breached_at.isoformat() == "2026-12-02T09:30:00+00:00"  # events from before the field
