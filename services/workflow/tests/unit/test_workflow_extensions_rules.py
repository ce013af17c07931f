"""domain/extensions.py: who may ask and approve, and what a request must say."""
import datetime as dt

import pytest

from workflow.domain import extensions as rules
from workflow.domain.actions import InvalidAction

NOW = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
DEADLINES = {"resolution": {"due_at": NOW + dt.timedelta(days=5), "met_at": None},
             "first_contact": {"due_at": NOW + dt.timedelta(hours=1), "met_at": NOW}}


@pytest.mark.parametrize("roles,expected", [
    ([["agent", "E"]], 0), ([["cs_supervisor", "E"], ["agent", "E"]], 1), ([["site_manager", "X"]], None),
    ([["head_office", None]], 3), ([["group_admin", None]], 3), ([["committee_member", "E"]], None), ([], None)])
def test_rank_for_the_cases_estate(roles, expected):
    assert rules.rank(roles, "E") == expected


@pytest.mark.parametrize("requester,decider,decider_rank,ok", [
    ("a", "a", 3, False), ("a", "b", 0, False), ("a", "b", 1, True), ("a", "b", None, False), ("a", "c", 2, True)])
def test_the_next_level_up_decides_never_the_requester(requester, decider, decider_rank, ok):
    if ok:
        rules.check_decider(requester, 0, decider, decider_rank)
    else:
        with pytest.raises(rules.NotAllowed):
            rules.check_decider(requester, 0, decider, decider_rank)


def test_a_valid_request_defaults_to_the_resolution_stage():
    req = rules.parse_request({"new_due_at": "2026-12-04T17:30:00+08:00", "reason": " 等待配件 "}, DEADLINES, {}, 0, NOW)
    assert req.stage == "resolution" and req.reason == "等待配件"


@pytest.mark.parametrize("data,pending,field", [
    ({"new_due_at": "2026-11-26T10:00:00+08:00", "reason": "x"}, {}, "new_due_at"),  # not later than the due
    ({"new_due_at": "2026-12-04T17:30:00", "reason": "x"}, {}, "new_due_at"),  # no offset
    ({"new_due_at": "soon", "reason": "x"}, {}, "new_due_at"),
    ({"new_due_at": "2026-12-04T17:30:00+08:00"}, {}, "reason"),
    ({"stage": "first_contact", "new_due_at": "2026-12-04T17:30:00+08:00", "reason": "x"}, {}, "stage"),  # met
    ({"new_due_at": "2026-12-04T17:30:00+08:00", "reason": "x"}, {"resolution": {}}, "stage")])  # one pending
def test_bad_requests_name_the_field(data, pending, field):
    with pytest.raises(InvalidAction) as err:
        rules.parse_request(data, DEADLINES, pending, 0, NOW)
    assert err.value.field == field


def test_head_office_and_outsiders_cannot_ask():
    for rank in (None, 3):
        with pytest.raises(rules.NotAllowed):
            rules.parse_request({"new_due_at": "2026-12-04T17:30:00+08:00", "reason": "x"}, DEADLINES, {}, rank, NOW)


def test_a_decision_needs_a_yes_or_no_and_a_reason_to_reject():
    assert rules.parse_decision({"approve": True}).approve is True
    for data, field in [({"approve": "yes"}, "approve"), ({"approve": False}, "note")]:
        with pytest.raises(InvalidAction) as err:
            rules.parse_decision(data)
        assert err.value.field == field
