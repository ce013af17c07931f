"""Queries on notify's ``messages`` table.

Every query filters by tenant, except ``due_messages``: the mail loop is a system process that delivers every
tenant's queue; it then updates each row by its full key (tenant_id, id).
"""
from __future__ import annotations

from sqlalchemy import or_, select, update

from estatedesk_common.db import is_postgres

from .domain.messages import Message
from .tables import messages


def add_message(conn, m: Message) -> None:
    conn.execute(messages.insert().values(
        tenant_id=m.tenant_id, id=m.id, complaint_id=m.complaint_id, case_id=m.case_id, kind=m.kind,
        channel=m.channel, recipient=m.recipient, locale=m.locale, reference=m.reference, subject=m.subject,
        body_text=m.body_text, body_html=m.body_html, status=m.status, attempts=0, next_attempt_at=None,
        created_at=m.created_at, updated_at=m.created_at, sent_at=None, last_error=m.last_error,
        smtp_message_id=m.smtp_message_id,
    ))


def due_messages(conn, now, batch: int) -> list:
    """Queued rows whose time has come, oldest first; locked with SKIP LOCKED on Postgres (other replicas skip)."""
    q = (select(messages)
         .where(messages.c.status == "queued")
         .where(or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now))
         .order_by(messages.c.created_at, messages.c.id)
         .limit(batch))
    if is_postgres(conn.engine):
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).mappings().all()


def _update(conn, row, **values) -> bool:
    """Update a still-queued row; False if something else already settled it."""
    result = conn.execute(update(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.id == row["id"], messages.c.status == "queued",
    ).values(**values))
    return result.rowcount == 1


def mark_sent(conn, row, now) -> bool:
    return _update(conn, row, status="sent", sent_at=now, updated_at=now, attempts=row["attempts"] + 1,
                   next_attempt_at=None)


def mark_retry(conn, row, attempts: int, next_attempt_at, error: str, now) -> bool:
    return _update(conn, row, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error, updated_at=now)


def mark_failed(conn, row, attempts: int, error: str, now) -> bool:
    return _update(conn, row, status="failed", attempts=attempts, next_attempt_at=None, last_error=error,
                   updated_at=now)


def messages_for_complaint(conn, tenant_id: str, complaint_id: str) -> list:
    q = (select(messages)
         .where(messages.c.tenant_id == tenant_id, messages.c.complaint_id == complaint_id)
         .order_by(messages.c.created_at, messages.c.id))
    return conn.execute(q).mappings().all()
