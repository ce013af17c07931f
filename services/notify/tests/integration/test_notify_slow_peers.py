"""Slow peers (issue 9, fault 4): an SMTP server or Kannel that accepts the connection and then stalls, made so by
``StallProxy`` in front of the real peer (aiosmtpd, a real Kannel). Short timeouts (``SMTP_TIMEOUT`` /
``KANNEL_TIMEOUT`` = 1 s) show that the sender gives up instead of hanging, the row backs off, the other routes and
channels keep going meanwhile, and once the peer answers again every queued message goes out exactly once."""
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
from notify_helpers import dispatch, rows
from notify_kannel import sms_config
from notify_tls_smtp import TlsSmtpServer, make_certificates
from test_notify_sms_kannel import _phone
from test_notify_tenant_smtp import ADMIN, PASSWORD, PLATFORM_FROM, USER, _queue, _row, _settings

pytestmark = pytest.mark.integration

TIMEOUT = 1.0


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
        config = sms_config(notify_config, kannel, KANNEL_TIMEOUT=TIMEOUT,
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
        assert all(r.status == "queued" and "Kannel unreachable" in r.last_error and "Timeout" in r.last_error
                   for r in waiting)
        assert len(smtp_sink.wait_for(3)) == 3  # the e-mail channel is not held up by the SMS channel's peer
        assert wait_until(lambda: all(r.status == "sent" for r in rows(engine, "email")))
        assert proxy.stalled >= 1 and not [m for m in kannel.received() if m.receiver[3:] in phones]

        proxy.resume()
        for phone in phones:
            kannel.wait_for(f"+86{phone}", timeout=40)
        done = wait_until(lambda: _all_out(engine, 3), timeout=40)
        assert all(r.attempts >= 2 for r in done)
        time.sleep(2 * TIMEOUT)  # a repeat would show in the fake SMSC's log by now
        for phone in phones:
            assert len([m for m in kannel.received() if m.receiver == f"+86{phone}"]) == 1  # exactly once
    finally:
        proxy.stop()
