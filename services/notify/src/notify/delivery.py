"""The delivery loop, one per channel: send due queued messages, then record each outcome and its event in one
transaction. The channel (``mail.EmailChannel``, ``sms.SmsChannel``, ``wechat.WeChatChannel``) is a strategy:
``name``, ``send_all(rows, now) -> [(row, Sent | Failure | Deferred)]`` and ``sent_fields(row, sent)`` (extra
event fields); optionally ``after_failure(uow, row, now)`` (WeChat's SMS fallback, in the failed mark's
transaction).

Shaped like ``estatedesk_common.outbox``: on Postgres the batch is claimed ``FOR UPDATE SKIP LOCKED`` and
marked in the same transaction (replicas never send a row twice). On SQLite no write transaction is held
across the SMTP/HTTP conversation (it would block every writer, and with eventlet the whole hub): rows are
read, sent, then marked in one short transaction; SQLite means one notify process.

A crash between the provider's acceptance and the mark re-sends the message on restart (at least once); the
e-mail ``Message-ID`` is fixed when the row is queued, so a repeat is recognisable. Rows wait while the
provider is down: each pass that fails counts one attempt (backoff from ``estatedesk_common.outbox.backoff``),
and after ``max_attempts`` the row is ``failed`` with ``notification_failed`` published. A permanent refusal
fails the row at once. ``Deferred`` (quiet hours) moves the row's due time without counting an attempt.

``Unknown`` (SMS: the request reached Kannel, its answer was lost) counts the attempt and makes the row
``unknown``, due again only after the channel's DLR wait; a delivery report meanwhile confirms it (``dlr``), one
already on the row confirms it at once. A due ``unknown`` row is sent again (recorded as an ambiguous retry) or,
with its attempts used up, failed without a new send (``domain.lost_answers``).
"""
from __future__ import annotations

import logging
import threading

from prometheus_client import Counter

from estatedesk_common.db import is_postgres
from estatedesk_common.outbox import backoff

from . import dlr, reads, repository
from .domain import lost_answers
from .domain.messages import event_fields, mask_emails_in
from .domain.phones import mask_phones_in
from .outcomes import Deferred, Failure, Sent, Unknown

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
NOTIFICATIONS = Counter("estatedesk_notifications_total", "Messages handled by the delivery loops",
                        ["service", "channel", "outcome"])


def deliver_once(engine, new_uow, channel, clock, batch: int = 20, max_attempts: int = MAX_ATTEMPTS) -> dict:
    """One pass over ``channel``'s due rows. ``new_uow()`` opens a ``UnitOfWork``. Returns counts by outcome."""
    if is_postgres(engine):
        with new_uow() as uow:
            rows = repository.due_messages(uow.conn, clock.now(), batch, channel.name)
            rows, given_up = _give_up(rows, max_attempts)
            with reads.claimed(uow.conn):  # the channel's own reads must not wait for a second connection
                outcomes = given_up + channel.send_all(rows, clock.now())
            counts = record_all(uow, channel, outcomes, clock.now(), max_attempts)
            uow.commit()
        return counts
    with engine.connect() as conn:
        rows = repository.due_messages(conn, clock.now(), batch, channel.name)
        conn.rollback()
    rows, given_up = _give_up(rows, max_attempts)
    outcomes = given_up + channel.send_all(rows, clock.now())
    if not outcomes:
        return {}
    with new_uow() as uow:
        counts = record_all(uow, channel, outcomes, clock.now(), max_attempts)
        uow.commit()
    return counts


def _give_up(rows, max_attempts: int) -> tuple[list, list]:
    """Split off the ``unknown`` rows whose DLR wait passed with no report and whose attempts are used up: they
    fail without another send."""
    send, given_up = [], []
    for row in rows:
        if lost_answers.when_due(row["status"], row["attempts"] or 0, max_attempts) == "give_up":
            reason = lost_answers.GAVE_UP.format(attempts=row["attempts"])
            given_up.append((row, Failure(False, reason, attempted=False)))
        else:
            send.append(row)
    return send, given_up


def record_all(uow, channel, outcomes, now, max_attempts: int = MAX_ATTEMPTS) -> dict:
    counts: dict[str, int] = {}
    for row, outcome in outcomes:
        result = _record(uow, channel, row, outcome, now, max_attempts)
        counts[result] = counts.get(result, 0) + 1
        NOTIFICATIONS.labels("notify", row["channel"], result).inc()
    return counts


def _record(uow, channel, row, outcome, now, max_attempts: int) -> str:
    if isinstance(outcome, Deferred):
        repository.mark_deferred(uow.conn, row, outcome.until, now, outcome.reason)
        return "deferred"
    attempted = not isinstance(outcome, Failure) or outcome.attempted
    attempts = (row["attempts"] or 0) + (1 if attempted else 0)
    # a send of an unknown row that reached the gateway is a repeat the owner may get twice: kept on the row
    repeat = lost_answers.is_ambiguous_retry(row["status"], isinstance(outcome, (Sent, Unknown)))
    extra = {"ambiguous_retries": (row["ambiguous_retries"] or 0) + 1} if repeat else {}
    confirmed = {}
    if isinstance(outcome, Unknown):
        outcome, confirmed = _lost_answer(uow, row, outcome, attempts, now, extra)
        if outcome is None:
            return "unknown"
    if isinstance(outcome, Sent):
        if repository.mark_sent(uow.conn, row, now, outcome.provider_message_id, outcome.via, **extra, **confirmed):
            uow.publish("notification_sent", row["tenant_id"], event_fields(row, attempts) | {
                "sent_at": now.isoformat()} | channel.sent_fields(row, outcome) | (
                {"ambiguous_retries": extra["ambiguous_retries"]} if extra else {}) | (
                {"confirmed_by": "delivery_report"} if confirmed else {}))
            dlr.settle_early_report(uow, row, now)  # a delivery report that overtook this mark
        elif extra:  # a report confirmed the unknown row while this repeat was out: the repeat is kept on it
            repository.record_repeat(uow.conn, row, attempts, extra["ambiguous_retries"])
        return "sent"
    failure: Failure = outcome
    if failure.permanent or attempts >= max_attempts or not failure.attempted:
        log.warning("%s message %s failed after %d attempt(s): %s", row["channel"], row["id"], attempts,
                    mask_phones_in(mask_emails_in(failure.reason)))
        if repository.mark_failed(uow.conn, row, attempts, failure.reason, now, **extra):
            uow.publish("notification_failed", row["tenant_id"], event_fields(row, attempts) | {
                "failed_at": now.isoformat(), "reason": failure.reason, "permanent": failure.permanent})
            if hasattr(channel, "after_failure"):  # WeChat: its fallback SMS, in this transaction
                channel.after_failure(uow, row, now)
        return "failed"
    repository.mark_retry(uow.conn, row, attempts, now + backoff(attempts), failure.reason, now, **extra)
    return "retry"


def _lost_answer(uow, row, lost: Unknown, attempts: int, now, extra: dict) -> tuple[Sent | None, dict]:
    """A send whose answer was lost: ``(Sent(), fields to keep)`` when a delivery report already on the row proves
    that Kannel has the SMS (it overtook the answer); else the row is marked ``unknown`` and ``(None, {})``."""
    current = repository.get_message(uow.conn, row["tenant_id"], row["id"])
    after = lost_answers.after_lost_answer(now, lost.wait, current is not None and current["dlr_type"] is not None)
    if after.status == "sent":
        return Sent(), {"ambiguous_at": now, "last_error": lost.reason}
    log.warning("%s message %s: answer lost on attempt %d, waiting for a delivery report until %s: %s",
                row["channel"], row["id"], attempts, after.next_attempt_at.isoformat(), mask_phones_in(lost.reason))
    repository.mark_unknown(uow.conn, row, attempts, after.next_attempt_at, lost.reason, now, **extra)
    return None, {}


class DeliveryLoop:
    """Background loop over ``deliver_once`` for one channel; woken at once after a commit that queued a message."""

    def __init__(self, engine, new_uow, channel, clock, poll_interval=1.0, batch=20, max_attempts=MAX_ATTEMPTS):
        self.engine, self.new_uow, self.channel, self.clock = engine, new_uow, channel, clock
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
                counts = deliver_once(self.engine, self.new_uow, self.channel, self.clock, self.batch,
                                      self.max_attempts)
            except Exception:  # database away: log and keep looping; rows stay queued
                log.exception("%s delivery pass failed", self.channel.name)
                counts = {}
            if sum(counts.values()) < self.batch or counts.get("retry") or counts.get("deferred") or \
                    counts.get("unknown"):
                self._wake.wait(self.poll_interval)
