"""Handlers and the mail loop against a throwaway SQLite database and a fake SMTP transport (no network)."""
import smtplib
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import delivery, handlers
from notify.mail import EmailChannel
from notify.tables import messages, reliability


class FakeTransport:
    """Accepts everything, or raises the queued errors in order (``None`` = accept)."""

    def __init__(self, errors=(), open_error=None):
        self.errors, self.open_error, self.sent = list(errors), open_error, []

    def open(self):
        if self.open_error:
            raise self.open_error
        return self

    def send(self, smtp, msg):
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        self.sent.append(msg)

    def close(self, smtp):
        pass


def _envelope(payload, tenant=None):
    return Envelope(event_type="case_opened", tenant_id=tenant or str(uuid.uuid4()), payload=payload)


def _rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages)).mappings().all()


def _events(engine):
    with engine.connect() as conn:
        return [r.body for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))]


def _deliver(engine, new_uow, transport, clock, **kw):
    channel = EmailChannel(transport, "EstateDesk <noreply@estatedesk.local>")
    return delivery.deliver_once(engine, new_uow, channel, clock, **kw)


def test_case_opened_queues_one_acknowledgement_even_when_redelivered(engine, new_uow, make_case_opened):
    env = _envelope(make_case_opened())
    assert handlers.on_case_opened(env, new_uow()) == {"email"}
    assert handlers.on_case_opened(env, new_uow()) == set()
    [row] = _rows(engine)
    assert (row.status, row.tenant_id, row.recipient, row.attempts) == ("queued", env.tenant_id,
                                                                       "zhang@example.com", 0)


def test_no_email_address_is_recorded_as_skipped(engine, new_uow, make_case_opened):
    env = _envelope(make_case_opened(complainant={"email": ""}))
    assert handlers.on_case_opened(env, new_uow()) == set()
    [row] = _rows(engine)
    assert (row.status, row.last_error) == ("skipped", "no e-mail address")
    timeline = handlers.get_timeline(row.complaint_id, env.tenant_id, engine)
    assert [e["text"] for e in timeline] == ["受理回执未发送：无电子邮箱"]


def test_another_tenants_messages_are_invisible(engine, new_uow, make_case_opened):
    payload = make_case_opened()
    env = _envelope(payload)
    handlers.on_case_opened(env, new_uow())
    other = str(uuid.uuid4())
    assert handlers.get_timeline(payload["complaint_id"], other, engine) == []
    assert handlers.get_deliveries(payload["complaint_id"], other, engine) == []
    assert len(handlers.get_deliveries(payload["complaint_id"], env.tenant_id, engine)) == 1


def test_sent_marks_row_and_records_event_in_the_same_transaction(engine, new_uow, fake_clock, make_case_opened):
    payload = make_case_opened()
    env = _envelope(payload)
    handlers.on_case_opened(env, new_uow())
    transport = FakeTransport()
    assert _deliver(engine, new_uow, transport, fake_clock) == {"sent": 1}
    [msg] = transport.sent
    assert msg["X-EstateDesk-Reference"] == payload["reference"]
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.sent_at) == ("sent", 1, fake_clock.now())
    assert msg["Message-ID"] == row.smtp_message_id
    [event] = _events(engine)
    assert (event["event_type"], event["tenant_id"]) == ("notification_sent", env.tenant_id)
    assert event["payload"]["complaint_id"] == payload["complaint_id"]
    assert event["payload"]["recipient"] == "z***@example.com"
    assert _deliver(engine, new_uow, transport, fake_clock) == {}  # nothing left to send
    [entry] = handlers.get_timeline(payload["complaint_id"], env.tenant_id, engine)
    assert entry["text"] == "受理回执邮件已发送至 z***@example.com"


def test_temporary_failure_waits_with_backoff_then_sends(engine, new_uow, fake_clock, make_case_opened):
    handlers.on_case_opened(_envelope(make_case_opened()), new_uow())
    transport = FakeTransport(errors=[smtplib.SMTPRecipientsRefused({"z": (451, b"4.3.0 try again later")})])
    assert _deliver(engine, new_uow, transport, fake_clock) == {"retry": 1}
    [row] = _rows(engine)
    assert (row.status, row.attempts, row.last_error) == ("queued", 1, "451 4.3.0 try again later")
    assert row.next_attempt_at == fake_clock.now() + delivery.backoff(1)
    assert _deliver(engine, new_uow, transport, fake_clock) == {}  # not due yet
    fake_clock.advance(seconds=2)
    assert _deliver(engine, new_uow, transport, fake_clock) == {"sent": 1}
    assert _events(engine)[0]["payload"]["attempts"] == 2


def test_smtp_down_keeps_every_row_queued(engine, new_uow, fake_clock, make_case_opened):
    for _ in range(3):
        handlers.on_case_opened(_envelope(make_case_opened()), new_uow())
    down = FakeTransport(open_error=ConnectionRefusedError(111, "Connection refused"))
    assert _deliver(engine, new_uow, down, fake_clock) == {"retry": 3}
    assert {(r.status, r.attempts) for r in _rows(engine)} == {("queued", 1)}
    assert _events(engine) == []


def test_permanent_refusal_fails_at_once_with_reason(engine, new_uow, fake_clock, make_case_opened):
    payload = make_case_opened()
    env = _envelope(payload)
    handlers.on_case_opened(env, new_uow())
    transport = FakeTransport(errors=[smtplib.SMTPRecipientsRefused(
        {"zhang@example.com": (550, b"5.1.1 <zhang@example.com>: user unknown")})])
    assert _deliver(engine, new_uow, transport, fake_clock) == {"failed": 1}
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("failed", 1)
    [event] = _events(engine)
    assert event["event_type"] == "notification_failed"
    assert event["payload"]["permanent"] is True
    [entry] = handlers.get_timeline(payload["complaint_id"], env.tenant_id, engine)
    assert entry["text"] == "受理回执邮件发送失败：550 5.1.1 <z***@example.com>: user unknown"


def test_gives_up_after_max_attempts(engine, new_uow, fake_clock, make_case_opened):
    handlers.on_case_opened(_envelope(make_case_opened()), new_uow())
    down = FakeTransport(open_error=TimeoutError("timed out"))
    outcomes = []
    for _ in range(delivery.MAX_ATTEMPTS):
        outcomes.append(_deliver(engine, new_uow, down, fake_clock))
        fake_clock.advance(seconds=61)
    assert outcomes == [{"retry": 1}] * (delivery.MAX_ATTEMPTS - 1) + [{"failed": 1}]
    [row] = _rows(engine)
    assert (row.status, row.attempts) == ("failed", delivery.MAX_ATTEMPTS)
    assert [e["event_type"] for e in _events(engine)] == ["notification_failed"]


def test_a_dropped_connection_leaves_the_rest_of_the_batch_for_later(engine, new_uow, fake_clock,
                                                                       make_case_opened):
    for _ in range(3):
        handlers.on_case_opened(_envelope(make_case_opened()), new_uow())
    transport = FakeTransport(errors=[None, smtplib.SMTPServerDisconnected("Connection unexpectedly closed")])
    assert _deliver(engine, new_uow, transport, fake_clock) == {"sent": 1, "retry": 2}
    assert len(transport.sent) == 1


def test_malformed_payload_raises_and_leaves_nothing(engine, new_uow, make_case_opened):
    from notify.domain.messages import InvalidPayload

    env = _envelope(make_case_opened(reference=""))
    with pytest.raises(InvalidPayload):
        handlers.on_case_opened(env, new_uow())
    assert _rows(engine) == []
    with engine.connect() as conn:
        assert conn.execute(select(reliability.inbox)).first() is None
