"""Parsing mail into a complaint's parts: charsets, HTML-only bodies, attachments, auto-replies and bounces,
references and estate tags. Messages are built with the stdlib, as mail clients send them."""
from email.message import EmailMessage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.header import Header

import pytest

from intake.domain.mail import MailUnparseable, html_to_text, parse_mail


def mime_text(body: str, charset: str, subject: str, subtype: str = "plain", **headers) -> bytes:
    msg = MIMEText(body, subtype, charset)
    msg["Subject"] = Header(subject, charset).encode()
    msg["From"] = f"{Header('周女士', charset).encode()} <zhou@example.com>"
    msg["To"] = "complaints@demo"
    msg["Message-ID"] = "<m1@example.com>"
    for k, v in headers.items():
        msg[k.replace("_", "-")] = v
    return msg.as_bytes()


@pytest.mark.parametrize("charset", ["gbk", "gb2312", "utf-8", "gb18030"])
def test_chinese_subject_body_and_sender_in_each_charset(charset):
    mail = parse_mail(mime_text("3栋电梯困人，已经半小时了", charset, "[DEMO-OFFICE] 电梯故障"))
    assert mail.subject == "[DEMO-OFFICE] 电梯故障"
    assert mail.text == "3栋电梯困人，已经半小时了"
    assert (mail.from_name, mail.from_addr) == ("周女士", "zhou@example.com")
    assert mail.message_id == "<m1@example.com>" and mail.auto is None
    assert mail.estate_tag == "DEMO-OFFICE" and mail.references == []
    assert mail.description() == "电梯故障\n\n3栋电梯困人，已经半小时了"


def test_gbk_only_characters_in_a_mail_labelled_gb2312_still_decode():
    # mail clients label GBK text as gb2312; 镕 is in GBK but not GB2312
    raw = ("From: a@example.com\r\nSubject: x\r\nContent-Type: text/plain; charset=gb2312\r\n"
           "Content-Transfer-Encoding: 8bit\r\n\r\n").encode() + "朱镕基路漏水".encode("gbk")
    assert parse_mail(raw).text == "朱镕基路漏水"


def test_unknown_charset_is_decoded_with_replacement_and_noted():
    raw = (b"From: a@example.com\r\nSubject: =?x-unknown?B?5rWL6K+V?=\r\n"
           b"Content-Type: text/plain; charset=x-unknown\r\n\r\n\xe6\xbc\x8f\xe6\xb0\xb4 \xff leak\r\n")
    mail = parse_mail(raw)
    assert "漏水" in mail.text and "\ufffd" in mail.text and "leak" in mail.text
    assert any("unknown charset" in p for p in mail.decode_problems)


def test_html_only_mail_becomes_text():
    body = ("<html><head><style>p{color:red}</style></head><body><p>楼道灯&nbsp;坏了</p>"
            "<div>请尽快维修<br>谢谢</div><script>alert(1)</script></body></html>")
    mail = parse_mail(mime_text(body, "utf-8", "灯坏了", "html"))
    assert mail.text == "楼道灯\xa0坏了\n\n请尽快维修\n谢谢"
    assert "alert" not in mail.text and "color" not in mail.text


def test_text_part_wins_over_html_in_alternative():
    msg = MIMEMultipart("alternative")
    msg["From"], msg["Subject"] = "a@example.com", "x"
    msg.attach(MIMEText("纯文本", "plain", "utf-8"))
    msg.attach(MIMEText("<p>超文本</p>", "html", "utf-8"))
    assert parse_mail(msg.as_bytes()).text == "纯文本"


def test_attachments_are_kept_with_type_and_oversized_ones_listed():
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Message-ID"] = "Li <li@example.com>", "漏水照片", "<att@example.com>"
    msg.set_content("见附件")
    msg.add_attachment(b"\x89PNG fake image", maintype="image", subtype="png", filename="漏水.png")
    msg.add_attachment(b"x" * 2000, maintype="application", subtype="pdf", filename="big.pdf")
    mail = parse_mail(msg.as_bytes(), max_attachment=1000)
    assert [(a.filename, a.content_type, a.content) for a in mail.attachments] == [
        ("漏水.png", "image/png", b"\x89PNG fake image")]
    assert mail.skipped_attachments == [{"filename": "big.pdf", "content_type": "application/pdf", "size": 2000,
                                         "reason": "larger than 1000 bytes"}]
    assert mail.text == "见附件"


@pytest.mark.parametrize("headers, sender, subject, expected", [
    ({"Auto-Submitted": "auto-replied"}, "a@example.com", "Re: 投诉", "auto-submitted"),
    ({"Precedence": "bulk"}, "a@example.com", "news", "precedence"),
    ({"Precedence": "auto_reply"}, "a@example.com", "x", "precedence"),
    ({"Precedence": "list"}, "a@example.com", "x", "precedence"),
    ({"X-Autoreply": "yes"}, "a@example.com", "x", "x-autoreply"),
    ({}, "MAILER-DAEMON@mx.example.com", "Undelivered Mail Returned to Sender", "bounce sender"),
    ({}, "a@example.com", "自动回复: 投诉已收到", "auto-reply subject"),
    ({}, "a@example.com", "Out of Office: 休假中", "auto-reply subject"),
])
def test_auto_replies_and_bounces_are_detected(headers, sender, subject, expected):
    msg = EmailMessage()
    msg["From"], msg["Subject"] = sender, subject
    for k, v in headers.items():
        msg[k] = v
    msg.set_content("我正在休假")
    assert parse_mail(msg.as_bytes()).auto.startswith(expected)


def test_delivery_status_report_is_a_bounce_and_its_parts_are_not_attachments():
    raw = (b"From: postmaster@mx.example.com\r\nSubject: failure notice\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
           b"--b\r\nContent-Type: text/plain\r\n\r\nCould not deliver\r\n"
           b"--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx\r\n\r\n"
           b"Final-Recipient: rfc822; x@y.z\r\nAction: failed\r\nStatus: 5.1.1\r\n--b--\r\n")
    mail = parse_mail(raw)
    assert mail.auto == "delivery report: delivery-status" and mail.attachments == []


def test_a_person_writing_is_not_auto():
    msg = EmailMessage()
    msg["From"], msg["Subject"], msg["Auto-Submitted"] = "a@example.com", "Re: 回复", "no"
    msg.set_content("还没修好")
    assert parse_mail(msg.as_bytes()).auto is None


def test_reference_in_subject_is_found_and_cleaned_from_the_description():
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "回复：关于 ts20261124-7kq2mx 的投诉 TS20261124-ILOU00"
    msg.set_content("还是漏水")
    mail = parse_mail(msg.as_bytes())
    assert mail.references == ["TS20261124-7KQ2MX"]  # I, L, O, U are not Crockford base32
    assert mail.description().startswith("关于")


def test_no_message_id_gets_a_content_hash_id_so_copies_still_dedupe():
    raw = b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n"
    assert parse_mail(raw).message_id == parse_mail(raw).message_id
    assert parse_mail(raw).message_id.startswith("<sha256-")


def test_long_body_is_truncated_with_a_marker():
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", ""
    msg.set_content("漏" * 6000)
    text = parse_mail(msg.as_bytes()).description()
    assert len(text) == 5000 and text.endswith("全文见原始邮件）")


def test_mail_without_sender_address_is_unparseable():
    with pytest.raises(MailUnparseable):
        parse_mail(b"Subject: hi\r\n\r\nno sender\r\n")


def test_html_to_text_handles_entities_and_broken_markup():
    assert html_to_text("<p>A &amp; B<p>C <b>D") == "\nA & B\nC D"


@pytest.mark.parametrize("quote", ["> 原邮件内容\n> 旧内容", "-----Original Message-----\nFrom: x\n旧内容",
                                   "在 2026年11月24日 写道：\n> 旧内容", "On Tue, 24 Nov 2026 someone wrote:\n> 旧内容",
                                   "发件人: EstateDesk\n收件人: 周\n旧内容"])
def test_reply_text_is_the_new_text_above_the_quote(quote):
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "Re: TS20261124-7KQ2MX"
    msg.set_content(f"师傅来过了，还在滴水\n\n{quote}")
    assert parse_mail(msg.as_bytes()).reply_text() == "师傅来过了，还在滴水"


def test_reply_with_only_a_quote_falls_back_to_the_subject():
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "a@example.com", "Re: TS20261124-7KQ2MX 还没修"
    msg.set_content("> 旧内容")
    assert parse_mail(msg.as_bytes()).reply_text() == "还没修\n\n> 旧内容"


# --- hostile shapes (issue 9, S3): bounded, never a crash ------------------------------------------------------
def _nested(depth: int) -> bytes:
    out = b"From: a@example.com\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
    for i in range(depth):
        out += b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
    out += b"Content-Type: text/plain\r\n\r\nhello\r\n"
    for i in reversed(range(depth)):
        out += b"--b%d--\r\n" % i
    return out


def test_mime_nested_thousands_deep_is_unparseable_not_a_crash():
    assert parse_mail(_nested(5)).text == "hello"
    with pytest.raises(MailUnparseable, match="nested too deeply"):
        parse_mail(_nested(2000))


def test_a_missing_closing_boundary_and_broken_encodings_still_give_the_text():
    raw = (b"From: a@example.com\r\nSubject: =?x-unknown?Q?abc?= =?utf-8?B?5L2g5aW9?=\r\n"
           b"Content-Type: multipart/mixed; boundary=zz\r\n\r\n--zz\r\nContent-Type: text/plain; charset=utf-8\r\n"
           b"Content-Transfer-Encoding: quoted-printable\r\n\r\n=E7=94=B5=E6=A2=AF=ZZ broken\r\n--zz\r\n"
           b"Content-Type: image/png\r\nContent-Disposition: attachment; filename=\"../../etc/passwd\"\r\n"
           b"Content-Transfer-Encoding: base64\r\n\r\n!!!not base64###\r\n")
    mail = parse_mail(raw)
    assert mail.subject == "abc你好" and mail.text.startswith("电梯")
    assert [a.filename for a in mail.attachments] == [".._.._etc_passwd"]  # never a path


def test_nul_and_control_characters_are_dropped_and_the_subject_is_bounded():
    raw = b"From: a@example.com\r\nSubject: a\x00b\x07c" + b"x" * 20000 + b"\r\n\r\nbo\x00dy\tok\r\nline"
    mail = parse_mail(raw)
    assert mail.subject.startswith("abc") and len(mail.subject) == 500 and "\x00" not in mail.text
    assert mail.text == "body\tok\nline" and any("cut to 500" in p for p in mail.decode_problems)


def test_thousands_of_attachments_keep_twenty_and_list_a_bounded_rest():
    part = b"--zz\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=f.bin\r\n\r\nab\r\n"
    raw = (b"From: a@example.com\r\nSubject: x\r\nContent-Type: multipart/mixed; boundary=zz\r\n\r\n"
           + part * 300 + b"--zz--\r\n")
    mail = parse_mail(raw)
    assert len(mail.attachments) == 20 and len(mail.skipped_attachments) == 50
    assert mail.skipped_attachments[0]["reason"] == "more than 20 files"
