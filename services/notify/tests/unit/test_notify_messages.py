import datetime as dt

import pytest

from notify import templates
from notify.domain.messages import (InvalidPayload, mask_email, mask_emails_in, new_acknowledgement, pick_locale)
from notify.domain.timeline import delivery_view, timeline_entry

TENANT = "3f2b7c1e-0d0a-4d5e-9a57-1b2c3d4e5f60"
NOW = dt.datetime(2026, 11, 24, 6, 31, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize("address, masked", [
    ("zhang@example.com", "z***@example.com"), ("a@b.cn", "a***@b.cn"), ("", "***"), ("no-at-sign", "***"),
])
def test_mask_email(address, masked):
    assert mask_email(address) == masked


def test_mask_emails_inside_text():
    text = "550 5.1.1 <zhang.san@example.com>: Recipient address rejected; also li@corp.cn"
    assert mask_emails_in(text) == "550 5.1.1 <z***@example.com>: Recipient address rejected; also l***@corp.cn"


def test_pick_locale():
    assert pick_locale(None) == "zh_CN"
    assert pick_locale("en-GB") == "en"
    assert pick_locale("zh-CN") == "zh_CN"
    assert pick_locale("fr") == "zh_CN"


def test_acknowledgement_is_queued_with_rendered_content_and_message_id(make_case_opened):
    payload = make_case_opened()
    m = new_acknowledgement(TENANT, payload, NOW, templates.render)
    assert (m.status, m.kind, m.channel, m.recipient, m.locale) == ("queued", "acknowledgement", "email",
                                                                   "zhang@example.com", "zh_CN")
    assert (m.complaint_id, m.case_id, m.reference) == (payload["complaint_id"], payload["case_id"],
                                                        payload["reference"])
    assert payload["reference"] in m.subject and payload["reference"] in m.body_html
    assert m.smtp_message_id.startswith("<") and m.smtp_message_id.endswith("@estatedesk.local>")


def test_no_email_address_is_skipped_with_reason(make_case_opened):
    m = new_acknowledgement(TENANT, make_case_opened(complainant={"email": ""}), NOW, templates.render)
    assert (m.status, m.last_error, m.recipient, m.smtp_message_id) == ("skipped", "no e-mail address", "", None)


@pytest.mark.parametrize("override", [
    {"reference": ""}, {"complaint_id": None}, {"estate": "DEMO-RES"},
    {"deadlines": [{"stage": "first_contact", "due_at": "2026-11-24T15:30:00"}]},  # no zone
])
def test_unusable_payload_is_refused(make_case_opened, override):
    payload = make_case_opened()
    payload.update(override)
    with pytest.raises(InvalidPayload):
        new_acknowledgement(TENANT, payload, NOW, templates.render)


def _row(**kw):
    row = {"id": "m1", "kind": "acknowledgement", "channel": "email", "recipient": "zhang@example.com",
           "status": "queued", "attempts": 0, "created_at": NOW, "updated_at": NOW, "sent_at": None,
           "last_error": None}
    return row | kw


def test_timeline_texts():
    later = NOW + dt.timedelta(minutes=1)
    assert timeline_entry(_row()) == {"at": NOW.isoformat(), "kind": "notification_queued", "actor": "notify",
                                      "text": "受理回执邮件排队中"}
    sent = timeline_entry(_row(status="sent", sent_at=later, attempts=1))
    assert (sent["at"], sent["text"]) == (later.isoformat(), "受理回执邮件已发送至 z***@example.com")
    skipped = timeline_entry(_row(status="skipped", recipient="", last_error="no e-mail address"))
    assert skipped["text"] == "受理回执未发送：无电子邮箱"
    failed = timeline_entry(_row(status="failed", attempts=1, updated_at=later,
                                 last_error="550 <zhang@example.com> no such user"))
    assert failed == {"at": later.isoformat(), "kind": "notification_failed", "actor": "notify",
                      "text": "受理回执邮件发送失败：550 <z***@example.com> no such user"}
    assert timeline_entry(_row(status="sent", sent_at=later), "en")["text"] == \
        "Acknowledgement e-mail sent to z***@example.com"


def test_delivery_view_masks_recipient_and_errors():
    view = delivery_view(_row(status="queued", attempts=2, last_error="451 <zhang@example.com> try later"))
    assert view["recipient"] == "z***@example.com"
    assert view["last_error"] == "451 <z***@example.com> try later"
    assert view["sent_at"] is None and view["created_at"] == NOW.isoformat()
