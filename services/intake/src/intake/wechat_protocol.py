"""WeChat's callback protocol at the edge of intake: signatures, AES decryption/encryption (``wechatpy``), safe XML
parsing (``defusedxml``) and the passive reply. Everything here either returns trusted values or raises one of
the ``WeChat*`` errors below, whose code the sender gets back (and an operator finds in ``wechat_rejects``).

Order, so that untrusted bytes meet only ``defusedxml``: the query's ``signature`` (token, timestamp, nonce) is
checked first, then the body is parsed with DTDs forbidden (XXE and entity expansion are refused before any
expansion happens), then, in encrypted mode, ``msg_signature`` over the ``Encrypt`` value is checked and the
decrypted XML is parsed the same way. ``wechatpy`` only ever gets the ``Encrypt`` string as a dict, so its own
``xmltodict`` parsing is never used on untrusted input.
"""
from __future__ import annotations

import hmac
import logging
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from defusedxml import DefusedXmlException
from defusedxml import ElementTree as SafeET
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner

from estatedesk_common import secrets as stored_secrets
from estatedesk_common.errors import BadRequest, Forbidden, NotFound

from .domain.wechat import InboundMessage

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024       # WeChat's messages are a few hundred bytes
MAX_CLOCK_SKEW_SECONDS = 300


class WeChatBadRequest(BadRequest):
    code = "wechat_bad_request"


class WeChatForbidden(Forbidden):
    code = "wechat_signature_invalid"


class WeChatNotConfigured(NotFound):
    code = "wechat_not_configured"


class WeChatTooLarge(BadRequest):
    code, status = "payload_too_large", 413


@dataclass(frozen=True)
class WeChatAccount:
    tenant_id: str
    id: str
    app_id: str
    token: str
    aes_key: str | None
    estate_code: str

    def __repr__(self) -> str:  # never show the token or the key in logs or tracebacks
        return f"WeChatAccount({self.app_id}, tenant {self.tenant_id})"


def resolve_secret(value: str | None, environ: dict, what: str = "WeChat secret") -> str | None:
    """A stored secret read (``estatedesk_common.secrets``): ``enc:v1:`` decrypted, ``env:NAME`` from the
    environment (None when that is unset), else the legacy plain value. A value that cannot be decrypted
    raises ``SecretError``."""
    if value and stored_secrets.is_reference(value) and not environ.get(value[4:]):
        return None
    return stored_secrets.reveal(value, environ, what) or None


def with_secrets(account: WeChatAccount, environ: dict) -> WeChatAccount | None:
    """The account with its secrets read; None if its token or key cannot be read (misconfigured)."""
    try:
        token = resolve_secret(account.token, environ, f"WeChat token of {account.app_id}")
        aes_key = resolve_secret(account.aes_key, environ, f"WeChat EncodingAESKey of {account.app_id}")
    except stored_secrets.SecretError as exc:
        log.error("%s (tenant %s)", exc, account.tenant_id)
        return None
    if token is None:
        return None
    return WeChatAccount(account.tenant_id, account.id, account.app_id, token, aes_key, account.estate_code)


def signature(*parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(*parts)
    return signer.signature


def _arg(query: dict, name: str) -> str:
    value = query.get(name)
    return value if isinstance(value, str) else ""


def authenticate(accounts: list[WeChatAccount], query: dict, now: float,
                 max_skew: float = MAX_CLOCK_SKEW_SECONDS) -> WeChatAccount:
    """The account whose token signed ``timestamp`` + ``nonce`` (constant-time compare), checked for freshness."""
    sig, timestamp, nonce = _arg(query, "signature"), _arg(query, "timestamp"), _arg(query, "nonce")
    if not (sig and timestamp and nonce):
        raise WeChatForbidden("the request is not signed (signature, timestamp and nonce are required)",
                              field="signature")
    found = next((a for a in accounts if hmac.compare_digest(signature(a.token, timestamp, nonce), sig.lower())),
                 None)
    if found is None:
        raise WeChatForbidden("the signature does not match", field="signature")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > max_skew:
        raise WeChatForbidden(f"the timestamp is more than {int(max_skew)} s away from now",
                              code="wechat_timestamp_stale", field="timestamp")
    return found


def parse_xml(body: bytes) -> dict[str, str]:
    """The ``<xml>`` element's children as tag -> text, parsed by ``defusedxml`` with DTDs forbidden."""
    if len(body) > MAX_BODY_BYTES:
        raise WeChatTooLarge(f"the body is larger than {MAX_BODY_BYTES} bytes", field="body")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise WeChatBadRequest(f"forbidden XML construct: {type(exc).__name__}", code="wechat_forbidden_xml",
                               field="body") from None
    except (ET.ParseError, ValueError) as exc:
        raise WeChatBadRequest(f"the body is not well-formed XML: {exc}", code="wechat_malformed_xml",
                               field="body") from None
    if root.tag != "xml":
        raise WeChatBadRequest("the root element is not <xml>", code="wechat_malformed_xml", field="body")
    return {child.tag: child.text or "" for child in root if len(child) == 0 and isinstance(child.tag, str)}


def decrypt(account: WeChatAccount, envelope: dict[str, str], query: dict) -> bytes:
    """The plaintext message XML of an encrypted (安全模式) request, after its ``msg_signature`` is checked."""
    if not account.aes_key:
        raise WeChatBadRequest("encrypted message, but the account has no EncodingAESKey",
                               code="wechat_decrypt_failed", field="Encrypt")
    encrypted = (envelope.get("Encrypt") or "").strip()
    msg_sig, timestamp, nonce = _arg(query, "msg_signature"), _arg(query, "timestamp"), _arg(query, "nonce")
    if not encrypted or not msg_sig:
        raise WeChatBadRequest("Encrypt or msg_signature is missing", code="wechat_malformed_message",
                               field="Encrypt")
    if not hmac.compare_digest(signature(account.token, timestamp, nonce, encrypted), msg_sig.lower()):
        raise WeChatForbidden("msg_signature does not match", field="msg_signature")
    try:
        crypto = WeChatCrypto(account.token, account.aes_key, account.app_id)
        plain = crypto.decrypt_message({"Encrypt": encrypted}, msg_sig.lower(), timestamp, nonce)
    except Exception as exc:  # bad base64, padding, length or app id: all the same to the sender
        raise WeChatBadRequest(f"cannot decrypt the message ({type(exc).__name__})",
                               code="wechat_decrypt_failed", field="Encrypt") from None
    return plain.encode("utf-8") if isinstance(plain, str) else plain


def render_reply(message: InboundMessage, text: str, now: int, account: WeChatAccount, encrypted: bool) -> str:
    """The passive text reply to ``message`` (encrypted, with a fresh nonce, when the request was)."""
    xml = TextReply(source=message.to_user, target=message.openid, content=text, time=now).render()
    if not encrypted:
        return xml
    crypto = WeChatCrypto(account.token, account.aes_key, account.app_id)
    return crypto.encrypt_message(xml, secrets.token_hex(8), str(now))
