"""The WeChat official-account channel of the running system, as WeChat's servers reach it: URL verification,
signed plaintext and AES-encrypted messages to /channels/wechat/demo, the reply with the reference within WeChat's
5 s, MsgId dedupe of WeChat's retries, the complaint in the API, and refusals of unsigned, malformed, XXE and
billion-laughs bodies (clear JSON errors, nothing registered)."""
import re
import time
import uuid

import pytest
import requests

from intake import wechat_sim as sim
from intake.wechat_seed import DEMO_WECHAT

from .conftest import wait_for

pytestmark = pytest.mark.e2e

KEYS = (DEMO_WECHAT["token"], DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])
TIMEOUT = 15


def _url(system, slug="demo") -> str:
    return f"{system.base_url}/channels/wechat/{slug}"


def _post(system, openid, text, msg_id, aes=False, slug="demo"):
    query = sim.signed_query(DEMO_WECHAT["token"], openid=openid)
    body = sim.message_xml(openid, "text", msg_id, Content=text)
    if aes:
        body, query = sim.encrypt(body, query, *KEYS)
    started = time.monotonic()
    r = requests.post(_url(system, slug), params=query, data=body.encode("utf-8"),
                      headers={"Content-Type": "text/xml"}, timeout=TIMEOUT)
    return r, time.monotonic() - started


def _reference(reply_text: str) -> str:
    return re.search(r"TS\d{8}-[0-9A-Z]{6}", reply_text).group(0)


def _wechat_complaints(system) -> list:
    r = requests.get(f"{system.api}/complaints", params={"channel": "wechat", "limit": 200},
                     headers=system.headers("hq@demo"), timeout=TIMEOUT)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_wechat_url_verification(system):
    signed = sim.signed_query(DEMO_WECHAT["token"], echostr="5237843947583")
    r = requests.get(_url(system), params=signed, timeout=TIMEOUT)
    assert r.status_code == 200 and r.text == "5237843947583"
    r = requests.get(_url(system), params=dict(signed, signature="0" * 40), timeout=TIMEOUT)
    assert r.status_code == 403 and r.json()["error"] == "wechat_signature_invalid"
    assert r.json()["message"] == "微信签名校验失败"
    assert requests.get(_url(system, "no-such-tenant"), params=signed, timeout=TIMEOUT).status_code == 404
    r = requests.get(_url(system, "other"), params=signed, timeout=TIMEOUT)  # a tenant without an account
    assert r.status_code == 404 and r.json()["error"] == "wechat_not_configured"


def test_wechat_messages_become_complaints_once_with_the_reference_in_the_reply(system):
    before = {c["id"] for c in _wechat_complaints(system)}
    openid, msg_id = "oE2E" + uuid.uuid4().hex[:20], sim.new_msg_id()

    r, took = _post(system, openid, "1栋电梯门关不上，很危险 13812345678", msg_id)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/xml"), r.text
    assert took < 5  # WeChat gives up after 5 s
    reply = sim.read_reply(r.content)
    assert (reply["ToUserName"], reply["MsgType"]) == (openid, "text")
    reference = _reference(reply["Content"])

    for _ in range(3):  # WeChat's retries of the same MsgId: the same answer, nothing new
        again, _took = _post(system, openid, "1栋电梯门关不上，很危险 13812345678", msg_id)
        assert sim.read_reply(again.content)["Content"] == reply["Content"]

    sealed, took = _post(system, "oE2Eaes" + uuid.uuid4().hex[:16], "新投诉 车库顶棚漏水 13912345678",
                         sim.new_msg_id(), aes=True)
    assert sealed.status_code == 200 and b"<Encrypt>" in sealed.content and took < 5
    assert "车库" not in sealed.text  # the reply is encrypted too
    aes_reference = _reference(sim.read_reply(sealed.content, *KEYS)["Content"])

    def listed():
        found = [c for c in _wechat_complaints(system) if c["id"] not in before]
        return found if len(found) >= 2 else None

    new = wait_for(listed, timeout=20, what="both WeChat complaints listed")
    assert sorted(c["reference"] for c in new) == sorted([reference, aes_reference])
    plain = next(c for c in new if c["reference"] == reference)
    detail = requests.get(f"{system.api}/complaints/{plain['id']}", headers=system.headers("hq@demo"),
                          timeout=TIMEOUT).json()
    assert detail["channel"] == "wechat" and detail["estate"]["code"] == DEMO_WECHAT["estate_code"]
    phone = detail["complainant"]["phone"]  # masked for head office (138****5678)
    assert phone[:3] == "138" and phone[-4:] == "5678" and detail["description"] == "1栋电梯门关不上，很危险"


def test_wechat_without_a_phone_asks_for_one_then_registers(system):
    openid = "oE2Eask" + uuid.uuid4().hex[:16]
    r, _took = _post(system, openid, "小区南门的路灯坏了一周了", sim.new_msg_id())
    assert "手机号码" in sim.read_reply(r.content)["Content"]
    r, _took = _post(system, openid, "13700001111", sim.new_msg_id())
    reference = _reference(sim.read_reply(r.content)["Content"])
    found = wait_for(lambda: [c for c in _wechat_complaints(system) if c["reference"] == reference], timeout=20)
    assert found and found[0]["estate_code"] == DEMO_WECHAT["estate_code"]


XXE = (b'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
       b"<xml><ToUserName>gh_1</ToUserName><FromUserName>oX</FromUserName><CreateTime>1</CreateTime>"
       b"<MsgType>text</MsgType><Content>&xxe;</Content><MsgId>1</MsgId></xml>")
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]><xml><Content>&lol9;</Content></xml>")


@pytest.mark.parametrize("body, signed, status, code", [
    (XXE, True, 400, "wechat_forbidden_xml"),
    (LAUGHS, True, 400, "wechat_forbidden_xml"),
    (b"<xml><Content>unclosed", True, 400, "wechat_malformed_xml"),
    (b"<xml><MsgType>text</MsgType></xml>", True, 400, "wechat_malformed_message"),
    (sim.message_xml("oUnsigned", "text", "77", Content="电梯坏了 13812345678").encode(), False, 403,
     "wechat_signature_invalid"),
], ids=["xxe", "billion-laughs", "malformed", "not-a-message", "unsigned"])
def test_wechat_bad_input_is_refused_clearly_and_registers_nothing(system, body, signed, status, code):
    before = len(_wechat_complaints(system))
    query = sim.signed_query(DEMO_WECHAT["token"]) if signed else {}
    r = requests.post(_url(system), params=query, data=body, headers={"Content-Type": "text/xml"}, timeout=TIMEOUT)
    assert r.status_code == status, r.text
    assert r.json()["error"] == code and r.json()["message"] and "root:" not in r.text
    assert len(_wechat_complaints(system)) == before
