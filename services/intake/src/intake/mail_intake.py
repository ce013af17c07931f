"""Mailbox channel use cases: one fetched message -> one unit of work (complaint, reply note, ignored record or
reject), committed before the poller flags the message in the mailbox.

Every path advances the mailbox's ``last_uid`` in the same transaction, so a message is handled exactly once
per UID; the unique Message-ID per tenant makes a second copy (another UID, another folder, another replica
polling at the same time) a no-op.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError

from . import handlers, repository
from . import mail_repository as repo
from .domain.mail import MAX_ATTACHMENT_BYTES, MailUnparseable, ParsedMail, parse_mail
from .exceptions import ValidationFailed
from .mail_repository import MailboxConfig

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 25 * 1024 * 1024


@dataclass(frozen=True)
class Outcome:
    kind: str                       # complaint | reply | ignored | duplicate | rejected
    complaint_id: str | None = None
    reference: str | None = None
    reason: str | None = None


def ingest(box: MailboxConfig, uidvalidity: int, uid: int, raw: bytes, uow, classifiers=None,
           max_attachment: int = MAX_ATTACHMENT_BYTES) -> Outcome:
    """Handle one message (its full source ``raw``) in one transaction; see the module docstring."""
    try:
        mail = parse_mail(raw, max_attachment)
    except MailUnparseable as exc:
        return reject(box, uidvalidity, uid, f"unparseable: {exc}", uow, raw=raw, size=len(raw))
    try:
        with uow:
            outcome = _ingest_parsed(box, uidvalidity, uid, raw, mail, uow, classifiers)
            uow.commit()
    except ValidationFailed as exc:  # the mail cannot be a valid complaint (e.g. no text at all)
        field = (exc.details or {}).get("field")
        return reject(box, uidvalidity, uid, f"invalid complaint ({field}): {exc}", uow, raw=raw, size=len(raw),
                      mail=mail)
    except IntegrityError:  # another poller stored the same Message-ID between our check and insert
        with uow:
            if not repo.message_seen(uow.conn, box.tenant_id, mail.message_id):
                raise
            repo.set_position(uow.conn, box.tenant_id, box.id, uidvalidity, uid)
            uow.commit()
        outcome = Outcome("duplicate")
    log.info("mail uid %s in mailbox %s: %s %s", uid, box.id, outcome.kind, outcome.reference or outcome.reason or "")
    return outcome


def _ingest_parsed(box, uidvalidity, uid, raw, mail: ParsedMail, uow, classifiers) -> Outcome:
    conn, tenant, now = uow.conn, box.tenant_id, uow.clock.now()
    repo.set_position(conn, tenant, box.id, uidvalidity, uid)
    if repo.message_seen(conn, tenant, mail.message_id):
        return Outcome("duplicate")
    row_id = str(uuid.uuid4())
    record = dict(row_id=row_id, message_id=mail.message_id, uidvalidity=uidvalidity, uid=uid,
                  from_addr=mail.from_addr, subject=mail.subject, received_at=now, raw=raw)
    if mail.auto:
        repo.add_message(conn, tenant, box.id, outcome="ignored", reason=mail.auto, complaint_id=None, **record)
        return Outcome("ignored", reason=mail.auto)
    target = repo.complaint_for_reply(conn, tenant, mail.references, mail.from_addr)
    if target is not None:
        repo.add_message(conn, tenant, box.id, outcome="reply", reason=None, complaint_id=target["id"], **record)
        text = mail.reply_text()
        note_id = repo.add_note(conn, tenant, target["id"], at=now, kind="email_reply", actor=mail.from_addr,
                                text=text, source=row_id)
        _keep_attachments(conn, tenant, target["id"], mail, row_id, now)
        uow.publish("complaint_updated", tenant, {
            "complaint_id": target["id"], "reference": target["reference"], "estate_code": target["estate_code"],
            "kind": "email_reply", "note_id": note_id, "text": text, "actor": mail.from_addr,
            "attachments": len(mail.attachments), "at": now.isoformat()})
        return Outcome("reply", target["id"], target["reference"])
    data = {"estate": _estate_for(conn, box, mail), "channel": "email", "description": mail.description(),
            "complainant": {"name": mail.from_name, "email": mail.from_addr}}
    audit = {"mail_message": row_id, "message_id": mail.message_id, "from": mail.from_addr,
             "subject": mail.subject, "skipped_attachments": mail.skipped_attachments,
             "decode_problems": mail.decode_problems}
    complaint = handlers.add_complaint(data, tenant, None, uow, classifiers, raw=audit)
    repo.add_message(conn, tenant, box.id, outcome="complaint", reason=None, complaint_id=complaint.id, **record)
    _keep_attachments(conn, tenant, complaint.id, mail, row_id, now)
    return Outcome("complaint", complaint.id, complaint.reference)


def _estate_for(conn, box: MailboxConfig, mail: ParsedMail) -> str:
    tag = mail.estate_tag
    if tag and repository.get_estate(conn, box.tenant_id, tag) is not None:
        return tag
    return box.estate_code


def _keep_attachments(conn, tenant, complaint_id, mail: ParsedMail, row_id, now) -> None:
    for i, a in enumerate(mail.attachments):  # a microsecond apart: listed in the mail's order
        repo.add_attachment(conn, tenant, complaint_id, filename=a.filename, content_type=a.content_type,
                            content=a.content, sha256=a.sha256, source=row_id, at=now + dt.timedelta(microseconds=i))


def reject(box: MailboxConfig, uidvalidity: int, uid: int, reason: str, uow, *, raw: bytes | None = None,
           size: int | None = None, mail: ParsedMail | None = None, headers: bytes | None = None) -> Outcome:
    """Record a message that cannot be handled (kept: the source if it is not too big, else its headers) and
    move past it; the poller flags it so an operator can find it in the mailbox too."""
    keep = raw if raw is not None and len(raw) <= MAX_MESSAGE_BYTES else headers
    with uow:
        repo.add_reject(uow.conn, box.tenant_id, box.id, uidvalidity=uidvalidity, uid=uid, reason=reason,
                        at=uow.clock.now(), message_id=mail.message_id if mail else None,
                        from_addr=mail.from_addr if mail else None, subject=mail.subject if mail else None,
                        size=size, raw=keep)
        repo.set_position(uow.conn, box.tenant_id, box.id, uidvalidity, uid)
        uow.commit()
    log.warning("mail uid %s in mailbox %s rejected: %s", uid, box.id, reason)
    return Outcome("rejected", reason=reason)


def mail_log(tenant_id: str, engine, limit=50) -> dict:
    return handlers.operator_log(repo.list_log, tenant_id, engine, limit)
