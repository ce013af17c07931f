"""WeChat customer-service replies over real HTTP against the API stand-in (scripts/wechat_api_stub.py, in a
thread on a free port) and a real database (SQLite, or Postgres via TEST_DATABASE_URL): the token fetched with
the app's secret and refreshed after WeChat revokes it, the text recorded as WeChat would receive it, 45015
failing the row at once with the SMS fallback queued in the same transaction, bad credentials retried."""
import datetime as dt
import glob
import importlib.util
import json
import os
import uuid

import pytest
import requests
from nameko.testing.utils import find_free_port
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork
from notify import delivery, handlers
from notify import wechat as channel
from notify.dependencies import SmsPolicy, WeChatPolicy
from notify.domain.quiet_hours import QuietHours
from notify.sms import PermanentFailure, TemporaryFailure
from notify.tables import messages, reliability

pytestmark = pytest.mark.integration

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
APP_ID, SECRET = "wx0123456789abcdef", "demo-wechat-app-secret"
OWNER, EXPIRED = "oDemoOwner0000000000000001", "oExpiredWindow000000000001"


def _stub_module():
    spec = importlib.util.spec_from_file_location("wechat_api_stub", os.path.join(ROOT, "scripts",
                                                                                  "wechat_api_stub.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def stub(tmp_path):
    port = find_free_port()
    server = _stub_module().serve("127.0.0.1", port, tmp_path / "wechat")
    server.base_url = f"http://127.0.0.1:{port}/"
    server.folder = tmp_path / "wechat"
    yield server
    server.shutdown()
    server.server_close()


def received(stub) -> list:
    found = []
    for path in sorted(glob.glob(str(stub.folder / "*.json"))):
        with open(path, encoding="utf-8") as f:
            found.append(json.load(f))
    return found


def credentials(secret=SECRET):
    return lambda tenant_id, app_id: {"app_id": app_id, "app_secret": secret}


def test_a_text_reaches_the_api_and_a_revoked_token_is_refreshed(stub):
    sender = channel.WeChatSender(credentials(), stub.base_url, timeout=5)
    sender.send_text("t1", APP_ID, OWNER, "【锦绣花园】您的投诉已受理。\n受理编号：TS20261124-7KQ2MX")
    [first] = received(stub)
    assert first == {"appid": APP_ID, "body": {"touser": OWNER, "msgtype": "text", "text": {
        "content": "【锦绣花园】您的投诉已受理。\n受理编号：TS20261124-7KQ2MX"}}}
    token = sender._clients[("t1", APP_ID)].access_token  # cached: no new fetch for the next message
    sender.send_text("t1", APP_ID, OWNER, "第二条")
    assert sender._clients[("t1", APP_ID)].access_token == token
    requests.post(stub.base_url + "stub/revoke-tokens", timeout=5)  # WeChat answers 40001 from now on
    sender.send_text("t1", APP_ID, OWNER, "第三条")
    assert [m["body"]["text"]["content"] for m in received(stub)][1:] == ["第二条", "第三条"]
    assert sender._clients[("t1", APP_ID)].access_token != token


def test_45015_is_permanent_and_a_wrong_secret_is_temporary(stub):
    sender = channel.WeChatSender(credentials(), stub.base_url, timeout=5)
    with pytest.raises(PermanentFailure, match="48-hour"):
        sender.send_text("t1", APP_ID, EXPIRED, "您好")
    wrong = channel.WeChatSender(credentials("not-the-secret"), stub.base_url, timeout=5)
    with pytest.raises(TemporaryFailure, match="40125"):
        wrong.send_text("t1", APP_ID, OWNER, "您好")
    down = channel.WeChatSender(credentials(), f"http://127.0.0.1:{find_free_port()}/", timeout=2)
    with pytest.raises(TemporaryFailure) as err:
        down.send_text("t1", APP_ID, OWNER, "您好")
    assert err.value.unreachable
    assert received(stub) == []


class Clock:
    def __init__(self):
        self.at = dt.datetime.now(dt.timezone.utc)

    def now(self):
        return self.at


def _opened(openid, tenant):
    received_at = dt.datetime.now(dt.timezone.utc)
    return Envelope(event_type="case_opened", tenant_id=tenant, payload={
        "case_id": str(uuid.uuid4()), "complaint_id": str(uuid.uuid4()),
        "reference": f"TS20261206-{uuid.uuid4().hex[:6].upper()}",
        "estate": {"code": "DEMO-RES", "name": "锦绣花园", "timezone": "Asia/Shanghai"}, "channel": "wechat",
        "description": "电梯坏了", "complainant": {"name": "", "phone": "13800138000", "email": "",
                                                 "wechat": {"app_id": APP_ID, "openid": openid}},
        "severity": "normal", "received_at": received_at.isoformat(),
        "deadlines": [{"stage": "first_contact", "due_at": (received_at + dt.timedelta(hours=1)).isoformat()}]})


def test_the_delivery_loop_sends_acknowledgements_and_falls_back_to_sms(stub, engine):
    clock, tenant = Clock(), str(uuid.uuid4())
    new_uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    ok, late = _opened(OWNER, tenant), _opened(EXPIRED, tenant)
    for envelope in (ok, late):
        assert handlers.on_case_opened(envelope, new_uow(), sms=SmsPolicy(True, QuietHours()),
                                       wechat=WeChatPolicy(True)) == {"wechat"}
    wechat = channel.WeChatChannel(channel.WeChatSender(credentials(), stub.base_url, timeout=5))
    assert delivery.deliver_once(engine, new_uow, wechat, clock) == {"sent": 1, "failed": 1}
    [message] = received(stub)
    assert message["body"]["touser"] == OWNER and ok.payload["reference"] in message["body"]["text"]["content"]
    with engine.connect() as conn:
        found = conn.execute(select(messages).where(messages.c.tenant_id == tenant)).mappings().all()
    by = {(r["complaint_id"], r["channel"]): r for r in found}
    assert by[(ok.payload["complaint_id"], "wechat")]["status"] == "sent"
    assert (ok.payload["complaint_id"], "sms") not in by
    failed = by[(late.payload["complaint_id"], "wechat")]
    assert failed["status"] == "failed" and "45015" in failed["last_error"]
    sms = by[(late.payload["complaint_id"], "sms")]
    assert sms["status"] == "queued" and late.payload["reference"] in sms["body_text"]


# --- template messages (模板消息) outside the 48-hour window ---------------------------------------------------

UNSUBSCRIBED = "oUnsubscribed0000000000001"  # the stand-in: 45015 for a text, 43004 for a template
TEMPLATES = {"acknowledgement": "demoTplAcknowledgement00000000000000000001",
             "progress": "demoTplProgress000000000000000000000000001"}


def with_templates(templates=TEMPLATES):
    return lambda tenant_id, app_id: {"app_id": app_id, "app_secret": SECRET, "templates": dict(templates)}


def test_the_template_endpoint_validates_like_wechat(stub):
    sender = channel.WeChatSender(with_templates(TEMPLATES | {"resolved": "tplUnknownToWeChat"}), stub.base_url,
                                  timeout=5)
    data = {"first": {"value": "您好，您的投诉已受理。"}, "keyword1": {"value": "TS20261206-ABCDEF"}}
    msgid = sender.send_template("t1", APP_ID, EXPIRED, "acknowledgement", data, "http://gw.example/t/t1/status")
    assert msgid and int(msgid) > 0
    [got] = received(stub)
    assert got == {"appid": APP_ID, "body": {"touser": EXPIRED, "template_id": TEMPLATES["acknowledgement"],
                                             "url": "http://gw.example/t/t1/status", "data": data}}
    with pytest.raises(PermanentFailure, match="unfollowed"):
        sender.send_template("t1", APP_ID, UNSUBSCRIBED, "acknowledgement", data)
    with pytest.raises(PermanentFailure, match="template id tplUnknownToWeChat for resolved .40037."):
        sender.send_template("t1", APP_ID, OWNER, "resolved", data)
    requests.post(stub.base_url + "stub/revoke-tokens", timeout=5)  # 40001: a new token, the template once
    sender.send_template("t1", APP_ID, OWNER, "progress", data)
    assert [m["body"]["touser"] for m in received(stub)] == [EXPIRED, OWNER]
    bad = requests.post(stub.base_url + "cgi-bin/message/template/send",
                        params={"access_token": sender._clients[("t1", APP_ID)].access_token},
                        json={"touser": OWNER, "template_id": TEMPLATES["progress"], "data": {"first": "x"}},
                        timeout=5).json()
    assert bad["errcode"] == 47001


def test_outside_the_window_the_delivery_loop_sends_the_template_then_the_sms(stub, engine):
    clock, tenant = Clock(), str(uuid.uuid4())
    new_uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    policy = WeChatPolicy(True, "http://gw.example/t/{tenant}/status")
    late, gone = _opened(EXPIRED, tenant), _opened(UNSUBSCRIBED, tenant)
    for envelope in (late, gone):
        handlers.on_case_opened(envelope, new_uow(), sms=SmsPolicy(True, QuietHours()), wechat=policy)
    wechat = channel.WeChatChannel(channel.WeChatSender(with_templates(), stub.base_url, timeout=5))
    assert delivery.deliver_once(engine, new_uow, wechat, clock) == {"sent": 1, "failed": 1}
    [message] = received(stub)
    body = message["body"]
    assert body["touser"] == EXPIRED and body["template_id"] == TEMPLATES["acknowledgement"]
    assert body["url"] == f"http://gw.example/t/{tenant}/status"
    assert body["data"]["keyword1"] == {"value": late.payload["reference"]}
    assert body["data"]["keyword2"] == {"value": "已受理"} and body["data"]["keyword4"] == {"value": "锦绣花园"}
    with engine.connect() as conn:
        found = conn.execute(select(messages).where(messages.c.tenant_id == tenant)).mappings().all()
    by = {(r["complaint_id"], r["channel"]): r for r in found}
    sent = by[(late.payload["complaint_id"], "wechat")]
    assert sent["status"] == "sent" and sent["fallback"]["via"] == "template" and sent["provider_message_id"]
    assert (late.payload["complaint_id"], "sms") not in by
    failed = by[(gone.payload["complaint_id"], "wechat")]
    assert failed["status"] == "failed" and "45015" in failed["last_error"] and "43004" in failed["last_error"]
    assert by[(gone.payload["complaint_id"], "sms")]["status"] == "queued"
