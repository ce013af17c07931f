"""The WeChat official-account channel's rules, free of frameworks: what a callback message is, how its text
becomes (part of) a complaint, and what the owner is told.

Contact rule (the canonical complaint needs a phone or an e-mail, ``complaint.parse_complainant``): an OpenID
is not a way to reach an owner outside WeChat (no SMS acknowledgement, no callback 回访 by phone), so it is not
accepted as a contact. The owner's first message without a phone number is kept as a *pending* message and the
reply asks for a mobile number; the next message with one registers the complaint from everything pending. An
OpenID that gave a phone before is not asked again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from estatedesk_common import i18n

MAX_DESCRIPTION = 5000
FOLLOWUP_MINUTES = 10        # a text this soon after the owner's complaint is added to it as a note
NEW_COMPLAINT_MARKERS = ("新投诉", "新的投诉")

_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?!\d)")
_REFERENCE = re.compile(r"TS\d{8}-[0-9A-HJKMNP-TV-Z]{6}", re.IGNORECASE)
_OPENID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_MSGID = re.compile(r"^\d{1,64}$")
SUPPORTED = ("text", "image", "voice")

i18n.register({
    "wechat.ack": {"zh_CN": "您的投诉已受理，编号 {reference}。我们将在1小时内与您联系，请保留此编号以便查询进度。",
                   "en": "Your complaint is registered as {reference}. We will contact you within an hour; keep the "
                         "reference to check its progress."},
    "wechat.ask_phone": {"zh_CN": "已收到您反映的问题。请回复您的手机号码（可附楼栋房号），我们将立即登记并告知投诉编号。",
                         "en": "We have your message. Please reply with your mobile number (and your building and "
                               "unit): we will register it at once and send you the reference."},
    "wechat.ask_text": {"zh_CN": "已收到。请用文字（或语音）描述您遇到的问题，我们将立即登记。",
                        "en": "Received. Please describe the problem in words (text or voice) and we will register "
                              "it at once."},
    "wechat.followup": {"zh_CN": "已将您的补充内容记入投诉 {reference}。如需反映新的问题，请在消息开头写“新投诉”。",
                        "en": "Your addition is on complaint {reference}. For a new problem, begin your message "
                              "with 新投诉."},
    "wechat.voice_unrecognised": {"zh_CN": "抱歉，未能识别您的语音，请改用文字描述问题。",
                                  "en": "Sorry, we could not recognise your voice message; please write it instead."},
    "wechat.unsupported": {"zh_CN": "暂不支持此类消息，请发送文字、图片或语音来反映问题。",
                           "en": "This kind of message is not supported; please send text, a picture or voice."},
    "wechat.welcome": {"zh_CN": "感谢关注！如需投诉或报修，请直接发送问题描述和您的手机号码，我们将立即登记。",
                       "en": "Thank you for following us. To complain, send a description of the problem and your "
                             "mobile number, and we will register it at once."},
    "wechat.image_note": {"zh_CN": "业主通过微信发送图片（MediaId {media_id}）",
                          "en": "Picture sent by WeChat (MediaId {media_id})"},
})


class MalformedMessage(ValueError):
    """A signed callback body that is not a WeChat message (a field is missing or has the wrong shape)."""


@dataclass(frozen=True)
class InboundMessage:
    to_user: str
    openid: str
    create_time: int
    msg_type: str
    msg_id: str | None = None
    content: str = ""
    pic_url: str = ""
    media_id: str = ""
    recognition: str = ""
    voice_format: str = ""
    event: str = ""

    @property
    def key(self) -> str:
        """The dedupe key: the MsgId; events have none, so WeChat's own rule applies (FromUserName + CreateTime)."""
        if self.msg_id:
            return self.msg_id
        return f"event:{self.openid}:{self.create_time}:{self.event}"[:128]

    @property
    def text(self) -> str:
        """What the owner said: a text's content or a voice message's recognition result."""
        return (self.content if self.msg_type == "text" else self.recognition if self.msg_type == "voice"
                else "").strip()


def message_from_fields(fields: dict[str, str]) -> InboundMessage:
    """An ``InboundMessage`` from the XML's child elements (tag -> text); ``MalformedMessage`` if not one."""
    def need(name: str) -> str:
        value = (fields.get(name) or "").strip()
        if not value:
            raise MalformedMessage(f"{name} is missing")
        return value

    openid, msg_type = need("FromUserName"), need("MsgType").lower()
    if not _OPENID.match(openid):
        raise MalformedMessage("FromUserName is not an OpenID")
    try:
        create_time = int(need("CreateTime"))
    except ValueError:
        raise MalformedMessage("CreateTime is not a number") from None
    msg_id = (fields.get("MsgId") or "").strip() or None
    if msg_type != "event" and (msg_id is None or not _MSGID.match(msg_id)):
        raise MalformedMessage("MsgId is missing or not a number")
    to_user = need("ToUserName")
    if not _OPENID.match(to_user):
        raise MalformedMessage("ToUserName is not an account id")
    message = InboundMessage(
        to_user=to_user, openid=openid, create_time=create_time, msg_type=msg_type[:20],
        msg_id=msg_id if msg_type != "event" else None, content=fields.get("Content") or "",
        pic_url=(fields.get("PicUrl") or "")[:1000], media_id=(fields.get("MediaId") or "")[:200],
        recognition=fields.get("Recognition") or "", voice_format=(fields.get("Format") or "")[:20],
        event=(fields.get("Event") or "").strip().lower()[:40])
    if msg_type == "text" and not message.content.strip():
        raise MalformedMessage("Content is missing")
    if msg_type == "image" and not (message.pic_url or message.media_id):
        raise MalformedMessage("PicUrl and MediaId are missing")
    return message


def split_phone(text: str) -> tuple[str | None, str]:
    """``(mobile number or None, the text without it)``: ``"电梯坏了 138 1234 5678"`` -> ``("13812345678", "电梯坏了")``."""
    found = _MOBILE_IN_TEXT.search(text)
    if found is None:
        return None, text.strip()
    punctuation = " \t\r\n，,。；;:："
    rest = (text[:found.start()].rstrip(punctuation) + " " + text[found.end():].lstrip(punctuation)).strip()
    return "".join(found.groups()), rest


def quoted_references(text: str) -> list[str]:
    return [r.upper() for r in _REFERENCE.findall(text)]


def wants_new_complaint(text: str) -> bool:
    return text.lstrip().startswith(NEW_COMPLAINT_MARKERS)


def strip_new_marker(text: str) -> str:
    stripped = text.lstrip()
    for marker in NEW_COMPLAINT_MARKERS:
        if stripped.startswith(marker):
            return stripped[len(marker):].lstrip(" ：:，,")
    return text


def description(texts: list[str]) -> str:
    """The complaint's description from the owner's pending texts in order (cut at the canonical limit)."""
    body = "\n".join(t.strip() for t in texts if t and t.strip())
    if len(body) > MAX_DESCRIPTION:
        marker = "…（内容过长，已截断）"
        body = body[:MAX_DESCRIPTION - len(marker)] + marker
    return body


def reply_text(key: str, **params) -> str:
    """The passive reply's text (zh-CN: the owners' language; the English catalogue is for operators)."""
    return i18n.t(f"wechat.{key}", i18n.DEFAULT_LOCALE, **params)
