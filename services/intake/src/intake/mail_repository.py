"""Queries on the mailbox channel's tables. Every query filters by tenant, except ``enabled_mailboxes`` (the
poller's work list across tenants; each row carries its tenant)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select, update

from .tables import complaint_attachments, complaint_notes, complaints, mail_messages, mail_rejects, mailboxes


@dataclass(frozen=True)
class MailboxConfig:
    tenant_id: str
    id: str
    estate_code: str
    host: str
    port: int
    username: str
    password: str
    folder: str
    use_ssl: bool
    uidvalidity: int | None
    last_uid: int

    def __repr__(self) -> str:  # never show the password in logs or tracebacks
        return f"MailboxConfig({self.username}@{self.host}:{self.port}/{self.folder}, tenant {self.tenant_id})"


def _config(row) -> MailboxConfig:
    return MailboxConfig(tenant_id=row.tenant_id, id=row.id, estate_code=row.estate_code, host=row.host,
                         port=row.port, username=row.username, password=row.password, folder=row.folder,
                         use_ssl=row.use_ssl, uidvalidity=row.uidvalidity, last_uid=row.last_uid or 0)


def enabled_mailboxes(conn) -> list[MailboxConfig]:
    q = select(mailboxes).where(mailboxes.c.enabled.is_(True)).order_by(mailboxes.c.tenant_id, mailboxes.c.id)
    return [_config(r) for r in conn.execute(q)]


def get_mailbox(conn, tenant_id: str, mailbox_id: str) -> MailboxConfig | None:
    row = conn.execute(select(mailboxes).where(mailboxes.c.tenant_id == tenant_id,
                                               mailboxes.c.id == mailbox_id)).first()
    return None if row is None else _config(row)


def set_position(conn, tenant_id: str, mailbox_id: str, uidvalidity: int, last_uid: int) -> None:
    """Record the highest UID handled; never moves backwards within one UIDVALIDITY."""
    conn.execute(update(mailboxes)
                 .where(mailboxes.c.tenant_id == tenant_id, mailboxes.c.id == mailbox_id)
                 .values(uidvalidity=uidvalidity,
                         last_uid=func.max(mailboxes.c.last_uid, last_uid) if conn.engine.dialect.name == "sqlite"
                         else func.greatest(mailboxes.c.last_uid, last_uid)))


def reset_position(conn, tenant_id: str, mailbox_id: str, uidvalidity: int) -> None:
    """The server's UIDVALIDITY changed: every UID is new; Message-ID dedupe keeps old mail from repeating."""
    conn.execute(update(mailboxes).where(mailboxes.c.tenant_id == tenant_id, mailboxes.c.id == mailbox_id)
                 .values(uidvalidity=uidvalidity, last_uid=0))


def set_poll_result(conn, tenant_id: str, mailbox_id: str, at, error: str | None) -> None:
    conn.execute(update(mailboxes).where(mailboxes.c.tenant_id == tenant_id, mailboxes.c.id == mailbox_id)
                 .values(last_polled_at=at, last_error=error))


def message_seen(conn, tenant_id: str, message_id: str) -> bool:
    q = select(mail_messages.c.id).where(mail_messages.c.tenant_id == tenant_id,
                                         mail_messages.c.message_id == message_id)
    return conn.execute(q).first() is not None


def add_message(conn, tenant_id: str, mailbox_id: str, *, row_id: str, message_id: str, uidvalidity: int, uid: int,
                from_addr: str, subject: str, outcome: str, reason: str | None, complaint_id: str | None,
                received_at, raw: bytes) -> str:
    conn.execute(mail_messages.insert().values(
        tenant_id=tenant_id, id=row_id, mailbox_id=mailbox_id, message_id=message_id, uidvalidity=uidvalidity,
        uid=uid, from_addr=from_addr[:254], subject=subject, outcome=outcome, reason=reason,
        complaint_id=complaint_id, received_at=received_at, raw=raw))
    return row_id


def add_reject(conn, tenant_id: str, mailbox_id: str, *, uidvalidity: int, uid: int, reason: str, at,
               message_id: str | None = None, from_addr: str | None = None, subject: str | None = None,
               size: int | None = None, raw: bytes | None = None) -> bool:
    """Record a message that cannot be handled; False if this UID was already recorded."""
    exists = select(mail_rejects.c.id).where(
        mail_rejects.c.tenant_id == tenant_id, mail_rejects.c.mailbox_id == mailbox_id,
        mail_rejects.c.uidvalidity == uidvalidity, mail_rejects.c.uid == uid)
    if conn.execute(exists).first() is not None:
        return False
    conn.execute(mail_rejects.insert().values(
        tenant_id=tenant_id, id=str(uuid.uuid4()), mailbox_id=mailbox_id, uidvalidity=uidvalidity, uid=uid,
        message_id=message_id, from_addr=(from_addr or "")[:254] or None, subject=subject, size=size,
        reason=reason[:2000], raw=raw, rejected_at=at))
    return True


def complaint_for_reply(conn, tenant_id: str, references: list[str], sender: str):
    """The tenant's complaint with one of ``references`` whose complainant e-mail is ``sender``, or None."""
    if not references:
        return None
    q = (select(complaints.c.id, complaints.c.reference, complaints.c.estate_code, complaints.c.status)
         .where(complaints.c.tenant_id == tenant_id, complaints.c.reference.in_(references),
                func.lower(complaints.c.complainant_email) == sender.lower()))
    return conn.execute(q).mappings().first()


def add_note(conn, tenant_id: str, complaint_id: str, *, at, kind: str, actor: str, text: str,
             source: str | None) -> str:
    note_id = str(uuid.uuid4())
    conn.execute(complaint_notes.insert().values(tenant_id=tenant_id, id=note_id, complaint_id=complaint_id, at=at,
                                                 kind=kind, actor=actor[:254], text=text, source=source))
    return note_id


def add_attachment(conn, tenant_id: str, complaint_id: str, *, filename: str, content_type: str, content: bytes,
                   sha256: str, source: str | None, at) -> str:
    row_id = str(uuid.uuid4())
    conn.execute(complaint_attachments.insert().values(
        tenant_id=tenant_id, id=row_id, complaint_id=complaint_id, filename=filename, content_type=content_type,
        size=len(content), sha256=sha256, content=content, source=source, created_at=at))
    return row_id


def list_log(conn, tenant_id: str, limit: int = 50) -> dict:
    """The latest messages and rejects, for an operator (no raw sources)."""
    m, r = mail_messages, mail_rejects
    messages = conn.execute(
        select(m.c.id, m.c.mailbox_id, m.c.message_id, m.c.from_addr, m.c.subject, m.c.outcome, m.c.reason,
               m.c.complaint_id, m.c.received_at)
        .where(m.c.tenant_id == tenant_id).order_by(m.c.received_at.desc(), m.c.id).limit(limit)).mappings()
    rejects = conn.execute(
        select(r.c.id, r.c.mailbox_id, r.c.uid, r.c.message_id, r.c.from_addr, r.c.subject, r.c.size, r.c.reason,
               r.c.rejected_at)
        .where(r.c.tenant_id == tenant_id).order_by(r.c.rejected_at.desc(), r.c.id).limit(limit)).mappings()
    return {"messages": [dict(x) for x in messages], "rejects": [dict(x) for x in rejects]}
