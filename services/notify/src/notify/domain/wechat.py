"""WeChat customer-service replies (客服消息) to owners who complained through the tenant's official account.

Rules (plain Python, tested without a broker or HTTP):
- the owner is reachable when ``case_opened``'s ``complainant.wechat`` carries the account's ``app_id`` and the
  owner's ``openid`` (intake puts them there for WeChat complaints);
- such an owner gets the acknowledgement and updates by WeChat **instead of** SMS: the SMS text is kept on the
  WeChat row (``fallback``) and queued only when WeChat fails for good (``45015``: the owner has not written to
  the account in the last 48 hours, WeChat's customer-service window; an unsubscribed or unknown openid; or the
  attempts run out);
- WeChat is an in-app message: quiet hours do not hold it back;
- an answer's ``errcode`` decides: 0 sent; 40001/40014/42001 the access token (refresh once, then retry the
  row); 45015/43004/40003/45047/40037 and other refusals of the message: failed at once; -1, 45009 (rate limit)
  and refusals of our credentials (40013, 40125, 40164 IP not allowed): temporary, retried with backoff (our
  configuration, not the owner's message);
- outside the 48-hour window the tenant's **template message** goes instead, before any SMS (rules in
  ``wechat_templates.py``); the row keeps it planned in ``fallback["template"]`` next to the SMS, and which
  way it went in ``fallback["via"]`` once sent (``customer_service`` | ``template``).
"""
from __future__ import annotations

import re
from dataclasses import replace

from .messages import Message

CHANNEL = "wechat"
TEXT_LIMIT = 2000  # a customer-service text is at most 2048 bytes' worth of characters in practice
_APP_ID = re.compile(r"^wx[0-9a-zA-Z]{16}$")
_OPENID = re.compile(r"^[A-Za-z0-9_-]{6,64}$")

TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid / expired access token: fetch a new one
WINDOW_EXPIRED = 45015
TEMPORARY_ERRORS = frozenset({-1, 45009, 40013, 40125, 40164, 41002, 41004, 50001, 50002})
REASONS = {
    45015: "outside WeChat's 48-hour reply window (45015)",
    43004: "the owner has unfollowed the official account (43004)",
    40003: "WeChat does not know this openid (40003)",
    45047: "too many customer-service messages without a reply from the owner (45047)",
    40037: "WeChat does not know this template id (40037)",
    40013: "WeChat refused our app id (40013)",
    40125: "WeChat refused our AppSecret (40125)",
    40164: "our IP address is not on the account's whitelist (40164)",
    45009: "WeChat API rate limit reached (45009)",
    -1: "WeChat system busy (-1)",
}


def wechat_contact(complainant) -> tuple[str, str] | None:
    """``(app_id, openid)`` from a complainant's ``wechat`` object, or None (absent or malformed: the owner is
    told by SMS/e-mail as before)."""
    wechat = complainant.get("wechat") if isinstance(complainant, dict) else None
    if not isinstance(wechat, dict):
        return None
    app_id, openid = wechat.get("app_id"), wechat.get("openid")
    if not isinstance(app_id, str) or not isinstance(openid, str):
        return None
    if not _APP_ID.match(app_id) or not _OPENID.match(openid):
        return None
    return app_id, openid


def mask_openid(openid: str) -> str:
    """``oDemoOwner0000000000000001`` -> ``oDem***0001``: enough to tell owners apart on a timeline."""
    openid = openid or ""
    return f"{openid[:4]}***{openid[-4:]}" if len(openid) > 8 else "***"


def text_body(text: str) -> str:
    """The message as sent: trailing blank lines dropped, cut at ``TEXT_LIMIT`` characters."""
    lines = [line.rstrip() for line in (text or "").strip().splitlines()]
    return "\n".join(lines)[:TEXT_LIMIT]


def custom_text(openid: str, text: str) -> dict:
    """The JSON body of ``POST /cgi-bin/message/custom/send`` for a text message."""
    return {"touser": openid, "msgtype": "text", "text": {"content": text_body(text)}}


def classify(errcode, errmsg: str = "") -> tuple[str, str]:
    """``(outcome, reason)`` of an API answer: outcome ``sent`` | ``token`` | ``temporary`` | ``permanent``."""
    try:
        code = int(errcode or 0)
    except (TypeError, ValueError):
        return "temporary", f"WeChat answered an unknown errcode {errcode!r}"
    if code == 0:
        return "sent", ""
    reason = REASONS.get(code) or f"WeChat refused the message: {code} {errmsg or ''}".strip()
    if code in TOKEN_ERRORS:
        return "token", f"access token refused ({code})"
    if code in TEMPORARY_ERRORS:
        return "temporary", reason
    return "permanent", reason[:500]


def wechat_message(*, tenant_id: str, complaint_id: str, case_id: str | None, kind: str, locale: str,
                   reference: str, created_at, app_id: str, openid: str, text: str, timezone: str | None = None,
                   urgent: bool = False, template: dict | None = None) -> Message:
    """A queued WeChat text to ``openid`` through the account ``app_id``; ``template``: its template message as
    planned (``wechat_templates.plan``), kept in ``fallback["template"]``."""
    return Message(tenant_id=tenant_id, complaint_id=complaint_id, case_id=case_id, kind=kind, channel=CHANNEL,
                   recipient=openid, locale=locale, reference=reference, subject="", body_text=text_body(text),
                   body_html="", status="queued", created_at=created_at, timezone=timezone, urgent=urgent,
                   wechat_app_id=app_id, fallback={"template": template} if template else None)


def prefer_wechat(messages: list[Message], wechat: Message) -> list[Message]:
    """The owner is told on WeChat instead of by SMS: the queued SMS becomes the WeChat row's fallback (an SMS
    skipped after an opt-out is dropped too: nothing was to go by SMS); e-mail rows stay as they are."""
    sms = next((m for m in messages if m.channel == "sms" and m.status == "queued"), None)
    rest = [m for m in messages if m.channel != "sms" or m.status not in ("queued", "skipped")]
    return rest + [with_fallback(wechat, sms)]


def with_fallback(message: Message, sms: Message | None) -> Message:
    """The WeChat ``message`` carrying the queued ``sms``'s number and text as its fallback (sent only if WeChat
    fails); unchanged when there is no SMS to fall back to (none, SMS off, a landline, an opt-out)."""
    if sms is None or sms.status != "queued":
        return message
    return replace(message, fallback=dict(message.fallback or {}) | {
        "to": sms.recipient, "text": sms.body_text, "urgent": bool(sms.urgent)})
