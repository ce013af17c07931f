"""Replies to WeChat owners on the running system: a complaint posted to /channels/wechat/demo as WeChat's servers
post it -> notify asks intake for the account's AppSecret, fetches a token from the WeChat API stand-in
(scripts/wechat_api_stub.py, started by run.sh) and sends the acknowledgement with the reference as a
customer-service text to the owner's openid; an owner outside the 48-hour window (45015) gets the demo account's
template message (模板消息: reference, status, time, estate, a link to the status page) instead, and one who
unfollowed the account (45015, then 43004 for the template) the SMS. All on the complaint's timeline."""
import re
import uuid

import pytest
import requests

from intake import wechat_sim as sim
from estatedesk_common.demo import DEMO_TENANT
from intake.wechat_seed import DEMO_TEMPLATES, DEMO_WECHAT

from .conftest import wait_for

pytestmark = pytest.mark.e2e

KEYS = (DEMO_WECHAT["token"], DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])
EXPIRED = "oExpiredWindow000000000001"  # the stand-in answers 45015 for it
UNSUBSCRIBED = "oUnsubscribed0000000000001"  # the stand-in: 45015 for a text, 43004 for a template


def _complain(system, openid, text) -> str:
    """Post one encrypted text message as WeChat would; the reference from the passive reply."""
    body = sim.message_xml(openid, "text", sim.new_msg_id(), Content=text)
    body, query = sim.encrypt(body, sim.signed_query(DEMO_WECHAT["token"], openid=openid), *KEYS)
    r = requests.post(f"{system.base_url}/channels/wechat/demo", params=query, data=body.encode("utf-8"),
                      headers={"Content-Type": "text/xml"}, timeout=15)
    assert r.status_code == 200, r.text
    return re.search(r"TS\d{8}-[0-9A-Z]{6}", sim.read_reply(r.content, *KEYS)["Content"]).group(0)


def _timeline(system, reference) -> list:
    hq = system.headers("hq@demo")
    items = requests.get(f"{system.api}/complaints", params={"channel": "wechat", "limit": 200}, headers=hq,
                         timeout=15).json()["items"]
    complaint = next(c for c in items if c["reference"] == reference)
    found = requests.get(f"{system.api}/complaints/{complaint['id']}", headers=hq, timeout=15).json()
    return [e["text"] or "" for e in found.get("timeline") or []]


def test_a_wechat_owner_gets_the_acknowledgement_on_wechat(system):
    openid = "o" + uuid.uuid4().hex[:27]
    reference = _complain(system, openid, f"5栋地下车库漏水 {uuid.uuid4().hex[:4]} 13812345670")

    def sent():
        return [m for m in system.wechat_messages() if m["body"]["touser"] == openid] or None
    [message] = wait_for(sent, timeout=60, what="the acknowledgement at the WeChat API stand-in")
    assert message["appid"] == DEMO_WECHAT["app_id"] and message["body"]["msgtype"] == "text"
    content = message["body"]["text"]["content"]
    assert reference in content and "您的投诉已受理" in content
    texts = wait_for(lambda: [t for t in _timeline(system, reference) if t.startswith("受理回执微信消息已发送")],
                     timeout=30, what="timeline entry")
    assert texts == [f"受理回执微信消息已发送至 {openid[:4]}***{openid[-4:]}"]
    assert not any(t.startswith("受理短信") for t in _timeline(system, reference))  # WeChat instead of SMS


def test_outside_the_48_hour_window_the_owner_gets_the_template_message_then_the_sms(system):
    reference = _complain(system, EXPIRED, f"12栋门禁坏了 {uuid.uuid4().hex[:4]} 13812345671")
    gone = _complain(system, UNSUBSCRIBED, f"9栋水管爆了 {uuid.uuid4().hex[:4]} 13812345672")

    def template():
        return [m for m in system.wechat_messages() if m["body"]["touser"] == EXPIRED
                and m["body"].get("data", {}).get("keyword1", {}).get("value") == reference] or None
    [message] = wait_for(template, timeout=60, what="the template message at the WeChat API stand-in")
    body = message["body"]
    assert message["appid"] == DEMO_WECHAT["app_id"] and body["template_id"] == DEMO_TEMPLATES["acknowledgement"]
    assert body["data"]["first"]["value"] == "您好，您的投诉已受理。" and body["data"]["keyword2"]["value"] == "已受理"
    assert body["url"] == f"{system.base_url}/t/{DEMO_TENANT['id']}/status"
    assert requests.get(body["url"], timeout=15).status_code == 200  # the owner's status page, by tenant id
    texts = wait_for(lambda: [t for t in _timeline(system, reference) if t.startswith("受理回执微信模板消息已发送")],
                     timeout=30, what="timeline entry of the template message")
    assert texts == ["受理回执微信模板消息已发送至 oExp***0001（客服消息 48 小时窗口已关闭）"]
    assert not any(t.startswith("受理短信") for t in _timeline(system, reference))

    def settled():
        texts = _timeline(system, gone)
        failed = [t for t in texts if t.startswith("受理回执微信消息发送失败")]
        sms = [t for t in texts if t.startswith("受理短信")]
        return (failed, sms) if failed and sms else None
    failed, sms = wait_for(settled, timeout=60, what="WeChat failed and the SMS fallback queued")
    assert "45015" in failed[0] and "43004" in failed[0]
    assert not [m for m in system.wechat_messages() if m["body"]["touser"] == UNSUBSCRIBED]
