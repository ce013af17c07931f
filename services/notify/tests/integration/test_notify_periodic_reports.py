"""reporting's report_ready becomes one queued e-mail per recipient, once, delivered by the real mail loop."""
import email
import email.policy
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope
from notify.service import NotifyService
from notify_helpers import rows

pytestmark = pytest.mark.integration


def test_a_report_is_mailed_to_each_recipient_once(container_factory, notify_config, smtp_sink, engine, wait_until):
    smtp_sink.start()
    container = container_factory(NotifyService, notify_config)
    container.start()
    payload = {"run_id": str(uuid.uuid4()), "subscription_id": str(uuid.uuid4()), "kind": "monthly", "estate": None,
               "from": "2026-11-01", "to": "2026-11-30", "recipients": ["hq@demo.example", "ceo@demo.example"],
               "locale": "zh_CN", "subject": "集团月报（2026-11-01 至 2026-11-30）",
               "html": "<html><body><h1>集团月报</h1></body></html>", "text": "集团月报\n受理投诉: 12"}
    envelope = Envelope(event_type="report_ready", tenant_id=str(uuid.uuid4()), payload=payload)
    for _ in range(2):  # redelivered: the inbox says done
        with entrypoint_waiter(container, "on_report_ready", timeout=20):
            event_dispatcher(notify_config)("reporting", "report_ready", envelope.to_dict())
    received = smtp_sink.wait_for(2)
    assert sorted(r.rcpt_tos[0] for r in received) == ["ceo@demo.example", "hq@demo.example"]
    mail = email.message_from_bytes(received[0].original_content, policy=email.policy.default)
    assert mail["Subject"] == "集团月报（2026-11-01 至 2026-11-30）"
    assert "<h1>集团月报</h1>" in mail.get_body(("html",)).get_content()
    sent = wait_until(lambda: [r for r in rows(engine, "email") if r.status == "sent"] or None)
    assert {r.kind for r in sent} == {"periodic_report"} and len(rows(engine, "email")) == 2
