"""Queries on notify's ``messages`` table.

Every query filters by tenant, except ``due_messages``: the delivery loops are system processes that deliver
every tenant's queue; they then update each row by its full key (tenant_id, id).
"""
from __future__ import annotations

from sqlalchemy import or_, select, update

from estatedesk_common.db import is_postgres

from .domain.lost_answers import UNKNOWN
from .domain.messages import Message
from .domain.opt_outs import THROTTLED
from .domain.reports import FINAL
from .tables import messages

PENDING = ("queued", UNKNOWN)  # rows the delivery loop may still send (unknown: once its DLR wait has passed)

# kinds whose bodies hold a secret (a password reset link): blanked once the message is sent or failed for good
SECRET_KINDS = frozenset({"password_reset"})


def _scrub(row) -> dict:
    return {"body_text": "", "body_html": ""} if row["kind"] in SECRET_KINDS else {}


def add_message(conn, m: Message) -> None:
    conn.execute(messages.insert().values(
        tenant_id=m.tenant_id, id=m.id, complaint_id=m.complaint_id, case_id=m.case_id, kind=m.kind,
        channel=m.channel, recipient=m.recipient, locale=m.locale, reference=m.reference, subject=m.subject,
        body_text=m.body_text, body_html=m.body_html, status=m.status, attempts=0,
        created_at=m.created_at, updated_at=m.created_at, sent_at=None, last_error=m.last_error,
        smtp_message_id=m.smtp_message_id, timezone=m.timezone, next_attempt_at=m.next_attempt_at,
        deferred_until=m.deferred_until, dlr_token=m.dlr_token, urgent=m.urgent or None,
        wechat_app_id=m.wechat_app_id, fallback=m.fallback,
    ))


def due_messages(conn, now, batch: int, channel: str = "email") -> list:
    """Queued (or unknown) rows of ``channel`` whose time has come, oldest first; SKIP LOCKED on Postgres
    (replicas skip)."""
    q = (select(messages)
         .where(messages.c.status.in_(PENDING), messages.c.channel == channel)
         .where(or_(messages.c.next_attempt_at.is_(None), messages.c.next_attempt_at <= now))
         .order_by(messages.c.created_at, messages.c.id)
         .limit(batch))
    if is_postgres(conn.engine):
        q = q.with_for_update(skip_locked=True)
    return conn.execute(q).mappings().all()


def _update(conn, row, **values) -> bool:
    """Update a row still in the state it was read in (queued or unknown); False if something else (a delivery
    report, an opt-out) already moved it."""
    result = conn.execute(update(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.id == row["id"], messages.c.status == row["status"],
        messages.c.status.in_(PENDING),
    ).values(**values))
    return result.rowcount == 1


def mark_sent(conn, row, now, provider_message_id: str | None = None, via: str | None = None,
              **extra) -> bool:
    """``via`` (WeChat: the way it went) is kept in the row's ``fallback`` JSON; ``extra``: e.g. the count of
    ambiguous retries."""
    if via:
        extra["fallback"] = dict(row["fallback"] or {}) | {"via": via}
    return _update(conn, row, status="sent", sent_at=now, updated_at=now, attempts=row["attempts"] + 1,
                   next_attempt_at=None, provider_message_id=provider_message_id, **_scrub(row), **extra)


def mark_unknown(conn, row, attempts: int, until, error: str, now, **extra) -> bool:
    """The send's answer was lost: Kannel may have the SMS. Not sent again before ``until`` (the DLR wait)."""
    return _update(conn, row, status=UNKNOWN, attempts=attempts, ambiguous_at=now, next_attempt_at=until,
                   last_error=error, updated_at=now, **extra)


def record_repeat(conn, row, attempts: int, ambiguous_retries: int) -> bool:
    """A repeat of an ``unknown`` SMS reached Kannel while a delivery report already settled the row (SQLite: no
    lock held during the send): the attempt and the repeat are kept on it all the same."""
    result = conn.execute(update(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.id == row["id"], messages.c.status.not_in(PENDING),
    ).values(attempts=attempts, ambiguous_retries=ambiguous_retries))
    return result.rowcount == 1


def confirm_unknown(conn, row, at) -> bool:
    """A delivery report proves that Kannel took an ``unknown`` SMS: ``sent`` as of the lost answer's send."""
    result = conn.execute(update(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.id == row["id"], messages.c.status == UNKNOWN,
    ).values(status="sent", sent_at=row["ambiguous_at"] or at, next_attempt_at=None, updated_at=at,
             **_scrub(row)))
    return result.rowcount == 1


def mark_deferred(conn, row, until, now, reason: str | None = None) -> bool:
    """Held back (quiet hours, or throttled: ``reason``) without an attempt."""
    error = row["last_error"]
    if reason or (error or "").startswith(THROTTLED):
        error = reason
    return _update(conn, row, next_attempt_at=until, deferred_until=until, updated_at=now, last_error=error)


def mark_retry(conn, row, attempts: int, next_attempt_at, error: str, now, **extra) -> bool:
    """Tried again later; the status stays (an unknown SMS stays unknown: a report of its earlier send may come)."""
    return _update(conn, row, attempts=attempts, next_attempt_at=next_attempt_at, last_error=error, updated_at=now,
                   **extra)


def mark_failed(conn, row, attempts: int, error: str, now, **extra) -> bool:
    return _update(conn, row, status="failed", attempts=attempts, next_attempt_at=None, last_error=error,
                   updated_at=now, **_scrub(row), **extra)


def messages_for_complaint(conn, tenant_id: str, complaint_id: str) -> list:
    q = (select(messages)
         .where(messages.c.tenant_id == tenant_id, messages.c.complaint_id == complaint_id)
         .order_by(messages.c.created_at, messages.c.id))
    return conn.execute(q).mappings().all()


def get_message(conn, tenant_id: str, message_id: str):
    q = select(messages).where(messages.c.tenant_id == tenant_id, messages.c.id == message_id)
    return conn.execute(q).mappings().first()


def record_report(conn, tenant_id: str, message_id: str, token: str, dlr_type: int, reply: str, at,
                  attempt: int | None = None) -> bool:
    """The latest delivery report on the SMS with that token, whatever its status (a report may overtake the
    "sent" mark); a progress report (4, 8) never overwrites a final one (1, 2, 16). ``attempt``: the send it
    belongs to, from its URL. False if nothing matched."""
    q = update(messages).where(messages.c.tenant_id == tenant_id, messages.c.id == message_id,
                               messages.c.channel == "sms", messages.c.dlr_token == token)
    if dlr_type not in FINAL:
        q = q.where(or_(messages.c.dlr_type.is_(None), messages.c.dlr_type.not_in(FINAL)))
    return conn.execute(q.values(dlr_type=dlr_type, dlr_reply=reply, dlr_at=at, dlr_attempt=attempt)).rowcount == 1


def settle(conn, row, status: str, at, error: str | None) -> bool:
    """``sent`` -> ``delivered`` / ``failed`` from a final delivery report; False if already settled."""
    values = {"status": status, "updated_at": at}
    if error:
        values["last_error"] = error
    result = conn.execute(update(messages).where(
        messages.c.tenant_id == row["tenant_id"], messages.c.id == row["id"], messages.c.status == "sent",
    ).values(**values))
    return result.rowcount == 1
