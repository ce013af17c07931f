"""Slow peers (issue 9, fault 4): an SMTP server or Kannel that accepts the connection and then stalls, made so by
``StallProxy`` in front of the real peer (aiosmtpd, a real Kannel). Short timeouts (``SMTP_TIMEOUT`` /
``KANNEL_TIMEOUT`` = 1 s) show that the sender gives up instead of hanging, the row backs off, the other routes and
channels keep going meanwhile, and once the peer answers again every queued message goes out exactly once.

Kannel answering after the timeout (it has queued the SMS; ``sendsms`` has no idempotency key): the SMS is
``unknown`` and waits for Kannel's delivery report (``SMS_DLR_WAIT_SECONDS``, short here) before any repeat."""
import datetime as dt
import email
import time
import uuid

import pytest
from cryptography.fernet import Fernet

from estatedesk_common import secrets
from estatedesk_common.envelope import Envelope
from estatedesk_common.stall_proxy import StallProxy
from estatedesk_common.unit_of_work import UnitOfWork
from notify import delivery, mail_settings
from notify.mail import EmailChannel
from notify.service import NotifyService
from notify.smtp import SmtpTransport, tls_context
from notify.tables import reliability
from notify.tenant_smtp import MailPolicy, TenantRoutes
from notify_helpers import capture_events, dispatch, drain, rows
from notify_kannel import sms_config
from notify_tls_smtp import TlsSmtpServer, make_certificates
from test_notify_sms_kannel import _phone
from test_notify_tenant_smtp import ADMIN, PASSWORD, PLATFORM_FROM, USER, _queue, _row, _settings

pytestmark = pytest.mark.integration

TIMEOUT = 1.0
DLR_WAIT = 3.0  # SMS_DLR_WAIT_SECONDS: how long an SMS whose answer was lost waits for a delivery report
LATE = 3 * TIMEOUT  # Kannel's answer comes back after notify gave up on it


@pytest.fixture
def slow_platform(smtp_sink):
    """The platform's mail server (aiosmtpd) reached through a proxy that can stall it."""
    smtp_sink.start()
    proxy = StallProxy(smtp_sink.port).start()
    yield proxy
    proxy.stop()


@pytest.fixture
def tenant_server(tmp_path_factory):
    """A tenant's own server (STARTTLS and a login), answering normally."""
    certs = make_certificates(str(tmp_path_factory.mktemp("certs")))
    server = TlsSmtpServer(certs, {USER: PASSWORD}, str(tmp_path_factory.mktemp("smtp")), "starttls").start()
    yield certs, server
    server.stop()


def _all_out(engine, expected):
    out = [r for r in rows(engine, "sms") if r.status in ("sent", "delivered")]
    return out if len(out) == expected else None


def _message_ids(envelopes) -> list[str]:
    return [email.message_from_bytes(e.original_content or e.content)["Message-ID"] for e in envelopes]


# how the platform's server stalls: never greets; takes RCPT TO and never answers (the message not yet taken);
# takes the whole message and never says 250 (it has the message: the documented at-least-once case)
STALLS = {"no_greeting": None, "after_rcpt": b"RCPT TO", "after_data": b"\r\n.\r\n"}


@pytest.mark.parametrize("stall", list(STALLS))
def test_a_stalled_smtp_server_times_out_backs_off_and_delays_no_other_route(
        engine, fake_clock, smtp_sink, slow_platform, tenant_server, monkeypatch, stall):
    key = Fernet.generate_key().decode()
    monkeypatch.setenv(secrets.KEY_ENV, key)
    certs, server = tenant_server
    platform = SmtpTransport("127.0.0.1", slow_platform.port, timeout=TIMEOUT)
    policy = MailPolicy({secrets.KEY_ENV: key}, tls_context(certs["ca"]), True, TIMEOUT, platform, PLATFORM_FROM)
    new_uow = lambda: UnitOfWork(engine, reliability, fake_clock)  # noqa: E731
    own = str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server), own, "admin", ADMIN, new_uow(), policy)
    waiting, going = _queue(new_uow, str(uuid.uuid4())), _queue(new_uow, own)  # platform row first
    channel = EmailChannel(policy.platform, policy.platform_sender, routes=TenantRoutes(engine, policy))
    if STALLS[stall] is None:
        slow_platform.hold()
    else:
        slow_platform.hold_replies_after(STALLS[stall])

    started = time.monotonic()
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {"retry": 1, "sent": 1}
    assert time.monotonic() - started < 10 * TIMEOUT  # the stall cost timeouts, not a hung pass
    assert slow_platform.stalled >= 1
    row = _row(engine, waiting)
    assert (row["status"], row["attempts"]) == ("queued", 1) and row["next_attempt_at"] > fake_clock.now()
    assert "timed out" in row["last_error"] or "Connection unexpectedly closed" in row["last_error"]
    assert _row(engine, going)["status"] == "sent" and len(server.wait_for(1)) == 1  # the route after the stall
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {}  # backing off: not due yet
    taken = list(smtp_sink.received)
    assert len(taken) == (1 if stall == "after_data" else 0)

    slow_platform.resume()
    fake_clock.advance(minutes=5)
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {"sent": 1}
    row = _row(engine, waiting)
    assert (row["status"], row["attempts"]) == ("sent", 2)
    fake_clock.advance(minutes=5)
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {}  # nothing left, nothing re-sent
    ids = _message_ids(smtp_sink.wait_for(len(taken) + 1))
    # exactly once unless the server had taken the message before it stalled: then twice, with one Message-ID
    assert ids == [row["smtp_message_id"]] * (len(taken) + 1)
    assert len(server.received) == 1


def test_a_hanging_kannel_times_out_the_mail_keeps_going_and_every_sms_goes_once_when_it_answers(
        container_factory, notify_config, kannel, smtp_sink, engine, make_case_opened, wait_until):
    smtp_sink.start()
    proxy = StallProxy(int(kannel.ports["KANNEL_SENDSMS_PORT"])).start()
    try:
        config = sms_config(notify_config, kannel, KANNEL_TIMEOUT=TIMEOUT, SMS_DLR_WAIT_SECONDS=DLR_WAIT,
                            KANNEL_SENDSMS_URL=f"http://127.0.0.1:{proxy.port}/cgi-bin/sendsms")
        container = container_factory(NotifyService, config)
        container.start()
        proxy.hold()  # connections accepted, requests never reach Kannel, no answer
        phones = [_phone() for _ in range(3)]
        for phone in phones:
            dispatch(container, config, Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()),
                                                 payload=make_case_opened(complainant={
                                                     "phone": phone, "email": f"{phone}@example.com"})).to_dict())

        waiting = wait_until(lambda: [r for r in rows(engine, "sms") if r.attempts >= 1] if len(
            [r for r in rows(engine, "sms") if r.attempts >= 1]) == 3 else None, timeout=20)  # each timed out
        # the one sent when Kannel stopped answering is unknown (notify cannot tell that the request never got
        # through), the others of its pass wait as ordinary retries
        assert {r.status for r in waiting} <= {"queued", "unknown"} and any(r.status == "unknown" for r in waiting)
        assert all("Kannel did not answer" in r.last_error and "ReadTimeout" in r.last_error for r in waiting)
        assert len(smtp_sink.wait_for(3)) == 3  # the e-mail channel is not held up by the SMS channel's peer
        assert wait_until(lambda: all(r.status == "sent" for r in rows(engine, "email")))
        assert proxy.stalled >= 1 and not [m for m in kannel.received() if m.receiver[3:] in phones]

        proxy.resume()
        for phone in phones:
            kannel.wait_for(f"+86{phone}", timeout=40)
        done = wait_until(lambda: _all_out(engine, 3), timeout=40)
        assert all(r.attempts >= 2 for r in done)
        # every repeat after a DLR wait is recorded (one that went into the hold counts too: notify cannot tell)
        assert all(r.ambiguous_retries >= 1 for r in done if r.ambiguous_at)
        time.sleep(2 * TIMEOUT)  # a repeat would show in the fake SMSC's log by now
        for phone in phones:
            assert len([m for m in kannel.received() if m.receiver == f"+86{phone}"]) == 1  # exactly once
    finally:
        proxy.stop()


def _sms_to(kannel, phone) -> list:
    return [m for m in kannel.received() if m.receiver == f"+86{phone}"]


def test_kannel_answering_after_the_timeout_sends_the_sms_once_and_its_report_marks_it_sent(
        container_factory, notify_config, kannel, smtp_sink, engine, make_case_opened, wait_until):
    """Kannel takes the request, its answer comes back after ``KANNEL_TIMEOUT``: notify does not resend; Kannel's
    delivery report (type 8, then 1 from fakesmsc) proves the send and the row ends ``delivered`` after one attempt.
    On PostgreSQL the report waits for the delivery pass's row lock and confirms the ``unknown`` row; on SQLite it
    usually overtakes the mark and the pass finds it on the row: both end the same."""
    smtp_sink.start()
    proxy = StallProxy(int(kannel.ports["KANNEL_SENDSMS_PORT"])).start()
    try:
        config = sms_config(notify_config, kannel, KANNEL_TIMEOUT=TIMEOUT, SMS_DLR_WAIT_SECONDS=DLR_WAIT,
                            KANNEL_SENDSMS_URL=f"http://127.0.0.1:{proxy.port}/cgi-bin/sendsms")
        events = capture_events(config)
        container = container_factory(NotifyService, config)
        container.start()
        proxy.delay_replies(LATE)  # the request reaches Kannel at once; its "202 Accepted" comes too late
        phone = _phone()
        dispatch(container, config, Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()),
                                             payload=make_case_opened(complainant={"phone": phone})).to_dict())

        kannel.wait_for(f"+86{phone}")
        [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "delivered"] or None, timeout=30)
        assert (row.attempts, row.dlr_type, row.dlr_attempt, row.ambiguous_retries) == (1, 1, 1, None)
        assert row.ambiguous_at is not None and "Kannel did not answer" in row.last_error
        assert "ReadTimeout" in row.last_error  # the answer was lost: notify gave up waiting for it
        assert proxy.connections == 1

        time.sleep(DLR_WAIT + 2 * TIMEOUT)  # past the DLR wait: a repeat would have been sent by now
        assert len(_sms_to(kannel, phone)) == 1  # exactly once at the fake SMSC
        [row] = rows(engine, "sms")
        assert (row.status, row.attempts) == ("delivered", 1) and proxy.connections == 1
        sent = [b for b in drain(config, events) if b["payload"]["channel"] == "sms"]
        assert [b["event_type"] for b in sent] == ["notification_sent"]
        assert sent[0]["payload"]["confirmed_by"] == "delivery_report"
    finally:
        proxy.stop()


def test_no_delivery_report_within_the_wait_resends_the_sms_once_and_records_the_ambiguous_retry(
        container_factory, notify_config, kannel, smtp_sink, engine, make_case_opened, wait_until):
    """Kannel takes the request, its answer and its delivery reports are both lost (a second proxy holds Kannel's
    calls to our dlr-url): after ``SMS_DLR_WAIT_SECONDS`` notify sends the SMS again, once. Delivery is at least
    once: the owner has it twice, and the row says so (``ambiguous_retries``)."""
    smtp_sink.start()
    sendsms = StallProxy(int(kannel.ports["KANNEL_SENDSMS_PORT"])).start()
    web_port = int(notify_config["WEB_SERVER_ADDRESS"].rpartition(":")[2])
    reports = StallProxy(web_port).start()
    try:
        config = sms_config(notify_config, kannel, KANNEL_TIMEOUT=TIMEOUT, SMS_DLR_WAIT_SECONDS=DLR_WAIT,
                            KANNEL_SENDSMS_URL=f"http://127.0.0.1:{sendsms.port}/cgi-bin/sendsms",
                            DLR_BASE_URL=f"http://127.0.0.1:{reports.port}")
        container = container_factory(NotifyService, config)
        container.start()
        sendsms.delay_replies(LATE)
        reports.hold()  # Kannel's delivery reports never reach notify
        phone = _phone()
        dispatch(container, config, Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()),
                                             payload=make_case_opened(complainant={"phone": phone})).to_dict())

        kannel.wait_for(f"+86{phone}")
        [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "unknown"] or None)
        assert row.attempts == 1 and "ReadTimeout" in row.last_error
        assert row.next_attempt_at - row.ambiguous_at >= dt.timedelta(seconds=DLR_WAIT)
        sendsms.resume()  # Kannel answers in time again: the repeat is accepted

        [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "sent"] or None, timeout=30)
        assert (row.attempts, row.ambiguous_retries) == (2, 1)
        assert row.sent_at - row.ambiguous_at >= dt.timedelta(seconds=DLR_WAIT)  # not before the wait was over
        assert reports.stalled >= 1  # Kannel did try to report: the reports were lost on the way
        time.sleep(DLR_WAIT + 2 * TIMEOUT)
        assert len(_sms_to(kannel, phone)) == 2  # the documented at-least-once case: sent again once, no more
        [row] = rows(engine, "sms")
        assert (row.status, row.attempts) == ("sent", 2)
    finally:
        reports.stop()
        sendsms.stop()
