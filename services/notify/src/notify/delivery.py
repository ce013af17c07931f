"""The mail loop: send due queued messages, then record each outcome and its event in one transaction.

Shaped like ``estatedesk_common.outbox``: on Postgres the batch is claimed ``FOR UPDATE SKIP LOCKED`` and
marked in the same transaction (replicas never send a row twice). On SQLite no write transaction is held
across the SMTP conversation (it would block every writer, and with eventlet the whole hub): rows are read,
sent, then marked in one short transaction; SQLite means one notify process.

A crash between the SMTP ``250 OK`` and the mark re-sends the message on restart (at least once); the
``Message-ID`` is fixed when the row is queued, so a repeat is recognisable. Rows wait while SMTP is down:
each pass that fails counts one attempt (backoff from ``estatedesk_common.outbox.backoff``), and after
``max_attempts`` the row is ``failed`` with ``notification_failed`` published. A 5xx refusal of the recipient
or the message fails the row at once.
"""
from __future__ import annotations

import logging
import smtplib
import threading

from prometheus_client import Counter

from estatedesk_common.db import is_postgres
from estatedesk_common.outbox import backoff

from . import repository
from .domain.messages import mask_email, mask_emails_in
from .smtp import Failure, build_email, classify

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
NOTIFICATIONS = Counter("estatedesk_notifications_total", "Messages handled by the mail loop",
                        ["service", "channel", "outcome"])


def deliver_once(engine, new_uow, transport, sender: str, clock, batch: int = 20,
                 max_attempts: int = MAX_ATTEMPTS) -> dict:
    """One pass. ``new_uow()`` opens an estatedesk_common ``UnitOfWork``. Returns counts by outcome."""
    if is_postgres(engine):
        with new_uow() as uow:
            rows = repository.due_messages(uow.conn, clock.now(), batch)
            outcomes = send_all(rows, transport, sender)
            counts = record_all(uow, outcomes, clock.now(), max_attempts)
            uow.commit()
        return counts
    with engine.connect() as conn:
        rows = repository.due_messages(conn, clock.now(), batch)
        conn.rollback()
    outcomes = send_all(rows, transport, sender)
    if not outcomes:
        return {}
    with new_uow() as uow:
        counts = record_all(uow, outcomes, clock.now(), max_attempts)
        uow.commit()
    return counts


def send_all(rows, transport, sender: str) -> list[tuple[dict, Failure | None]]:
    """Send each row over one SMTP session; (row, None) when accepted, else (row, Failure)."""
    if not rows:
        return []
    try:
        smtp = transport.open()
    except Exception as exc:
        failure = classify(exc)
        log.warning("SMTP unavailable, %d message(s) wait: %s", len(rows), failure.reason)
        return [(row, failure) for row in rows]
    outcomes = []
    try:
        for i, row in enumerate(rows):
            try:
                msg = email_for(row, sender)
            except Exception as exc:  # an address or header the MIME layer refuses: retrying will not help
                outcomes.append((row, Failure(True, f"{type(exc).__name__}: {exc}"[:2000])))
                continue
            try:
                transport.send(smtp, msg)
            except Exception as exc:
                failure = classify(exc)
                outcomes.append((row, failure))
                if not failure.permanent and not _session_usable(exc):
                    outcomes.extend((rest, failure) for rest in rows[i + 1:])
                    break
                continue
            outcomes.append((row, None))
    finally:
        transport.close(smtp)
    return outcomes


def _session_usable(exc) -> bool:
    """smtplib resets the session after a refused recipient or message; a dropped connection (or 421) is gone."""
    return isinstance(exc, smtplib.SMTPResponseException) and exc.smtp_code != 421


def email_for(row, sender: str):
    return build_email(sender=sender, recipient=row["recipient"], subject=row["subject"],
                       body_text=row["body_text"], body_html=row["body_html"],
                       message_id=row["smtp_message_id"], reference=row["reference"])


def _event(row, attempts: int) -> dict:
    return {"message_id": row["id"], "complaint_id": row["complaint_id"], "case_id": row["case_id"],
            "kind": row["kind"], "channel": row["channel"], "reference": row["reference"],
            "recipient": mask_email(row["recipient"]), "attempts": attempts}


def record_all(uow, outcomes, now, max_attempts: int = MAX_ATTEMPTS) -> dict:
    counts: dict[str, int] = {}
    for row, failure in outcomes:
        outcome = _record(uow, row, failure, now, max_attempts)
        counts[outcome] = counts.get(outcome, 0) + 1
        NOTIFICATIONS.labels("notify", row["channel"], outcome).inc()
    return counts


def _record(uow, row, failure: Failure | None, now, max_attempts: int) -> str:
    attempts = (row["attempts"] or 0) + 1
    if failure is None:
        if repository.mark_sent(uow.conn, row, now):
            uow.publish("notification_sent", row["tenant_id"], _event(row, attempts) | {
                "sent_at": now.isoformat(), "smtp_message_id": row["smtp_message_id"]})
        return "sent"
    if failure.permanent or attempts >= max_attempts:
        log.warning("message %s failed after %d attempt(s): %s", row["id"], attempts, mask_emails_in(failure.reason))
        if repository.mark_failed(uow.conn, row, attempts, failure.reason, now):
            uow.publish("notification_failed", row["tenant_id"], _event(row, attempts) | {
                "failed_at": now.isoformat(), "reason": failure.reason, "permanent": failure.permanent})
        return "failed"
    repository.mark_retry(uow.conn, row, attempts, now + backoff(attempts), failure.reason, now)
    return "retry"


class MailLoop:
    """Background loop over ``deliver_once``; woken at once after a commit that queued a message."""

    def __init__(self, engine, new_uow, transport, sender, clock, poll_interval=1.0, batch=20,
                 max_attempts=MAX_ATTEMPTS):
        self.engine, self.new_uow, self.transport, self.sender, self.clock = engine, new_uow, transport, sender, clock
        self.poll_interval, self.batch, self.max_attempts = poll_interval, batch, max_attempts
        self._wake = threading.Event()
        self._running = False

    def wake(self):
        self._wake.set()

    def stop(self):
        self._running = False
        self._wake.set()

    def run(self):
        self._running = True
        while self._running:
            self._wake.clear()
            try:
                counts = deliver_once(self.engine, self.new_uow, self.transport, self.sender, self.clock,
                                      self.batch, self.max_attempts)
            except Exception:  # database away: log and keep looping; rows stay queued
                log.exception("mail loop pass failed")
                counts = {}
            if sum(counts.values()) < self.batch or counts.get("retry"):
                self._wake.wait(self.poll_interval)
