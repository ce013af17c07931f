import datetime as dt
import email
import email.policy
import smtplib

import pytest

from notify.smtp import build_email, classify

SUBJECT = "【锦绣花园】您的投诉已受理，受理编号 TS20261124-7KQ2MX"


def _message():
    return build_email(sender="EstateDesk <noreply@estatedesk.local>", recipient="zhang@example.com",
                       subject=SUBJECT, body_text="您的投诉已受理 TS20261124-7KQ2MX\n",
                       body_html="<p>您的投诉已受理 <b>TS20261124-7KQ2MX</b></p>\n",
                       message_id="<abc.123@estatedesk.local>", reference="TS20261124-7KQ2MX",
                       date=dt.datetime(2026, 11, 24, 6, 31, tzinfo=dt.timezone.utc))


def test_headers_and_utf8_subject_on_the_wire():
    raw = _message().as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nSubject: =?utf-8?" in head  # RFC 2047, ASCII on the wire
    assert max(raw) < 128  # 7-bit clean: base64/QP bodies pass relays without 8BITMIME
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    assert parsed["From"] == "EstateDesk <noreply@estatedesk.local>"
    assert parsed["To"] == "zhang@example.com"
    assert parsed["Message-ID"] == "<abc.123@estatedesk.local>"
    assert parsed["X-EstateDesk-Reference"] == "TS20261124-7KQ2MX"
    assert parsed["Date"] == "Tue, 24 Nov 2026 06:31:00 +0000"


def test_multipart_alternative_with_text_then_html():
    parsed = email.message_from_bytes(_message().as_bytes(), policy=email.policy.default)
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.iter_parts()
    assert text.get_content_type() == "text/plain" and text.get_content_charset() == "utf-8"
    assert html.get_content_type() == "text/html"
    assert "您的投诉已受理 TS20261124-7KQ2MX" in text.get_content()
    assert "<b>TS20261124-7KQ2MX</b>" in html.get_content()
    assert parsed.get_body(("html",)).get_content() == html.get_content()


@pytest.mark.parametrize("exc, permanent", [
    (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 no such user")}), True),
    (smtplib.SMTPRecipientsRefused({"a@b.c": (450, b"4.2.0 mailbox busy")}), False),
    (smtplib.SMTPDataError(554, b"5.7.1 message rejected"), True),
    (smtplib.SMTPDataError(451, b"4.3.0 try later"), False),
    (smtplib.SMTPSenderRefused(550, b"5.7.1 sender not allowed", "noreply@estatedesk.local"), False),
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), False),
    (ConnectionRefusedError(111, "Connection refused"), False),
    (TimeoutError("timed out"), False),
    (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), False),
])
def test_classify(exc, permanent):
    failure = classify(exc)
    assert failure.permanent is permanent
    assert failure.reason


def test_recipient_refusal_reason_keeps_the_servers_words():
    failure = classify(smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 no such user")}))
    assert failure.reason == "550 5.1.1 no such user"
