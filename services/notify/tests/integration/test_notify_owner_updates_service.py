"""Owner updates, staff alerts and SMS opt-outs through a real nameko container, RabbitMQ, an SMTP server and
a REAL Kannel (bearerbox + smsbox + fakesmsc); temp SQLite or PostgreSQL (TEST_DATABASE_URL)."""
import email
import email.policy
import random
import uuid

import pytest
import requests
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope
from notify.service import NotifyService
from notify_helpers import rows
from notify_kannel import sms_config

pytestmark = pytest.mark.integration


def _send(container, config, entrypoint, event_type, tenant, payload):
    with entrypoint_waiter(container, entrypoint, timeout=20):
        event_dispatcher(config)("workflow", event_type, Envelope(event_type=event_type, tenant_id=tenant,
                                                                    payload=payload).to_dict())


def _mail(envelope):
    return email.message_from_bytes(envelope.original_content, policy=email.policy.default)


def test_resolution_reaches_the_owner_by_mail_and_sms_and_td_stops_the_next_sms(
        container_factory, notify_config, kannel, engine, make_case_opened, wait_until, smtp_sink):
    smtp_sink.start()
    config = sms_config(notify_config, kannel)
    container = container_factory(NotifyService, config)
    container.start()
    tenant, phone = str(uuid.uuid4()), "137" + "".join(random.choices("0123456789", k=8))
    opened = make_case_opened(complainant={"phone": phone})
    opened["case_id"] = opened["complaint_id"]
    _send(container, config, "remember_owner", "case_opened", tenant, opened)
    case = {k: opened[k] for k in ("case_id", "complaint_id", "reference")} | {"estate_code": "DEMO-RES"}
    _send(container, config, "tell_owner_resolved", "case_resolved", tenant, case | {"remedy": "更换了门机电机"})

    mine = lambda: [m.text for m in kannel.received() if m.receiver == f"+86{phone}"]  # noqa: E731
    texts = wait_until(lambda: len(mine()) == 2 and mine())  # the acknowledgement, then the resolution
    assert texts[1] == f"【锦绣花园】您的投诉 {opened['reference']} 已处理完毕，我们将回访您。 回复TD退订"
    mail = _mail(wait_until(lambda: [e for e in smtp_sink.received if "已处理完毕" in _mail(e)["Subject"]])[0])
    assert mail["To"] == "zhang@example.com" and "更换了门机电机" in mail.get_body(("plain",)).get_content()

    reply = requests.get(f"http://{config['WEB_SERVER_ADDRESS']}/kannel/mo",  # Kannel's sms-service get-url
                         params={"from": f"+86{phone}", "to": "10690000", "text": "TD", "ts": "1795527233", "k": ""},
                         timeout=10)
    assert (reply.status_code, reply.text) == (200, "")
    _send(container, config, "tell_owner_reopened", "case_reopened", tenant, case | {"words": "门还是关不上"})
    reopened = wait_until(lambda: [r for r in rows(engine) if r.kind == "owner_reopened" and r.channel == "sms"])
    assert reopened[0].status == "skipped"
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant}) as notify:
        texts = wait_until(lambda: [e["text"] for e in notify.get_timeline(opened["complaint_id"])
                                    if e["text"].startswith("重新处理通知邮件已发送")])
        assert texts == ["重新处理通知邮件已发送至 z***@example.com"]
        assert "重新处理通知短信未发送：业主已回复退订短信" in [e["text"] for e in notify.get_timeline(
            opened["complaint_id"])]
    assert len(mine()) == 2  # the reopening went by e-mail only


def test_staff_alerts_go_to_the_contacts_set_through_rpc(container_factory, notify_config, engine, smtp_sink,
                                                         wait_until):
    smtp_sink.start()
    container = container_factory(NotifyService, notify_config)
    container.start()
    tenant = str(uuid.uuid4())
    with ServiceRpcProxy("notify", notify_config, context_data={"tenant_id": tenant,
                                                                "roles": [["group_admin", None]]}) as notify:
        notify.set_staff_contacts([{"role": "site_manager", "estate": "DEMO-RES", "name": "项目经理 王",
                                    "email": "wang@example.com"}])
        assert [c["email"] for c in notify.list_staff_contacts()] == ["wang@example.com"]
    complaint_id = str(uuid.uuid4())
    _send(container, notify_config, "alert_staff_escalation", "case_escalated", tenant, {
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-ESCAL8",
        "estate_code": "DEMO-RES", "level": 2, "role": "site_manager", "reason": "level 1 did not act"})
    [received] = smtp_sink.wait_for(1)
    assert received.rcpt_tos == ["wang@example.com"]
    assert _mail(received)["Subject"] == "【DEMO-RES】投诉已升级至项目经理：TS20261124-ESCAL8"
    wait_until(lambda: [r for r in rows(engine, "email") if r.status == "sent"])
