"""WeChat's protocol at intake's edge (wechat_protocol.py): signatures, freshness, safe XML, AES both ways."""
import time

import pytest

from intake import wechat_sim as sim
from intake.domain.wechat import message_from_fields
from intake.wechat_protocol import (WeChatAccount, WeChatBadRequest, WeChatForbidden, WeChatTooLarge, authenticate,
                                    decrypt, parse_xml, render_reply, resolve_secret, with_secrets)

KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
ACCOUNT = WeChatAccount("t1", "a1", "wx0123456789abcdef", "tok-1", KEY, "DEMO-RES")
OTHER = WeChatAccount("t1", "a2", "wx9999999999999999", "tok-2", None, "DEMO-RES")
NOW = 1764000000


def test_the_account_whose_token_signed_is_chosen():
    assert authenticate([OTHER, ACCOUNT], sim.signed_query("tok-1", NOW), NOW) is ACCOUNT
    assert authenticate([OTHER, ACCOUNT], sim.signed_query("tok-2", NOW - 200), NOW) is OTHER


@pytest.mark.parametrize("query, code", [
    ({}, "wechat_signature_invalid"),
    (sim.signed_query("wrong", NOW), "wechat_signature_invalid"),
    (dict(sim.signed_query("tok-1", NOW), nonce="changed"), "wechat_signature_invalid"),
    (sim.signed_query("tok-1", NOW - 301), "wechat_timestamp_stale"),
    (sim.signed_query("tok-1", NOW + 3600), "wechat_timestamp_stale"),
])
def test_unsigned_wrongly_signed_and_stale_requests_are_forbidden(query, code):
    with pytest.raises(WeChatForbidden) as err:
        authenticate([ACCOUNT], query, NOW)
    assert err.value.code == code and err.value.status == 403


def test_the_signature_of_wechats_documentation_example():
    # sha1 of the sorted concatenation, as in WeChat's developer guide
    import hashlib
    q = sim.signed_query("tok-1", 1409304348, "xxxxxx")
    assert q["signature"] == hashlib.sha1("".join(sorted(["tok-1", "1409304348", "xxxxxx"])).encode()).hexdigest()


XXE = b"""<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<xml><ToUserName>gh_1</ToUserName><Content>&xxe;</Content></xml>"""
LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
          + b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
                     for i in range(1, 10))
          + b"]><xml><Content>&lol9;</Content></xml>")


@pytest.mark.parametrize("body, code", [
    (XXE, "wechat_forbidden_xml"), (LAUGHS, "wechat_forbidden_xml"),
    (b"<!DOCTYPE xml><xml></xml>", "wechat_forbidden_xml"),
    (b"<xml><Content>unclosed</xml>", "wechat_malformed_xml"), (b"", "wechat_malformed_xml"),
    (b"<html><body/></html>", "wechat_malformed_xml"), (b"\xff\xfe garbage", "wechat_malformed_xml"),
])
def test_dangerous_and_broken_xml_is_refused_before_anything_reads_it(body, code):
    started = time.monotonic()
    with pytest.raises(WeChatBadRequest) as err:
        parse_xml(body)
    assert err.value.code == code and err.value.status == 400
    assert time.monotonic() - started < 1  # refused, not expanded


def test_oversized_bodies_are_refused():
    with pytest.raises(WeChatTooLarge):
        parse_xml(b"<xml>" + b"a" * 70000 + b"</xml>")


def test_plain_xml_gives_its_fields():
    xml = sim.message_xml("oOwner1", "text", "42", Content="漏水 ]]> 了", create_time=NOW)
    fields = parse_xml(xml.encode())
    assert fields["Content"] == "漏水 ]]> 了" and fields["MsgId"] == "42"


def test_an_encrypted_message_is_decrypted_after_its_msg_signature_is_checked():
    xml = sim.message_xml("oOwner1", "text", "42", Content="电梯困人", create_time=NOW)
    body, query = sim.encrypt(xml, sim.signed_query("tok-1", NOW), "tok-1", KEY, ACCOUNT.app_id)
    plain = decrypt(ACCOUNT, parse_xml(body.encode()), query)
    assert message_from_fields(parse_xml(plain)).content == "电梯困人"
    with pytest.raises(WeChatForbidden):
        decrypt(ACCOUNT, parse_xml(body.encode()), dict(query, msg_signature="0" * 40))
    wrong_app = WeChatAccount("t1", "a1", "wx1111111111111111", "tok-1", KEY, "DEMO-RES")
    with pytest.raises(WeChatBadRequest, match="decrypt"):
        decrypt(wrong_app, parse_xml(body.encode()), query)
    with pytest.raises(WeChatBadRequest, match="EncodingAESKey"):
        decrypt(OTHER, parse_xml(body.encode()), query)


def test_garbage_ciphertext_is_a_decrypt_failure():
    query = sim.signed_query("tok-1", NOW)
    envelope = {"Encrypt": "bm90IHJlYWxseSBlbmNyeXB0ZWQ="}
    from intake.wechat_protocol import signature
    query["msg_signature"] = signature("tok-1", query["timestamp"], query["nonce"], envelope["Encrypt"])
    with pytest.raises(WeChatBadRequest) as err:
        decrypt(ACCOUNT, envelope, query)
    assert err.value.code == "wechat_decrypt_failed"


def test_the_reply_goes_back_to_the_sender_and_is_encrypted_when_the_request_was():
    message = message_from_fields(parse_xml(sim.message_xml("oOwner1", "text", "42", Content="x").encode()))
    plain = sim.read_reply(render_reply(message, "已受理 TS20261124-7KQ2MX", NOW, ACCOUNT, False))
    assert (plain["ToUserName"], plain["FromUserName"], plain["MsgType"]) == ("oOwner1", "gh_0123456789ab", "text")
    assert plain["Content"] == "已受理 TS20261124-7KQ2MX"
    sealed = render_reply(message, "已受理 TS20261124-7KQ2MX", NOW, ACCOUNT, True)
    assert "已受理" not in sealed and "<Encrypt>" in sealed
    assert sim.read_reply(sealed, "tok-1", KEY, ACCOUNT.app_id)["Content"] == "已受理 TS20261124-7KQ2MX"


def test_secrets_can_come_from_the_environment_and_never_show_in_repr():
    assert resolve_secret("env:WX_TOKEN", {"WX_TOKEN": "s3cret"}) == "s3cret"
    assert resolve_secret("env:WX_MISSING", {}) is None
    stored = WeChatAccount("t1", "a1", "wx1", "env:WX_TOKEN", "env:WX_KEY", "DEMO-RES")
    assert with_secrets(stored, {}) is None
    ready = with_secrets(stored, {"WX_TOKEN": "s3cret", "WX_KEY": KEY})
    assert ready.token == "s3cret" and ready.aes_key == KEY
    assert "s3cret" not in repr(ready) and KEY not in repr(ready)
