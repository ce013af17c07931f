"""What notify sends is safe whatever the complainant typed: escaped HTML, no template escapes, no header
injection (issue 9, Security 3: template sandbox escapes; XSS in e-mail; CR/LF in names and addresses)."""
from __future__ import annotations

import email
import email.policy
import smtplib

import pytest
from jinja2 import DictLoader
from jinja2.exceptions import SecurityError

from notify.mail import EmailChannel
from notify.smtp import build_email
from notify.templates import environment, render

XSS = '<script>alert(document.cookie)</script><img src=x onerror="alert(1)">'


def _context(**over):
    ctx = {"reference": "TS20261124-7KQ2MX", "estate_name": "锦绣花园", "complainant_name": "周女士", "unit": "1栋101",
           "description": "电梯困人", "first_contact_due": "2026-11-24 15:30", "timezone": "Asia/Shanghai",
           "first_contact_time": "15:30", "first_contact_month": None, "first_contact_day": None}
    ctx.update(over)
    return ctx


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_complaint_text_is_escaped_in_the_html_mail(locale):
    rendered = render("acknowledgement", locale, _context(description=XSS, complainant_name=XSS, unit=XSS,
                                                          estate_name=XSS))
    assert "<script>" not in rendered.html and "<img" not in rendered.html
    assert "&lt;script&gt;" in rendered.html
    assert XSS in rendered.text  # plain text is not HTML: shown as typed


SANDBOX_ESCAPES = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ ''.__class__.__base__.__subclasses__() }}",
    "{{ reference.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ self._TemplateReference__context }}",
    "{{ (1).__class__.__subclasses__() }}",
    "{{ ''.format.__globals__ }}",
    "{{ reference.format_map.__self__.__class__.__subclasses__() }}",
]


@pytest.mark.parametrize("source", SANDBOX_ESCAPES)
def test_template_sandbox_escapes_are_refused(source):
    env = environment(DictLoader({"t.txt": source}))
    with pytest.raises(SecurityError):
        env.get_template("t.txt").render(_context())


def test_str_format_cannot_reach_attributes_in_the_sandbox():
    env = environment(DictLoader({"t.txt": "{{ '{0.__class__.__mro__}'.format(reference) }}"}))
    with pytest.raises(SecurityError):
        env.get_template("t.txt").render(_context())


def test_unknown_variables_raise_instead_of_rendering_empty():
    from jinja2.exceptions import UndefinedError

    env = environment(DictLoader({"t.txt": "{{ secret_key }}"}))
    with pytest.raises(UndefinedError):
        env.get_template("t.txt").render(_context())


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_cr_lf_in_names_cannot_inject_headers_through_the_subject(locale):
    evil = "锦绣花园\r\nBcc: victim@example.com\r\nX-Evil: 1"
    rendered = render("acknowledgement", locale, _context(estate_name=evil, complainant_name=evil))
    assert "\r" not in rendered.subject and "\n" not in rendered.subject
    msg = build_email(sender="EstateDesk <noreply@estatedesk.local>", recipient="owner@example.com",
                      subject=rendered.subject, body_text=rendered.text, body_html=rendered.html,
                      message_id="<m1@estatedesk.local>", reference="TS20261124-7KQ2MX")
    assert msg["Bcc"] is None and msg["X-Evil"] is None
    parsed = email.message_from_bytes(msg.as_bytes(), policy=email.policy.default)  # what a relay would see
    assert {k.lower() for k in parsed.keys()} == {"from", "to", "subject", "date", "message-id",
                                                   "x-estatedesk-reference", "mime-version", "content-type"}
    assert "Bcc: victim" in str(parsed["Subject"])  # kept as text inside the one Subject line


@pytest.mark.parametrize("recipient", [
    "owner@example.com\r\nBcc: victim@example.com",
    "owner@example.com\nBcc: victim@example.com",
    "owner@example.com\rX-Evil: 1",
])
def test_cr_lf_in_the_recipient_is_refused_when_the_mail_is_built(recipient):
    with pytest.raises(ValueError):
        build_email(sender="noreply@estatedesk.local", recipient=recipient, subject="s", body_text="t",
                    body_html="<p>t</p>", message_id="<m1@estatedesk.local>", reference="R")


def test_an_injected_recipient_is_a_permanent_failure_and_nothing_is_sent():
    sent = []

    class Transport:
        def open(self):
            return object()

        def send(self, smtp, msg):
            sent.append(msg)

        def close(self, smtp):
            pass

    row = {"recipient": "owner@example.com\r\nBcc: victim@example.com", "subject": "s", "body_text": "t",
           "body_html": "<p>t</p>", "smtp_message_id": "<m1@estatedesk.local>", "reference": "R"}
    [(got, outcome)] = EmailChannel(Transport(), "noreply@estatedesk.local").send_all([row])
    assert got is row and outcome.permanent and not sent


def test_smtp_refusal_is_classified_not_raised():
    from notify.smtp import classify

    failure = classify(smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"no such user")}))
    assert failure.permanent
