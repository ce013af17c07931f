"""The acknowledgement SMS through a REAL Kannel (bearerbox + smsbox + fakesmsc, started by scripts/kannel.sh)
and Kannel's delivery reports to notify's HTTP endpoint."""
import datetime as dt
import random
import uuid
from zoneinfo import ZoneInfo

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.envelope import Envelope
from notify.service import NotifyService
from notify_helpers import capture_events, dispatch, drain, rows
from notify_kannel import sms_config

pytestmark = pytest.mark.integration


def _phone() -> str:
    """A mobile number of this test only (the fake SMSC's log is shared by the whole run)."""
    return "139" + "".join(random.choices("0123456789", k=8))


def _open_case(container, config, make_case_opened, phone):
    tenant = str(uuid.uuid4())
    payload = make_case_opened(complainant={"phone": phone})
    dispatch(container, config, Envelope(event_type="case_opened", tenant_id=tenant, payload=payload).to_dict())
    return tenant, payload


def _dlr_endpoint(config) -> str:
    return f"http://{config['WEB_SERVER_ADDRESS']}/kannel/dlr"


def test_case_opened_sms_reaches_the_fake_smsc_in_chinese_and_kannels_report_marks_it_delivered(
        container_factory, notify_config, kannel, engine, make_case_opened, wait_until, smtp_sink):
    smtp_sink.start()
    config = sms_config(notify_config, kannel)
    events = capture_events(config)
    container = container_factory(NotifyService, config)
    container.start()
    phone = _phone()
    tenant, payload = _open_case(container, config, make_case_opened, phone)

    [sms] = kannel.wait_for(f"+86{phone}")
    assert sms.coding == "ucs-2"  # coding=2: UCS-2 on the wire
    # the deadline (24 Nov 15:30 in the fixture) carries its date unless it falls on today
    today = dt.datetime.now(ZoneInfo("Asia/Shanghai")).date() == dt.date(2026, 11, 24)
    when = "15:30" if today else "11月24日 15:30"
    assert sms.text == f"【锦绣花园】您的投诉已受理，编号 {payload['reference']}，我们将于 {when} 前联系您。"
    [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "delivered"])  # fakesmsc's DLR 1
    assert (row.dlr_type, row.attempts, row.recipient) == (1, 1, phone)
    kinds = wait_until(lambda: [b["event_type"] for b in drain(config, events)
                                if b["payload"]["channel"] == "sms"] or None)
    assert "notification_sent" in kinds
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant}) as notify:
        texts = [e["text"] for e in notify.get_timeline(payload["complaint_id"])]
        assert f"受理短信已送达 139****{phone[-4:]}" in texts
        assert "受理回执邮件已发送至 z***@example.com" in wait_until(
            lambda: [e["text"] for e in notify.get_timeline(payload["complaint_id"])
                     if e["kind"] == "notification_sent"])


def test_a_failure_report_in_kannels_format_fails_the_sms_and_forged_or_malformed_ones_are_refused(
        container_factory, notify_config, kannel, engine, make_case_opened, wait_until):
    # dlr-mask 8|16: the fake SMSC confirms the submit only; the handset's verdict is sent by hand below, the
    # way Kannel calls the dlr-url (type=%d, reply=%A, to=%p, ts=%T)
    config = sms_config(notify_config, kannel, KANNEL_DLR_MASK=24)
    container = container_factory(NotifyService, config)
    container.start()
    phone = _phone()
    _open_case(container, config, make_case_opened, phone)
    kannel.wait_for(f"+86{phone}")
    [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "sent" and r.dlr_type == 8])
    good = {"t": row.tenant_id, "m": row.id, "k": row.dlr_token, "type": "2", "reply": "NACK/0x0b/Absent",
            "to": f"+86{phone}", "ts": "1795527233"}

    assert requests.get(_dlr_endpoint(config), params=good | {"k": "0" * 32}, timeout=10).status_code == 403
    assert requests.get(_dlr_endpoint(config), params=good | {"m": str(uuid.uuid4())}, timeout=10).status_code == 403
    for bad in ({"type": "%d"}, {"type": "99"}, {"m": "x"}):
        response = requests.get(_dlr_endpoint(config), params=good | bad, timeout=10)
        assert response.status_code == 400 and "malformed" in response.text
    assert rows(engine, "sms")[0].status == "sent"

    response = requests.get(_dlr_endpoint(config), params=good, timeout=10)
    assert (response.status_code, response.text) == (200, "failed\n")
    [row] = rows(engine, "sms")
    assert (row.status, row.last_error) == ("failed", "DLR 2: not delivered to the phone (NACK/0x0b/Absent)")


def test_sms_waits_while_kannel_is_down_then_goes_out(container_factory, notify_config, spare_kannel, engine,
                                                      make_case_opened, wait_until):
    config = sms_config(notify_config, spare_kannel)  # nothing listens on its sendsms port yet
    container = container_factory(NotifyService, config)
    container.start()
    phone = _phone()
    _open_case(container, config, make_case_opened, phone)
    [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.attempts >= 1])
    assert row.status == "queued" and "Kannel unreachable" in row.last_error

    spare_kannel.start()
    [sms] = spare_kannel.wait_for(f"+86{phone}", timeout=40)
    assert "您的投诉已受理" in sms.text
    [row] = wait_until(lambda: [r for r in rows(engine, "sms") if r.status == "delivered"], timeout=30)
    assert row.attempts >= 2


def test_an_invalid_number_is_failed_at_once_with_the_reason(container_factory, notify_config, kannel, engine,
                                                             make_case_opened, wait_until):
    config = sms_config(notify_config, kannel)
    events = capture_events(config)
    container = container_factory(NotifyService, config)
    container.start()
    tenant, payload = _open_case(container, config, make_case_opened, "010-8888 6666")
    [row] = rows(engine, "sms")
    assert (row.status, row.last_error, row.attempts) == ("failed", "not a mainland mobile number: 010****6666", 0)
    [failed] = wait_until(lambda: [b for b in drain(config, events) if b["event_type"] == "notification_failed"])
    assert failed["payload"]["channel"] == "sms" and failed["payload"]["permanent"] is True
    assert not [m for m in kannel.received() if m.receiver.endswith("88886666")]
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant}) as notify:
        [entry] = [e for e in notify.get_timeline(payload["complaint_id"]) if e["kind"] == "notification_failed"]
        assert entry["text"] == "受理短信发送失败（010****6666）：not a mainland mobile number: 010****6666"
