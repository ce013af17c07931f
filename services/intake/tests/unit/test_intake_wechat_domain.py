"""The WeChat channel's rules (domain/wechat.py): message fields, phone numbers in text, descriptions."""
import pytest

from intake.domain import wechat as rules
from intake.domain.wechat import MalformedMessage, message_from_fields

TEXT = {"ToUserName": "gh_0123456789ab", "FromUserName": "oOwner123", "CreateTime": "1764000000",
        "MsgType": "text", "Content": "电梯坏了", "MsgId": "1234567890123456"}


def test_a_text_message_is_read_and_keyed_by_its_msgid():
    m = message_from_fields(TEXT)
    assert (m.openid, m.msg_type, m.text, m.key) == ("oOwner123", "text", "电梯坏了", "1234567890123456")


def test_voice_uses_the_recognition_and_events_are_keyed_by_sender_and_time():
    voice = message_from_fields(dict(TEXT, MsgType="voice", Content="", MediaId="m1", Format="amr",
                                     Recognition="楼上漏水"))
    assert voice.text == "楼上漏水"
    event = message_from_fields({k: v for k, v in TEXT.items() if k != "MsgId"} | {"MsgType": "event",
                                                                                   "Event": "subscribe"})
    assert event.key == "event:oOwner123:1764000000:subscribe" and event.msg_id is None


@pytest.mark.parametrize("change, problem", [
    ({"FromUserName": ""}, "FromUserName"), ({"MsgId": "abc"}, "MsgId"), ({"MsgId": ""}, "MsgId"),
    ({"CreateTime": "soon"}, "CreateTime"), ({"Content": "  "}, "Content"),
    ({"FromUserName": "o<script>"}, "OpenID"), ({"ToUserName": "]]><x>"}, "account id"),
    ({"MsgType": "image", "Content": ""}, "PicUrl"),
])
def test_malformed_messages_are_refused_with_the_field(change, problem):
    with pytest.raises(MalformedMessage, match=problem):
        message_from_fields(dict(TEXT, **change))


@pytest.mark.parametrize("text, phone, rest", [
    ("3栋电梯坏了 13812345678", "13812345678", "3栋电梯坏了"),
    ("电话138-1234-5678，楼道灯不亮", "13812345678", "电话 楼道灯不亮"),
    ("13812345678", "13812345678", ""),
    ("房号1201，楼道灯不亮", None, "房号1201，楼道灯不亮"),
    ("订单号 213812345678 有问题", None, "订单号 213812345678 有问题"),
])
def test_a_mobile_number_is_taken_out_of_the_text(text, phone, rest):
    assert rules.split_phone(text) == (phone, rest)


def test_references_and_the_new_complaint_marker():
    assert rules.quoted_references("请补充 ts20261124-7kq2mx 的情况") == ["TS20261124-7KQ2MX"]
    assert rules.wants_new_complaint("新投诉：垃圾没人清") and not rules.wants_new_complaint("又有新投诉")
    assert rules.strip_new_marker("新投诉：垃圾没人清") == "垃圾没人清"


def test_description_joins_the_pending_texts_and_is_cut_at_the_canonical_limit():
    assert rules.description(["电梯坏了", "", "已经两天了"]) == "电梯坏了\n已经两天了"
    long = rules.description(["长" * 6000])
    assert len(long) == rules.MAX_DESCRIPTION and long.endswith("已截断）")


def test_replies_are_chinese_and_carry_the_reference():
    assert "TS20261124-7KQ2MX" in rules.reply_text("ack", reference="TS20261124-7KQ2MX")
    assert "手机号码" in rules.reply_text("ask_phone")
