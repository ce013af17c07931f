"""The mailbox channel against a real Dovecot (scripts/dovecot.sh) and a real database (SQLite, or Postgres via
TEST_DATABASE_URL): messages APPENDed with imaplib, one ``MailPoller.poll_once`` per step."""
import email.policy
import email.utils
import re
import uuid
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select, update

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from intake import handlers, mail_intake, mail_repository
from intake.mailbox import Limits, MailPoller
from intake.seed import seed_demo
from intake.tables import complaint_notes, complaints, mail_messages, mail_rejects, mailboxes, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    with intake_engine.begin() as conn:  # only this test's mailbox is polled
        conn.execute(update(mailboxes).values(enabled=False))
    return intake_engine


@pytest.fixture
def box(engine, dovecot):
    user, password = dovecot.add_user()
    box_id = str(uuid.uuid4())
    with engine.begin() as conn:
        conn.execute(mailboxes.insert().values(
            tenant_id=TENANT, id=box_id, estate_code="DEMO-RES", host="127.0.0.1", port=dovecot.port,
            username=user, password=password, folder="INBOX", use_ssl=False, enabled=True, last_uid=0))
    imap = dovecot.client(user, password)
    yield imap
    imap.logout()


def poller(engine, clock, **limits):
    return MailPoller(engine, lambda: UnitOfWork(engine, reliability, clock), limits=Limits(**limits),
                      interval=0, timeout=10)


def append(imap, raw: bytes) -> int:
    typ, data = imap.append("INBOX", None, None, raw)
    assert typ == "OK"
    return int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1))


def flags(imap, uid) -> str:
    typ, data = imap.uid("FETCH", str(uid), "(FLAGS)")
    return data[0].decode()


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def complaint_mail(subject="漏水", body="2栋101厨房天花板漏水，请尽快处理", sender="zhou@example.com",
                   charset="gbk", message_id=None, attach=None, **headers) -> bytes:
    msg = EmailMessage()
    msg["From"] = email.utils.formataddr(("周女士", sender), charset="utf-8")
    msg["To"], msg["Subject"] = "complaints@demo", subject
    msg["Message-ID"] = message_id or email.utils.make_msgid(domain="example.com")
    msg["Date"] = email.utils.formatdate()
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    msg.set_content(body, charset=charset)
    if attach:
        msg.add_attachment(attach, maintype="image", subtype="jpeg", filename="现场.jpg")
    return msg.as_bytes(policy=email.policy.SMTP)  # CRLF, as on the wire (imaplib.append would convert)


def test_intake_mail_new_complaint_once_with_attachment_and_raw_kept(engine, box, clock):
    raw = complaint_mail(attach=b"\xff\xd8jpeg bytes")
    uid = append(box, raw)
    outcomes = poller(engine, clock).poll_once()
    assert [o.kind for o in outcomes] == ["complaint"]
    found = handlers.get_complaint(outcomes[0].complaint_id, TENANT, engine)
    assert found["channel"] == "email" and found["estate"]["code"] == "DEMO-RES"
    assert found["complainant"]["email"] == "zhou@example.com" and found["complainant"]["name"] == "周女士"
    assert found["description"] == "漏水\n\n2栋101厨房天花板漏水，请尽快处理"
    assert found["category"] and found["category_source"] == "auto"  # classified like the web channel
    assert [(a["filename"], a["content_type"], a["size"]) for a in found["attachments"]] == [
        ("现场.jpg", "image/jpeg", 12)]
    with engine.connect() as conn:
        stored = conn.execute(select(mail_messages.c.raw, mail_messages.c.outcome)).one()
        event = conn.execute(select(reliability.outbox.c.body)).scalar_one()
    assert stored.outcome == "complaint" and stored.raw == raw
    assert event["event_type"] == "complaint_received" and event["payload"]["channel"] == "email"
    assert "\\Seen" in flags(box, uid) and "$EstateDesk" in flags(box, uid)

    assert poller(engine, clock).poll_once() == []  # a second poll creates nothing
    assert count(engine, complaints) == 1


def test_intake_mail_second_copy_of_a_message_is_a_no_op(engine, box, clock):
    raw = complaint_mail(message_id="<same-id@example.com>")
    append(box, raw)
    assert [o.kind for o in poller(engine, clock).poll_once()] == ["complaint"]
    uid = append(box, raw)
    assert [o.kind for o in poller(engine, clock).poll_once()] == ["duplicate"]
    assert count(engine, complaints) == 1 and count(engine, mail_messages) == 1
    assert "\\Seen" in flags(box, uid)


def test_intake_mail_reply_with_reference_from_the_same_sender_is_appended(engine, box, clock):
    append(box, complaint_mail())
    [first] = poller(engine, clock).poll_once()
    reply = complaint_mail(subject=f"Re: 漏水 [{first.reference}]".replace("[", "").replace("]", ""),
                           body="师傅来过了，但还在滴水", charset="utf-8")
    stranger = complaint_mail(subject=f"Re: {first.reference}", sender="other@example.com", body="我也漏水")
    append(box, reply)
    append(box, stranger)
    outcomes = poller(engine, clock).poll_once()
    assert [(o.kind, o.complaint_id == first.complaint_id) for o in outcomes] == [("reply", True),
                                                                                 ("complaint", False)]
    timeline = handlers.get_complaint(first.complaint_id, TENANT, engine)["timeline"]
    assert [t["kind"] for t in timeline] == ["complaint_received", "email_reply"]
    assert timeline[1]["actor"] == "zhou@example.com" and "还在滴水" in timeline[1]["text"]
    with engine.connect() as conn:
        events = [b["event_type"] for b in conn.execute(select(reliability.outbox.c.body)).scalars()]
    assert sorted(events) == ["complaint_received", "complaint_received", "complaint_updated"]
    assert count(engine, complaint_notes) == 1


def test_intake_mail_estate_tag_in_subject_chooses_the_estate(engine, box, clock):
    append(box, complaint_mail(subject="[DEMO-OFFICE] 空调不制冷", charset="gb2312"))
    [outcome] = poller(engine, clock).poll_once()
    found = handlers.get_complaint(outcome.complaint_id, TENANT, engine)
    assert found["estate"]["code"] == "DEMO-OFFICE" and found["description"].startswith("空调不制冷")


def test_intake_mail_auto_replies_and_bounces_are_recorded_not_registered(engine, box, clock):
    uid = append(box, complaint_mail(subject="自动回复：休假中", Auto_Submitted="auto-replied"))
    append(box, complaint_mail(sender="mailer-daemon@mx.example.com", subject="Undelivered Mail"))
    outcomes = poller(engine, clock).poll_once()
    assert [o.kind for o in outcomes] == ["ignored", "ignored"]
    assert count(engine, complaints) == 0
    log = mail_intake.mail_log(TENANT, engine)
    assert {m["outcome"] for m in log["messages"]} == {"ignored"} and all(m["reason"] for m in log["messages"])
    assert "\\Seen" in flags(box, uid)


def test_intake_mail_failure_before_commit_leaves_the_message_unseen_for_the_next_poll(engine, box, clock,
                                                                                        monkeypatch):
    uid = append(box, complaint_mail())
    real = mail_repository.add_message

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(mail_repository, "add_message", broken)
    assert poller(engine, clock).poll_once() == []
    assert count(engine, complaints) == 0 and count(engine, reliability.outbox) == 0
    assert "\\Seen" not in flags(box, uid)
    with engine.connect() as conn:
        assert conn.execute(select(mailboxes.c.last_uid).where(mailboxes.c.enabled.is_(True))).scalar_one() == 0

    monkeypatch.setattr(mail_repository, "add_message", real)
    assert [o.kind for o in poller(engine, clock).poll_once()] == ["complaint"]
    assert count(engine, complaints) == 1 and "\\Seen" in flags(box, uid)


def test_intake_mail_a_message_failing_every_time_is_rejected_after_three_passes(engine, box, clock, monkeypatch):
    uid = append(box, complaint_mail())
    monkeypatch.setattr(mail_repository, "add_message", lambda *a, **k: 1 / 0)
    p = poller(engine, clock)
    assert p.poll_once() == [] and p.poll_once() == []
    assert "\\Seen" not in flags(box, uid)
    assert [o.kind for o in p.poll_once()] == ["rejected"]
    assert "$EstateDeskRejected" in flags(box, uid)
    with engine.connect() as conn:
        reject = conn.execute(select(mail_rejects)).mappings().one()
    assert "ZeroDivisionError" in reject["reason"] and reject["raw"]


def test_intake_mail_oversized_and_unparseable_messages_go_to_rejects_once(engine, box, clock):
    big = append(box, complaint_mail(body="大" * 5000))
    bad = append(box, b"Subject: no sender\r\n\r\n?\r\n")
    outcomes = poller(engine, clock, max_message=8000).poll_once()
    assert [o.kind for o in outcomes] == ["rejected", "rejected"]
    with engine.connect() as conn:
        rows = conn.execute(select(mail_rejects.c.uid, mail_rejects.c.reason, mail_rejects.c.raw)
                            .order_by(mail_rejects.c.uid)).all()
    assert rows[0].uid == big and rows[0].reason.startswith("too large") and b"Subject" in rows[0].raw
    assert rows[1].uid == bad and rows[1].reason.startswith("unparseable")
    assert "$EstateDeskRejected" in flags(box, big) and "$EstateDeskRejected" in flags(box, bad)
    assert poller(engine, clock, max_message=8000).poll_once() == [] and count(engine, mail_rejects) == 2
    assert count(engine, complaints) == 0


def test_intake_mail_wrong_password_records_the_error_and_keeps_going(engine, box, clock):
    with engine.begin() as conn:
        conn.execute(update(mailboxes).where(mailboxes.c.enabled.is_(True)).values(password="wrong"))
    assert poller(engine, clock).poll_once() == []
    with engine.connect() as conn:
        error = conn.execute(select(mailboxes.c.last_error).where(mailboxes.c.enabled.is_(True))).scalar_one()
    assert "login failed" in error and "wrong" not in error


def test_intake_mail_repository_hides_other_tenants(engine, box, clock):
    append(box, complaint_mail())
    [first] = poller(engine, clock).poll_once()
    other = str(uuid.uuid4())
    with engine.connect() as conn:
        assert mail_repository.complaint_for_reply(conn, TENANT, [first.reference], "zhou@example.com")
        assert mail_repository.complaint_for_reply(conn, other, [first.reference], "zhou@example.com") is None
        assert mail_repository.list_log(conn, other) == {"messages": [], "rejects": []}
    assert mail_intake.mail_log(TENANT, engine)["messages"][0]["complaint_id"] == first.complaint_id
