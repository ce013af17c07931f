"""The acknowledgement SMS from ``case_opened`` through the delivery loop and Kannel's delivery reports, on a
throwaway SQLite database with a fake provider and a fixed clock (no network)."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import delivery, handlers
from notify.dependencies import SmsPolicy
from notify.domain.quiet_hours import QuietHours
from notify.sms import PermanentFailure, SmsChannel, TemporaryFailure, dlr_url
from notify.tables import messages, reliability

POLICY = SmsPolicy(True, QuietHours(dt.time(22), dt.time(7)))  # fake clock: 06:30 UTC = 14:30 Shanghai


class FakeProvider:
    name = "fake"

    def __init__(self, *errors):
        self.errors, self.sent = list(errors), []

    def send(self, to, text, dlr_url=None):
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        self.sent.append((to, text, dlr_url))
        return f"p-{len(self.sent)}"


def _open_case(new_uow, make_case_opened, **overrides):
    env = Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()), payload=make_case_opened(**overrides))
    queued = handlers.on_case_opened(env, new_uow(), sms=POLICY)
    return env, queued


def _sms(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.channel == "sms")).mappings().all()


def _event_types(engine):
    with engine.connect() as conn:
        return [r.body["event_type"] for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))]


def _pass(engine, new_uow, provider, clock):
    channel = SmsChannel(provider, POLICY.quiet_hours, lambda row: dlr_url("http://127.0.0.1:9203", row))
    return delivery.deliver_once(engine, new_uow, channel, clock)


def _report(row, dlr_type, **extra):
    return {"t": row["tenant_id"], "m": row["id"], "k": row["dlr_token"], "type": str(dlr_type),
            "reply": "", "to": "+8613800138000", "ts": "1795527233"} | extra


def test_case_opened_queues_email_and_sms_in_one_transaction_once(engine, new_uow, make_case_opened):
    env, queued = _open_case(new_uow, make_case_opened)
    assert queued == {"email", "sms"}
    assert handlers.on_case_opened(env, new_uow(), sms=POLICY) == set()  # redelivered
    [row] = _sms(engine)
    assert (row.status, row.recipient, row.subject, row.timezone) == ("queued", "13800138000", "", "Asia/Shanghai")
    assert env.payload["reference"] in row.body_text
    assert handlers.on_case_opened(Envelope(event_type="case_opened", tenant_id=env.tenant_id,
                                            payload=make_case_opened()), new_uow()) == {"email"}  # SMS off


def test_sent_then_delivered_by_kannels_report(engine, new_uow, fake_clock, make_case_opened):
    env, _ = _open_case(new_uow, make_case_opened)
    provider = FakeProvider()
    assert _pass(engine, new_uow, provider, fake_clock) == {"sent": 1}
    [(to, text, callback)] = provider.sent
    [row] = _sms(engine)
    assert to == "+8613800138000" and text == row.body_text and f"k={row.dlr_token}" in callback
    assert (row.status, row.attempts, row.provider_message_id) == ("sent", 1, "p-1")

    assert handlers.on_kannel_dlr(_report(row, 8, reply="ACK/"), new_uow()) == (200, "noted\n")
    assert handlers.on_kannel_dlr(_report(row, 1), new_uow()) == (200, "delivered\n")
    assert handlers.on_kannel_dlr(_report(row, 8), new_uow()) == (200, "stale\n")  # late, does not undo
    [row] = _sms(engine)
    assert (row.status, row.dlr_type) == ("delivered", 1)
    assert row.dlr_at == fake_clock.now()  # when we heard of it, not Kannel's whole-second %T
    assert _event_types(engine) == ["notification_sent"]
    texts = [e["text"] for e in handlers.get_timeline(env.payload["complaint_id"], env.tenant_id, engine)]
    assert "受理短信已送达 138****8000" in texts
    [view] = [d for d in handlers.get_deliveries(env.payload["complaint_id"], env.tenant_id, engine)
              if d["channel"] == "sms"]
    assert (view["recipient"], view["status"], view["dlr_type"]) == ("138****8000", "delivered", 1)


@pytest.mark.parametrize("dlr_type, reason", [(16, "DLR 16: rejected by the SMSC (NACK/0x0b)"),
                                              (2, "DLR 2: not delivered to the phone (NACK/0x0b)")])
def test_a_failure_report_fails_the_sms_with_the_reason(engine, new_uow, fake_clock, make_case_opened,
                                                         dlr_type, reason):
    _open_case(new_uow, make_case_opened)
    _pass(engine, new_uow, FakeProvider(), fake_clock)
    [row] = _sms(engine)
    assert handlers.on_kannel_dlr(_report(row, dlr_type, reply="NACK/0x0b"), new_uow()) == (200, "failed\n")
    [row] = _sms(engine)
    assert (row.status, row.last_error) == ("failed", reason)
    assert _event_types(engine)[-1] == "notification_failed"


def test_a_report_that_overtakes_the_sent_mark_is_settled_by_the_loop(engine, new_uow, fake_clock,
                                                                       make_case_opened):
    _open_case(new_uow, make_case_opened)
    [row] = _sms(engine)

    class ReportsWhileSending(FakeProvider):
        def send(self, to, text, dlr_url=None):  # Kannel calls back before our "sent" commit
            result = super().send(to, text, dlr_url)
            assert handlers.on_kannel_dlr(_report(row, 1), new_uow()) == (200, "noted\n")
            return result

    assert _pass(engine, new_uow, ReportsWhileSending(), fake_clock) == {"sent": 1}
    [row] = _sms(engine)
    assert row.status == "delivered"
    assert _event_types(engine) == ["notification_sent"]


def test_forged_and_malformed_reports_are_refused_and_change_nothing(engine, new_uow, fake_clock,
                                                                      make_case_opened):
    _open_case(new_uow, make_case_opened)
    _open_case(new_uow, make_case_opened)
    _pass(engine, new_uow, FakeProvider(), fake_clock)
    mine, other = _sms(engine)
    assert handlers.on_kannel_dlr(_report(mine, 1, k=other.dlr_token), new_uow())[0] == 403
    assert handlers.on_kannel_dlr(_report(mine, 1, t=other.tenant_id), new_uow())[0] == 403
    assert handlers.on_kannel_dlr(_report(mine, 1, m=str(uuid.uuid4())), new_uow())[0] == 403
    for bad in ({"type": "x"}, {"type": "3"}, {"m": "not-an-id"}, {"k": ""}, {"type": ""}):
        status, body = handlers.on_kannel_dlr(_report(mine, 1) | bad, new_uow())
        assert status == 400 and body.startswith("malformed delivery report")
    assert handlers.on_kannel_dlr({}, new_uow())[0] == 400
    assert {r.status for r in _sms(engine)} == {"sent"}


def test_provider_down_keeps_every_sms_queued_then_sends(engine, new_uow, fake_clock, make_case_opened):
    for _ in range(3):
        _open_case(new_uow, make_case_opened)
    down = FakeProvider(TemporaryFailure("Kannel unreachable: ConnectionError", unreachable=True))
    assert _pass(engine, new_uow, down, fake_clock) == {"retry": 3}
    assert down.sent == [] and {(r.status, r.attempts) for r in _sms(engine)} == {("queued", 1)}
    fake_clock.advance(seconds=2)
    assert _pass(engine, new_uow, FakeProvider(), fake_clock) == {"sent": 3}


def test_a_refused_message_fails_at_once_the_rest_still_go(engine, new_uow, fake_clock, make_case_opened):
    _open_case(new_uow, make_case_opened)
    _open_case(new_uow, make_case_opened)
    provider = FakeProvider(PermanentFailure("Kannel refused the message: 400 Missing receiver number"))
    assert _pass(engine, new_uow, provider, fake_clock) == {"failed": 1, "sent": 1}
    assert sorted(r.status for r in _sms(engine)) == ["failed", "sent"]


def test_an_invalid_number_fails_at_once_with_reason_and_event(engine, new_uow, fake_clock, make_case_opened):
    env, queued = _open_case(new_uow, make_case_opened, complainant={"phone": "12345"})
    assert queued == {"email"}
    [row] = _sms(engine)
    assert (row.status, row.last_error) == ("failed", "not a mainland mobile number: ***45")
    assert _event_types(engine) == ["notification_failed"]
    assert _pass(engine, new_uow, FakeProvider(), fake_clock) == {}


def test_quiet_hours_defer_without_an_attempt_then_send(engine, new_uow, fake_clock, make_case_opened):
    fake_clock.now_value = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 in Shanghai
    env, _ = _open_case(new_uow, make_case_opened)
    [row] = _sms(engine)
    morning = dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.timezone.utc)  # 07:00 in Shanghai
    assert row.next_attempt_at == row.deferred_until == morning
    [sms_entry] = [e for e in handlers.get_timeline(env.payload["complaint_id"], env.tenant_id, engine)
                   if e["kind"] == "notification_deferred"]
    assert sms_entry["text"] == "受理短信因免打扰时段暂缓，将于 11-25 07:00 发送"
    provider = FakeProvider()
    assert _pass(engine, new_uow, provider, fake_clock) == {}  # not due
    fake_clock.now_value = morning
    assert _pass(engine, new_uow, provider, fake_clock) == {"sent": 1}
    assert _sms(engine)[0].attempts == 1


def test_a_retry_that_falls_into_quiet_hours_is_deferred_not_counted(engine, new_uow, fake_clock,
                                                                      make_case_opened):
    fake_clock.now_value = dt.datetime(2026, 11, 24, 13, 59, 59, tzinfo=dt.timezone.utc)  # 21:59:59
    _open_case(new_uow, make_case_opened)
    down = FakeProvider(TemporaryFailure("Kannel unavailable: 503", unreachable=False))
    assert _pass(engine, new_uow, down, fake_clock) == {"retry": 1}
    fake_clock.advance(seconds=5)  # 22:00:04: quiet
    assert _pass(engine, new_uow, FakeProvider(), fake_clock) == {"deferred": 1}
    [row] = _sms(engine)
    assert (row.status, row.attempts) == ("queued", 1)
    assert row.next_attempt_at == dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.timezone.utc)
