"""Queries on the WeChat channel's tables. Every query filters by tenant."""
from __future__ import annotations

import uuid

from sqlalchemy import select, update

from .tables import complaints, wechat_accounts, wechat_messages, wechat_rejects
from .wechat_protocol import WeChatAccount

REJECT_BODY_BYTES = 64 * 1024


def enabled_accounts(conn, tenant_id: str) -> list[WeChatAccount]:
    a = wechat_accounts
    rows = conn.execute(select(a).where(a.c.tenant_id == tenant_id, a.c.enabled.is_(True)).order_by(a.c.id))
    return [WeChatAccount(tenant_id=r.tenant_id, id=r.id, app_id=r.app_id, token=r.token, aes_key=r.aes_key,
                          estate_code=r.estate_code) for r in rows]


def find_message(conn, tenant_id: str, msg_id: str):
    m = wechat_messages
    q = select(m.c.id, m.c.outcome, m.c.complaint_id, m.c.reply).where(m.c.tenant_id == tenant_id,
                                                                        m.c.msg_id == msg_id)
    return conn.execute(q).mappings().first()


def add_message(conn, tenant_id: str, *, account_id: str, msg_id: str, openid: str, msg_type: str, outcome: str,
                complaint_id: str | None, phone: str | None, text: str | None, reply: str, encrypted: bool,
                received_at, raw: bytes, envelope: bytes | None, row_id: str | None = None) -> str:
    row_id = row_id or str(uuid.uuid4())
    conn.execute(wechat_messages.insert().values(
        tenant_id=tenant_id, id=row_id, account_id=account_id, msg_id=msg_id, openid=openid, msg_type=msg_type,
        outcome=outcome, complaint_id=complaint_id, phone=phone, text=text, reply=reply, encrypted=encrypted,
        received_at=received_at, raw=raw, envelope=envelope))
    return row_id


def pending_messages(conn, tenant_id: str, openid: str) -> list:
    """The owner's messages waiting for a phone number or a description, oldest first."""
    m = wechat_messages
    q = (select(m.c.id, m.c.msg_type, m.c.text, m.c.raw, m.c.received_at)
         .where(m.c.tenant_id == tenant_id, m.c.openid == openid, m.c.outcome == "pending")
         .order_by(m.c.received_at, m.c.id))
    return list(conn.execute(q).mappings())


def settle_pending(conn, tenant_id: str, row_ids: list[str], complaint_id: str) -> None:
    if row_ids:
        m = wechat_messages
        conn.execute(update(m).where(m.c.tenant_id == tenant_id, m.c.id.in_(row_ids), m.c.outcome == "pending")
                     .values(outcome="complaint", complaint_id=complaint_id))


def known_phone(conn, tenant_id: str, openid: str) -> str | None:
    """The mobile number this OpenID gave most recently, if any."""
    m = wechat_messages
    q = (select(m.c.phone).where(m.c.tenant_id == tenant_id, m.c.openid == openid, m.c.phone.is_not(None))
         .order_by(m.c.received_at.desc(), m.c.id).limit(1))
    return conn.execute(q).scalar()


def followup_target(conn, tenant_id: str, openid: str, references: list[str], since):
    """This OpenID's complaint a follow-up belongs to: one whose reference it quotes, else the latest one
    received after ``since``; None otherwise. Only complaints registered from this OpenID's own messages."""
    m, c = wechat_messages, complaints
    q = (select(c.c.id, c.c.reference, c.c.estate_code, c.c.received_at)
         .join(m, (m.c.tenant_id == c.c.tenant_id) & (m.c.complaint_id == c.c.id))
         .where(c.c.tenant_id == tenant_id, m.c.openid == openid, m.c.outcome == "complaint")
         .order_by(c.c.received_at.desc(), c.c.id))
    if references:
        return conn.execute(q.where(c.c.reference.in_(references)).limit(1)).mappings().first()
    return conn.execute(q.where(c.c.received_at >= since).limit(1)).mappings().first()


def add_reject(conn, tenant_id: str, *, account_id: str | None, reason: str, detail: str, query: dict, body: bytes,
               at) -> str:
    row_id = str(uuid.uuid4())
    conn.execute(wechat_rejects.insert().values(
        tenant_id=tenant_id, id=row_id, account_id=account_id, reason=reason[:40], detail=detail[:2000],
        query=query, size=len(body), body=body[:REJECT_BODY_BYTES] or None, rejected_at=at))
    return row_id


def list_log(conn, tenant_id: str, limit: int) -> dict:
    """The latest messages and rejects, for an operator (no raw XML, no bodies)."""
    m, r = wechat_messages, wechat_rejects
    messages = conn.execute(
        select(m.c.id, m.c.account_id, m.c.msg_id, m.c.openid, m.c.msg_type, m.c.outcome, m.c.complaint_id,
               m.c.text, m.c.encrypted, m.c.received_at)
        .where(m.c.tenant_id == tenant_id).order_by(m.c.received_at.desc(), m.c.id).limit(limit)).mappings()
    rejects = conn.execute(
        select(r.c.id, r.c.account_id, r.c.reason, r.c.detail, r.c.size, r.c.rejected_at)
        .where(r.c.tenant_id == tenant_id).order_by(r.c.rejected_at.desc(), r.c.id).limit(limit)).mappings()
    return {"messages": [dict(x) for x in messages], "rejects": [dict(x) for x in rejects]}
