"""The internal close/reopen actions of the callback loop and the reopened case's resolution stage."""
import datetime as dt

import pytest

from workflow import callbacks
from workflow.domain import sla
from workflow.domain.actions import InvalidAction, decide, decide_internal


@pytest.mark.parametrize("action,status,after", [
    ("close", "resolved", "closed"), ("reopen", "resolved", "in_progress"),
    ("close", "closed", None), ("reopen", "in_progress", None), ("close", "cancelled", None)])
def test_internal_actions_apply_only_to_resolved_cases(action, status, after):
    assert decide_internal(action, status) == after


def test_internal_actions_are_not_staff_actions():
    for action in ("close", "reopen"):
        with pytest.raises(InvalidAction):
            decide(action, "resolved", {})


POLICY = """
timezone: Asia/Shanghai
calendar: none
business_hours: [{start: "09:00", end: "18:00"}]
default_severity: normal
severities:
  normal: {stages: [{name: first_contact, limit: 1h}, {name: resolution, limit: 2wd}]}
  minor: {stages: [{name: first_contact, limit: 1h}]}
"""


def _case(severity):
    return {"severity": severity, "category": None, "channel": "web"}


def test_reopened_resolution_uses_the_policy_stage_or_three_working_days():
    policy = sla.from_document(POLICY)
    assert str(callbacks.resolution_stage(policy, _case("normal")).limit) == "2wd"
    assert str(callbacks.resolution_stage(policy, _case("minor")).limit) == "3wd"
    start = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)  # Tuesday 10:00 in Shanghai
    due = sla.restart(policy, "minor", callbacks.resolution_stage(policy, _case("minor")), start)
    assert due.due_at == dt.datetime(2026, 11, 27, 10, 0, tzinfo=dt.timezone.utc)  # Friday 18:00 local
