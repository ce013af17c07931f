"""domain/calls.py without a database: event validation, the forward-only state, phones and owners."""
import datetime as dt

import pytest

from intake.domain.calls import (CallEvent, InvalidCall, apply_event, claim, mask_phone, new_call, owners_from,
                                 parse_event, phone_digits, phones_match, single_estate)

T0 = dt.datetime(2026, 12, 3, 2, 0, tzinfo=dt.timezone.utc)


def at(seconds):
    return T0 + dt.timedelta(seconds=seconds)


def ev(event, **over):
    data = {"call_id": "pbx-1", "event": event, "caller": "13812345678", "called": "4008001234"} | over
    return parse_event(data)


@pytest.mark.parametrize("data, field", [
    ({"event": "ringing"}, "call_id"),
    ({"call_id": "a b", "event": "ringing"}, "call_id"),
    ({"call_id": "x" * 101, "event": "ringing"}, "call_id"),
    ({"call_id": "c1", "event": "hangup"}, "event"),
    ({"call_id": "c1", "event": "ringing", "caller": "call me"}, "caller"),
    ({"call_id": "c1", "event": "ringing", "called": 4008001234}, "called"),
    ({"call_id": "c1", "event": "ringing", "agent": "a" * 151}, "agent"),
    ("not an object", "body"),
])
def test_invalid_events_name_the_field(data, field):
    with pytest.raises(InvalidCall) as err:
        parse_event(data)
    assert err.value.field == field


def test_event_fields_are_cleaned():
    parsed = parse_event({"call_id": "pbx:2026/1"[:8], "event": "answered", "caller": " +86 138-1234-5678 ",
                          "agent": "agent@demo\x00", "estate": ""})
    assert parsed == CallEvent(call_id="pbx:2026", event="answered", caller="+86 138-1234-5678", called="",
                               agent_ref="agent@demo", estate=None)


def test_state_only_moves_forward_and_repeats_change_nothing():
    call = new_call("t", "pbx-1", ev("answered"), at(5), "id-1")
    assert apply_event(call, ev("answered", agent_user_id="u-1"), at(5))
    assert call.state == "answered" and call.answered_at == at(5) and call.agent_user_id == "u-1"
    assert apply_event(call, ev("ringing"), at(7))      # late ringing: recorded, state stays answered
    assert call.state == "answered" and call.started_at == at(5)
    assert not apply_event(call, ev("answered", agent_user_id="u-2"), at(9))  # a repeat: no-op
    assert call.agent_user_id == "u-1" and len(call.events) == 2
    assert apply_event(call, ev("ended"), at(60))
    assert call.state == "ended" and call.ended_at == at(60)
    assert not apply_event(call, ev("ended"), at(61)) and call.ended_at == at(60)


def test_missed_call_and_claim():
    call = new_call("t", "pbx-2", ev("ringing"), at(0), "id-2")
    apply_event(call, ev("ringing", call_id="pbx-2"), at(0))
    apply_event(call, ev("ended", call_id="pbx-2"), at(20))
    assert call.state == "ended" and call.answered_at is None and call.agent_user_id is None
    claim(call, "u-9")
    assert call.agent_user_id == "u-9"
    claim(call, "u-10")
    assert call.agent_user_id == "u-9"  # the first owner stays


@pytest.mark.parametrize("raw, digits", [
    ("+86 138-1234-5678", "13812345678"), ("008613812345678", "13812345678"), ("013812345678", "13812345678"),
    ("021-62345678", "02162345678"), (None, ""), ("分机", ""),
])
def test_phone_digits(raw, digits):
    assert phone_digits(raw) == digits


def test_phones_match_with_area_codes_but_not_short_numbers():
    assert phones_match("+8613812345678", "138-1234-5678")
    assert phones_match("021-62345678", "62345678")
    assert not phones_match("13812345678", "13812345679")
    assert not phones_match("123456", "123456")  # too short to identify anyone


def test_mask_phone():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("62345678") == "****5678"
    assert mask_phone("123") == "***"


def row(name, phone, unit, estate="DEMO-RES", minutes=0):
    return {"estate_code": estate, "estate_name": "锦绣花园", "complainant_name": name, "complainant_phone": phone,
            "complainant_email": "", "complainant_unit": unit, "received_at": at(minutes * 60)}


def test_owners_are_grouped_by_estate_phone_and_unit_newest_first():
    rows = [row("周女士", "13812345678", "1栋101", minutes=1), row("周", "138-1234-5678", "1栋101", minutes=5),
            row("", "13812345678", "2栋202", minutes=3), row("钱先生", "13900000000", "1栋101", "DEMO-NEW", 2)]
    owners = owners_from(rows)
    assert [(o["name"], o["unit"], o["complaints"]) for o in owners] == [
        ("周", "1栋101", 2), ("", "2栋202", 1), ("钱先生", "1栋101", 1)]
    assert owners[0]["phone_masked"] == "138****5678" and owners[0]["last_complaint_at"] == at(300).isoformat()
    assert single_estate(owners) is None and single_estate(owners[:2]) == "DEMO-RES"
    assert single_estate([]) is None
