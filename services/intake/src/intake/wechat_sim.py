"""What WeChat's servers send to a callback URL, built locally: signed (and optionally AES-encrypted) message XML,
and the reading of the passive reply. For the tests, and for trying the channel without a real official account:

    python -m intake.wechat_sim http://127.0.0.1:8000/channels/wechat/demo "3栋电梯坏了 13812345678" [--aes]

(the demo account's token and EncodingAESKey are the defaults; ``--openid``, ``--token``, ``--aes-key``,
``--app-id`` for another account). Nothing here talks to WeChat.
"""
from __future__ import annotations

import argparse
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from wechatpy.crypto import WeChatCrypto

from .wechat_protocol import parse_xml, signature
from .wechat_seed import DEMO_WECHAT


def signed_query(token: str, timestamp: int | None = None, nonce: str | None = None, **extra) -> dict:
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_hex(5)
    return {"signature": signature(token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce, **extra}


def _cdata(tag: str, value: str) -> str:
    return f"<{tag}><![CDATA[{value}]]></{tag}>"


def message_xml(openid: str, msg_type: str, msg_id: str | None = None, to_user: str = "gh_0123456789ab",
                create_time: int | None = None, **fields: str) -> str:
    """A message as WeChat posts it (``fields``: Content, PicUrl, MediaId, Recognition, Format, Event...)."""
    parts = [_cdata("ToUserName", to_user), _cdata("FromUserName", openid),
             f"<CreateTime>{int(time.time()) if create_time is None else create_time}</CreateTime>",
             _cdata("MsgType", msg_type)]
    parts += [_cdata(k, v.replace("]]>", "]]]]><![CDATA[>")) for k, v in fields.items()]
    if msg_id is not None:
        parts.append(f"<MsgId>{msg_id}</MsgId>")
    return "<xml>" + "".join(parts) + "</xml>"


def new_msg_id() -> str:
    return str(secrets.randbits(62))


def encrypt(xml: str, query: dict, token: str, aes_key: str, app_id: str) -> tuple[str, dict]:
    """Secure mode (安全模式): the body WeChat sends and the query with ``encrypt_type`` and ``msg_signature``."""
    crypto = WeChatCrypto(token, aes_key, app_id)
    envelope = parse_xml(crypto.encrypt_message(xml, query["nonce"], query["timestamp"]).encode("utf-8"))
    body = f"<xml>{_cdata('ToUserName', 'gh_0123456789ab')}{_cdata('Encrypt', envelope['Encrypt'])}</xml>"
    msg_sig = signature(token, query["timestamp"], query["nonce"], envelope["Encrypt"])
    return body, dict(query, encrypt_type="aes", msg_signature=msg_sig)


def read_reply(body: bytes | str, token: str | None = None, aes_key: str | None = None,
               app_id: str | None = None) -> dict[str, str]:
    """The reply's fields (ToUserName, FromUserName, MsgType, Content...), decrypted when it is encrypted (its
    ``MsgSignature`` is checked by ``wechatpy``)."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    fields = parse_xml(raw)
    if "Encrypt" not in fields:
        return fields
    crypto = WeChatCrypto(token, aes_key, app_id)
    plain = crypto.decrypt_message({"Encrypt": fields["Encrypt"]}, fields["MsgSignature"], fields["TimeStamp"],
                                   fields["Nonce"])
    return parse_xml(plain.encode("utf-8"))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("url")
    p.add_argument("text")
    p.add_argument("--openid", default="oDemoOwner0000000000000001")
    p.add_argument("--aes", action="store_true", help="send in secure mode (AES)")
    p.add_argument("--token", default=DEMO_WECHAT["token"])
    p.add_argument("--aes-key", default=DEMO_WECHAT["aes_key"])
    p.add_argument("--app-id", default=DEMO_WECHAT["app_id"])
    args = p.parse_args(argv)
    query = signed_query(args.token, openid=args.openid)
    body = message_xml(args.openid, "text", new_msg_id(), Content=args.text)
    if args.aes:
        body, query = encrypt(body, query, args.token, args.aes_key, args.app_id)
    request = urllib.request.Request(args.url + "?" + urllib.parse.urlencode(query), data=body.encode("utf-8"),
                                     headers={"Content-Type": "text/xml"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            reply = response.read()
    except urllib.error.HTTPError as exc:
        print(exc.code, exc.read().decode("utf-8", "replace"), file=sys.stderr)
        return 1
    if reply.strip() == b"success":
        print("(no reply)")
        return 0
    print(read_reply(reply, args.token, args.aes_key, args.app_id).get("Content", ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
