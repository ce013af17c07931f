"""WeChat official-account channel use cases: URL verification, and one callback -> one unit of work -> one
passive reply.

``receive`` authenticates and parses (``wechat_protocol``), then, in one transaction, stores the message with its
raw XML and the reply, and registers a complaint through ``handlers.add_complaint`` (channel ``wechat``, the
account's estate) when the owner has given both a description and a mobile number (see the contact rule in
``domain/wechat.py``), keeps it pending otherwise, or appends a follow-up to the owner's recent complaint. The
MsgId is unique per tenant: WeChat's retries (3 within 5 s when no answer came) get the stored reply again, and a
retry racing the first attempt loses on the unique key and does the same. A refused request is recorded in
``wechat_rejects`` in its own transaction and the sender gets the error code.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
import logging
import uuid
from dataclasses import dataclass, field

from sqlalchemy.exc import IntegrityError

from estatedesk_common.errors import EstateDeskError

from . import handlers
from . import mail_repository
from . import wechat_repository as repo
from .domain import wechat as rules
from .domain.wechat import InboundMessage, MalformedMessage
from .exceptions import ValidationFailed
from .wechat_protocol import (MAX_CLOCK_SKEW_SECONDS, WeChatBadRequest, WeChatNotConfigured, authenticate, decrypt,
                              parse_xml, render_reply, with_secrets)

log = logging.getLogger(__name__)

_QUERY_KEYS = ("signature", "timestamp", "nonce", "openid", "encrypt_type", "msg_signature", "echostr")


@dataclass(frozen=True)
class Settings:
    """What the ``WeChatChannel`` dependency read in ``setup()``: the environment (for ``env:NAME`` secrets)
    and the allowed clock skew of a callback's timestamp."""
    environ: dict = field(default_factory=dict)
    max_skew: float = MAX_CLOCK_SKEW_SECONDS


@dataclass
class Handled:
    outcome: str
    reply: str
    complaint_id: str | None = None
    text: str | None = None
    phone: str | None = None


def _clean_query(query) -> dict:
    """The callback arguments we know, as short strings (the rest is ignored and not stored)."""
    if not isinstance(query, dict):
        return {}
    return {k: query[k][:512] for k in _QUERY_KEYS if isinstance(query.get(k), str)}


def _account(db, tenant_id: str, query: dict, settings: Settings):
    with db.engine.connect() as conn:
        stored = repo.enabled_accounts(conn, tenant_id)
    accounts = [a for a in (with_secrets(s, settings.environ) for s in stored) if a is not None]
    if len(accounts) < len(stored):
        log.error("a WeChat account of tenant %s has a token or key that cannot be read", tenant_id)
    if not accounts:
        raise WeChatNotConfigured("this tenant has no enabled WeChat account")
    return authenticate(accounts, query, db.clock.now().timestamp(), settings.max_skew)


def verify_url(query, tenant_id: str, db, settings: Settings) -> str:
    """The ``echostr`` WeChat sent, when the request is signed by one of the tenant's accounts (URL check)."""
    query = _clean_query(query)
    try:
        _account(db, tenant_id, query, settings)
        if not query.get("echostr"):
            raise WeChatBadRequest("echostr is missing", code="wechat_malformed_message", field="echostr")
    except EstateDeskError as exc:
        _reject(db, tenant_id, None, exc, query, b"")
        raise
    return query["echostr"]


def receive(query, body, tenant_id: str, db, classifiers, settings: Settings) -> dict:
    """Handle one callback POST (``body`` base64 of the raw bytes); ``{"content_type", "body"}`` to send back."""
    query = _clean_query(query)
    raw_body, account = b"", None
    try:
        raw_body = _decode_body(body)
        account = _account(db, tenant_id, query, settings)
        envelope = parse_xml(raw_body)
        encrypted = query.get("encrypt_type", "").lower() == "aes"
        plain = decrypt(account, envelope, query) if encrypted else raw_body
        fields = parse_xml(plain) if encrypted else envelope
        try:
            message = rules.message_from_fields(fields)
        except MalformedMessage as exc:
            raise WeChatBadRequest(str(exc), code="wechat_malformed_message", field="body") from None
    except EstateDeskError as exc:
        _reject(db, tenant_id, account, exc, query, raw_body)
        raise
    handled = _store(db, account, message, plain, raw_body if encrypted else None, encrypted, classifiers)
    if not handled.reply:
        return {"content_type": "text/plain; charset=utf-8", "body": "success"}  # WeChat's "no reply"
    now = int(db.clock.now().timestamp())
    return {"content_type": "application/xml; charset=utf-8",
            "body": render_reply(message, handled.reply, now, account, encrypted)}


def _decode_body(body) -> bytes:
    if isinstance(body, bytes):
        return body
    if not isinstance(body, str):
        raise ValidationFailed("body must be base64 text", field="body")
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed("body must be base64 text", field="body") from None


def _reject(db, tenant_id: str, account, exc, query: dict, body: bytes) -> None:
    with db.uow() as uow:
        repo.add_reject(uow.conn, tenant_id, account_id=account.id if account else None, reason=exc.code,
                        detail=str(getattr(exc, "message", exc)), query=query, body=body, at=uow.clock.now())
        uow.commit()
    log.warning("WeChat callback for tenant %s refused: %s", tenant_id, exc.code)


def _store(db, account, message: InboundMessage, plain: bytes, envelope: bytes | None, encrypted: bool,
           classifiers) -> Handled:
    tenant = account.tenant_id
    try:
        with db.uow() as uow:
            seen = repo.find_message(uow.conn, tenant, message.key)
            if seen is not None:
                return Handled("duplicate", seen["reply"], seen["complaint_id"])
            row_id = str(uuid.uuid4())
            handled = _handle(uow, account, message, row_id, classifiers)
            repo.add_message(uow.conn, tenant, row_id=row_id, account_id=account.id, msg_id=message.key,
                             openid=message.openid, msg_type=message.msg_type, outcome=handled.outcome,
                             complaint_id=handled.complaint_id, phone=handled.phone, text=handled.text,
                             reply=handled.reply, encrypted=encrypted, received_at=uow.clock.now(), raw=plain,
                             envelope=envelope)
            uow.commit()
    except IntegrityError:  # the same MsgId committed meanwhile (a retry racing the first attempt)
        with db.engine.connect() as conn:
            seen = repo.find_message(conn, tenant, message.key)
        if seen is None:
            raise
        return Handled("duplicate", seen["reply"], seen["complaint_id"])
    log.info("WeChat message %s for tenant %s: %s", message.key, tenant, handled.outcome)
    return handled


def _handle(uow, account, message: InboundMessage, row_id: str, classifiers) -> Handled:
    if message.msg_type == "event":
        return Handled("ignored", rules.reply_text("welcome") if message.event == "subscribe" else "")
    if message.msg_type not in rules.SUPPORTED:
        return Handled("unsupported", rules.reply_text("unsupported"))
    if message.msg_type == "voice" and not message.text:
        return Handled("unsupported", rules.reply_text("voice_unrecognised"))
    phone, rest = rules.split_phone(message.text) if message.text else (None, "")
    new = rules.wants_new_complaint(rest)
    rest = rules.strip_new_marker(rest)
    conn, tenant, now = uow.conn, account.tenant_id, uow.clock.now()
    pending = repo.pending_messages(conn, tenant, message.openid)
    if not new and not pending and (rest or message.msg_type == "image"):
        since = now - dt.timedelta(minutes=rules.FOLLOWUP_MINUTES)
        target = repo.followup_target(conn, tenant, message.openid, rules.quoted_references(rest), since)
        if target is not None:
            _follow_up(uow, tenant, target, message, rest, row_id)
            return Handled("followup", rules.reply_text("followup", reference=target["reference"]), target["id"],
                           text=rest or None, phone=phone)
    contact = phone or repo.known_phone(conn, tenant, message.openid)
    description = rules.description([p["text"] for p in pending] + [rest])
    if not description:
        return Handled("pending", rules.reply_text("ask_text"), text=None, phone=phone)
    if not contact:
        return Handled("pending", rules.reply_text("ask_phone"), text=rest or None, phone=None)
    data = {"estate": account.estate_code, "channel": "wechat", "description": description,
            "complainant": {"phone": contact}}
    audit = {"wechat_messages": [p["id"] for p in pending] + [row_id], "openid": message.openid,
             "account": account.app_id, "msg_id": message.key}
    try:
        complaint = handlers.add_complaint(data, tenant, None, uow, classifiers, raw=audit,
                                           wechat={"app_id": account.app_id, "openid": message.openid})
    except ValidationFailed:  # e.g. a landline-looking number the canonical rules refuse: ask again
        return Handled("pending", rules.reply_text("ask_phone"), text=rest or None, phone=None)
    repo.settle_pending(conn, tenant, [p["id"] for p in pending], complaint.id)
    images = [_image_of(p["raw"]) for p in pending if p["msg_type"] == "image"]
    if message.msg_type == "image":
        images.append(message)
    for image in images:
        mail_repository.add_note(conn, tenant, complaint.id, at=now, kind="wechat_image",
                                 actor=f"wechat:{message.openid}",
                                 text=_image_text(image), source=row_id)
    return Handled("complaint", rules.reply_text("ack", reference=complaint.reference), complaint.id,
                   text=rest or None, phone=phone)


def _image_of(raw: bytes) -> InboundMessage:
    return rules.message_from_fields(parse_xml(raw))


def _image_text(image: InboundMessage) -> str:
    text = rules.reply_text("image_note", media_id=image.media_id or "-")
    return f"{text}\n{image.pic_url}" if image.pic_url else text


def _follow_up(uow, tenant: str, target, message: InboundMessage, text: str, row_id: str) -> None:
    """The owner's addition as a note on the complaint (text, or the picture's ids) + ``complaint_updated``."""
    now, actor = uow.clock.now(), f"wechat:{message.openid}"
    kind, note = ("wechat_image", _image_text(message)) if message.msg_type == "image" else ("wechat_followup", text)
    note_id = mail_repository.add_note(uow.conn, tenant, target["id"], at=now, kind=kind, actor=actor, text=note,
                                       source=row_id)
    uow.publish("complaint_updated", tenant, {
        "complaint_id": target["id"], "reference": target["reference"], "estate_code": target["estate_code"],
        "kind": kind, "note_id": note_id, "text": note, "actor": actor, "attachments": 0, "at": now.isoformat()})


def wechat_log(tenant_id: str, engine, limit=50) -> dict:
    """For an operator: the latest messages (outcome, complaint, text) and refused requests; no raw XML."""
    return handlers.operator_log(repo.list_log, tenant_id, engine, limit)
