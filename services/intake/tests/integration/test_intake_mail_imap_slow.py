"""A slow IMAP server (issue 9, fault 4): a real Dovecot behind ``StallProxy``, which stalls the server's answer
mid-FETCH or never greets. The poll must give up after ``IMAP_TIMEOUT_SECONDS`` (1 s here), leave the mail on the
server unflagged and un-ingested, not hold up the other mailboxes, and take the mail exactly once when the server
answers again."""
import time
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.stall_proxy import StallProxy
from estatedesk_common.unit_of_work import UnitOfWork
from intake.mailbox import MailPoller
from intake.tables import complaints, mail_messages, mailboxes, reliability

from test_intake_mail_imap import TENANT, append, complaint_mail, count, engine, flags  # noqa: F401 (fixture)

pytestmark = pytest.mark.integration

TIMEOUT = 1.0


@pytest.fixture
def proxy(dovecot):
    proxy = StallProxy(dovecot.port).start()
    yield proxy
    proxy.stop()


def _mailbox(engine, dovecot, port):
    """A mailbox of its own (new Dovecot user) polled through ``port``; its IMAP client goes to Dovecot directly."""
    user, password = dovecot.add_user()
    box_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(mailboxes.insert().values(
            tenant_id=TENANT, id=box_id, estate_code="DEMO-RES", host="127.0.0.1", port=port, username=user,
            password=password, folder="INBOX", use_ssl=False, enabled=True, last_uid=0))
    return box_id, dovecot.client(user, password)


def _last_error(engine, box_id):
    with engine.connect() as conn:
        return conn.execute(select(mailboxes.c.last_error).where(mailboxes.c.id == box_id)).scalar_one()


def _poll(engine, clock):
    started = time.monotonic()
    outcomes = MailPoller(engine, lambda: UnitOfWork(engine, reliability, clock), interval=0,
                          timeout=TIMEOUT).poll_once()
    return outcomes, time.monotonic() - started


@pytest.mark.parametrize("stall", ["mid_fetch", "no_greeting"])
def test_a_stalled_imap_server_times_out_keeps_the_mail_and_the_next_poll_takes_it_once(
        engine, dovecot, proxy, clock, stall):
    slow_id, slow = _mailbox(engine, dovecot, proxy.port)
    fast_id, fast = _mailbox(engine, dovecot, dovecot.port)
    try:
        uid = append(slow, complaint_mail(body="3栋502卫生间漏水，楼下已经受影响"))
        append(fast, complaint_mail(sender="li@example.com", body="小区东门道闸坏了三天，车辆进出排长队"))
        if stall == "mid_fetch":  # 200 bytes of the source arrive, then nothing
            proxy.hold_replies_after(b"BODY.PEEK[]", keep=200)
        else:  # the connection is accepted and never greeted
            proxy.hold()

        outcomes, took = _poll(engine, clock)
        assert [o.kind for o in outcomes] == ["complaint"]  # the other mailbox's mail, in the same pass
        assert took < 10 * TIMEOUT  # gave up, did not hang (read, then LOGOUT: about 2 timeouts)
        assert proxy.stalled >= 1
        assert "timed out" in _last_error(engine, slow_id) and _last_error(engine, fast_id) is None
        assert count(engine, complaints) == 1 and count(engine, mail_messages) == 1  # nothing half-ingested
        assert "\\Seen" not in flags(slow, uid) and "$EstateDesk" not in flags(slow, uid)  # still on the server

        proxy.resume()
        outcomes, _took = _poll(engine, clock)
        assert [o.kind for o in outcomes] == ["complaint"]
        assert "$EstateDesk" in flags(slow, uid) and _last_error(engine, slow_id) is None
        assert _poll(engine, clock)[0] == []  # once: a third poll finds nothing new
        assert count(engine, complaints) == 2 and count(engine, mail_messages) == 2
        with engine.connect() as conn:
            events = [r.body["event_type"] for r in conn.execute(select(reliability.outbox))]
        assert events.count("complaint_received") == 2
    finally:
        slow.logout()
        fast.logout()
