"""Forwarded channels and committee batches in the domain: no database, no broker."""
import datetime as dt

import pytest

from intake.domain.batch import MAX_ROWS, BatchRejected, duplicate_errors, report, rows_of
from intake.domain.complaint import Estate, InvalidComplaint, new_complaint, to_event_payload
from intake.domain.forwarded import COMMITTEE_MAX_AGE

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
ESTATE = Estate("DEMO-RES", "锦绣花园", "residential", "Asia/Shanghai")
WHO = {"name": "刘先生", "phone": "13800138000", "unit": "1栋101"}
SUPERIOR = {"name": "陈总", "title": "集团客服总监", "email": "chen@example.com"}


def make(**data):
    body = {"description": "楼下噪音扰民", "complainant": WHO} | data
    return new_complaint(body, "t1", ESTATE, NOW, "u1")


def test_committee_defaults_to_receipt_and_keeps_the_reported_time():
    assert make(channel="committee").committee_received_at == NOW
    c = make(channel="committee", reported_at="2026-11-24T13:30:00+08:00")
    assert c.committee_received_at == dt.datetime(2026, 11, 24, 5, 30, tzinfo=dt.timezone.utc)
    payload = to_event_payload(c)
    assert payload["committee_received_at"] == "2026-11-24T05:30:00+00:00"
    assert payload["forwarded_by"] is None and payload["instructions"] is None


def test_reported_time_a_few_minutes_ahead_is_clamped_to_receipt():
    c = make(channel="committee", reported_at=(NOW + dt.timedelta(minutes=2)).isoformat())
    assert c.committee_received_at == NOW


@pytest.mark.parametrize("value, problem", [
    ("yesterday", "not an ISO 8601"), ("2026-11-24T10:00:00", "UTC offset"),
    ((NOW + dt.timedelta(hours=1)).isoformat(), "future"),
    ((NOW - COMMITTEE_MAX_AGE - dt.timedelta(minutes=1)).isoformat(), "30 days"), (42, "ISO 8601")])
def test_bad_reported_times_are_refused(value, problem):
    with pytest.raises(InvalidComplaint, match=problem) as exc:
        make(channel="committee", reported_at=value)
    assert exc.value.field == "reported_at"


def test_head_office_keeps_the_superior_and_instructions():
    c = make(channel="head_office", forwarded_by=SUPERIOR, instructions=" 三日内回复业主并报结果 ")
    assert c.forwarded_by == {"name": "陈总", "title": "集团客服总监", "phone": "", "email": "chen@example.com"}
    assert c.instructions == "三日内回复业主并报结果" and c.committee_received_at is None
    assert to_event_payload(c)["forwarded_by"]["email"] == "chen@example.com"


@pytest.mark.parametrize("data, field", [
    ({"instructions": "x"}, "forwarded_by.name"),
    ({"forwarded_by": {"name": "陈总"}, "instructions": "x"}, "forwarded_by.phone"),
    ({"forwarded_by": {"name": "", "phone": "13800138000"}, "instructions": "x"}, "forwarded_by.name"),
    ({"forwarded_by": {"name": "陈总", "phone": "abc"}, "instructions": "x"}, "forwarded_by.phone"),
    ({"forwarded_by": {"name": "陈总", "email": "nope"}, "instructions": "x"}, "forwarded_by.email"),
    ({"forwarded_by": SUPERIOR}, "instructions"),
    ({"forwarded_by": SUPERIOR, "instructions": "x" * 2001}, "instructions"),
    ({"forwarded_by": "陈总", "instructions": "x"}, "forwarded_by"),
])
def test_head_office_needs_a_reachable_superior_and_instructions(data, field):
    with pytest.raises(InvalidComplaint) as exc:
        make(channel="head_office", **data)
    assert exc.value.field == field


@pytest.mark.parametrize("data, field", [({"reported_at": NOW.isoformat()}, "reported_at"),
                                         ({"forwarded_by": SUPERIOR}, "forwarded_by"),
                                         ({"instructions": "快办"}, "instructions")])
def test_channel_fields_on_another_channel_are_refused(data, field):
    with pytest.raises(InvalidComplaint) as exc:
        make(channel="hotline", **data)
    assert exc.value.field == field


def test_rows_are_numbered_as_given_or_by_position():
    assert rows_of([{"row": 7, "data": {"a": 1}}, {"b": 2}]) == [(7, {"a": 1}), (2, {"b": 2})]


@pytest.mark.parametrize("rows", [[], None, "x", [{}] * (MAX_ROWS + 1), [{"row": 2, "data": {}}, 5]])
def test_empty_oversized_or_malformed_batches_are_refused(rows):
    with pytest.raises(BatchRejected):
        rows_of(rows)


def test_duplicate_rows_are_reported_against_the_first():
    row = {"estate": "E", "description": "电梯  坏了", "complainant": {"phone": "13800138000"}}
    other = row | {"description": "电梯又坏了"}
    errors = duplicate_errors([(2, row), (3, other), (4, row | {"description": "电梯 坏了"})])
    assert [(e.row, e.field, e.message) for e in errors] == [(4, "description", "same complaint as row 2")]
    assert report(errors) == {"field": "rows", "error_count": 1,
                              "rows": [{"row": 4, "field": "description", "message": "same complaint as row 2"}]}
