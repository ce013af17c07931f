"""Phone numbers, masking, quiet hours (fixed clock) and the acknowledgement SMS (pure domain, no I/O)."""
import datetime as dt

import pytest

from notify import templates
from notify.domain.messages import new_sms_acknowledgement
from notify.domain.phones import InvalidPhone, e164, mask_phone, mask_phones_in, national_mobile
from notify.domain.quiet_hours import QuietHours, parse_hhmm
from notify.domain.timeline import timeline_entry

TENANT = "3f2b7c1e-0d0a-4d5e-9a57-1b2c3d4e5f60"
UTC = dt.timezone.utc
QUIET = QuietHours(dt.time(22), dt.time(7))


@pytest.mark.parametrize("raw", ["13812345678", "+8613812345678", "8613812345678", "008613812345678",
                                 "138 1234 5678", "138-1234-5678", " +86 138-1234-5678 "])
def test_mainland_mobile_numbers_are_normalised(raw):
    assert national_mobile(raw) == "13812345678"
    assert e164(raw) == "+8613812345678"


@pytest.mark.parametrize("raw", ["", "12345", "021-62345678", "23812345678", "1381234567", "138123456789",
                                 "+85291234567", "abc"])
def test_anything_else_is_refused_with_the_reason(raw):
    with pytest.raises(InvalidPhone) as exc:
        national_mobile(raw)
    assert "mobile" in str(exc.value) or "no phone" in str(exc.value)


def test_masking():
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone("12345") == "***45"
    assert mask_phones_in("to +8613812345678 and 13900001111, id 1234567890123") == \
        "to 138****5678 and 139****1111, id 1234567890123"


def at_shanghai(hour, minute=0, day=24):
    return dt.datetime(2026, 11, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=8))).astimezone(UTC)


@pytest.mark.parametrize("local, until", [
    ((21, 59), None),
    ((22, 0), at_shanghai(7, day=25)),
    ((23, 30), at_shanghai(7, day=25)),
    ((0, 15), at_shanghai(7, day=24)),
    ((6, 59), at_shanghai(7, day=24)),
    ((7, 0), None),
    ((12, 0), None),
])
def test_quiet_hours_in_the_estates_zone(local, until):
    assert QUIET.deferred_until(at_shanghai(*local), "Asia/Shanghai") == until


def test_quiet_hours_follow_the_estates_own_zone():
    now = dt.datetime(2026, 11, 24, 16, 30, tzinfo=UTC)  # 00:30 in Shanghai, 22:30 in Urumqi (UTC+6)
    assert QUIET.deferred_until(now, "Asia/Shanghai") == dt.datetime(2026, 11, 24, 23, 0, tzinfo=UTC)
    assert QUIET.deferred_until(now, "Asia/Urumqi") == dt.datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def test_a_daytime_window_and_an_empty_one():
    lunch = QuietHours(parse_hhmm("12:00"), parse_hhmm("13:30"))
    assert lunch.deferred_until(at_shanghai(12, 10), "Asia/Shanghai") == at_shanghai(13, 30)
    assert lunch.deferred_until(at_shanghai(13, 30), "Asia/Shanghai") is None
    assert QuietHours(dt.time(0), dt.time(0)).deferred_until(at_shanghai(3), "Asia/Shanghai") is None


def test_acknowledgement_sms_in_chinese_with_reference_and_first_contact_time(make_case_opened):
    payload = make_case_opened()  # first contact due 07:30 UTC = 15:30 Shanghai
    m = new_sms_acknowledgement(TENANT, payload, at_shanghai(14, 31), templates.render_sms, QUIET)
    assert (m.channel, m.status, m.recipient, m.timezone) == ("sms", "queued", "13800138000", "Asia/Shanghai")
    assert m.body_text == f"【锦绣花园】您的投诉已受理，编号 {payload['reference']}，我们将于 15:30 前联系您。"
    assert len(m.body_text) <= 70  # one UCS-2 part
    assert m.next_attempt_at is None and m.deferred_until is None
    assert len(m.dlr_token) == 32


def test_acknowledgement_sms_in_english(make_case_opened):
    m = new_sms_acknowledgement(TENANT, make_case_opened(locale="en", estate={"name": "Jinxiu Garden"}),
                                at_shanghai(14, 31), templates.render_sms, QUIET)
    assert m.body_text.startswith("[Jinxiu Garden] Complaint received, ref TS") and "by 15:30." in m.body_text


def test_at_night_the_acknowledgement_waits_for_the_end_of_quiet_hours(make_case_opened):
    payload = make_case_opened(deadlines=[{"stage": "first_contact", "due_at": at_shanghai(8, 30, 25).isoformat()}])
    m = new_sms_acknowledgement(TENANT, payload, at_shanghai(23, 10), templates.render_sms, QUIET)
    assert m.status == "queued" and m.next_attempt_at == m.deferred_until == at_shanghai(7, day=25)
    assert "11月25日 08:30" in m.body_text  # another day than today: the date is said
    entry = timeline_entry(_as_row(m))
    assert (entry["kind"], entry["text"]) == ("notification_deferred", "受理短信因免打扰时段暂缓，将于 11-25 07:00 发送")


def test_no_phone_no_sms_and_an_invalid_one_fails_at_once(make_case_opened):
    assert new_sms_acknowledgement(TENANT, make_case_opened(complainant={"phone": ""}), at_shanghai(9),
                                   templates.render_sms, QUIET) is None
    m = new_sms_acknowledgement(TENANT, make_case_opened(complainant={"phone": "021-62345678"}), at_shanghai(9),
                                templates.render_sms, QUIET)
    assert (m.status, m.last_error) == ("failed", "not a mainland mobile number: 021****5678")
    assert timeline_entry(_as_row(m))["text"] == "受理短信发送失败（021****5678）：not a mainland mobile number: 021****5678"


def _as_row(m):
    return {"id": m.id, "kind": m.kind, "channel": m.channel, "recipient": m.recipient, "status": m.status,
            "attempts": 0, "created_at": m.created_at, "updated_at": m.created_at, "sent_at": None,
            "last_error": m.last_error, "deferred_until": m.deferred_until, "timezone": m.timezone}
