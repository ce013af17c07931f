import email
import email.policy
import uuid

import pytest
from nameko.amqp.publish import get_connection
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.envelope import Envelope
from estatedesk_common.events import dead_letter_queue
from notify.service import NotifyService
from notify_helpers import capture_events, dispatch, drain, rows

pytestmark = pytest.mark.integration


def _rows(engine):
    return rows(engine, "email")


def _parse(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_case_opened_sends_one_acknowledgement_even_when_redelivered(
        container_factory, notify_config, smtp_sink, engine, make_case_opened, wait_until):
    smtp_sink.start()
    events = capture_events(notify_config)
    container = container_factory(NotifyService, notify_config)
    container.start()
    tenant = str(uuid.uuid4())
    payload = make_case_opened()
    envelope = Envelope(event_type="case_opened", tenant_id=tenant, payload=payload)

    dispatch(container, notify_config, envelope.to_dict())
    [received] = smtp_sink.wait_for(1)
    dispatch(container, notify_config, envelope.to_dict())  # redelivery: the inbox says "done"
    wait_until(lambda: [b for b in drain(notify_config, events) if b["event_type"] == "notification_sent"])

    assert len(smtp_sink.received) == 1
    assert received.mail_from == "noreply@estatedesk.local"
    assert received.rcpt_tos == ["zhang@example.com"]
    mail = _parse(received)
    assert payload["reference"] in mail["Subject"] and "您的投诉已受理" in mail["Subject"]
    assert mail["X-EstateDesk-Reference"] == payload["reference"]
    assert payload["reference"] in mail.get_body(("plain",)).get_content()
    assert "2026-11-24 15:30" in mail.get_body(("html",)).get_content()
    [row] = _rows(engine)
    assert (row.status, row.tenant_id, row.smtp_message_id) == ("sent", tenant, mail["Message-ID"])

    with ServiceRpcProxy("notify", notify_config, context_data={"tenant_id": tenant}) as notify:
        [entry] = notify.get_timeline(payload["complaint_id"])
        assert entry["text"] == "受理回执邮件已发送至 z***@example.com"
        assert notify.get_deliveries(payload["complaint_id"])[0]["status"] == "sent"
        assert notify.health() == {"status": "ok", "service": "notify"}
    with ServiceRpcProxy("notify", notify_config, context_data={"tenant_id": str(uuid.uuid4())}) as other:
        assert other.get_timeline(payload["complaint_id"]) == []
    with ServiceRpcProxy("notify", notify_config) as anonymous:
        with pytest.raises(RemoteError) as err:
            anonymous.get_timeline(payload["complaint_id"])
        assert err.value.exc_type == "TenantRequired"
        assert anonymous.health()["status"] == "ok"


def test_mail_waits_while_smtp_is_down_then_goes_out(container_factory, notify_config, smtp_sink, engine,
                                                     make_case_opened, wait_until):
    container = container_factory(NotifyService, notify_config)  # nothing listens on the SMTP port yet
    container.start()
    payload = make_case_opened()
    dispatch(container, notify_config, Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()),
                                                 payload=payload).to_dict())
    [row] = wait_until(lambda: [r for r in _rows(engine) if r.attempts >= 1])
    assert row.status == "queued" and "Connection" in row.last_error

    smtp_sink.start()
    [received] = smtp_sink.wait_for(1, timeout=30)
    assert payload["reference"] in _parse(received)["Subject"]
    [row] = wait_until(lambda: [r for r in _rows(engine) if r.status == "sent"])
    assert row.attempts >= 2


def test_a_body_that_is_not_an_envelope_is_dead_lettered(container_factory, notify_config, engine, wait_until):
    container = container_factory(NotifyService, notify_config)
    container.start()
    event_dispatcher(notify_config)("workflow", "case_opened", {"case_id": "not an envelope"})

    def dead_letter():
        with get_connection(notify_config["AMQP_URI"]) as conn:
            message = dead_letter_queue("notify")(conn.default_channel).get(no_ack=True, accept=["json"])
            return message and (message.headers, message.decode())

    headers, body = wait_until(dead_letter)
    assert body == {"case_id": "not an envelope"}
    assert headers["x-estatedesk-reason"].startswith("EnvelopeError: missing fields")
    assert headers["x-original-exchange"] == "workflow.events"
    assert _rows(engine) == []
