"""Applying Kannel's delivery reports to ``messages`` rows (the row and its event in one transaction).

A report may overtake the delivery loop's "sent" mark (Kannel calls back as soon as the fake or real SMSC
answers, on SQLite before the loop's short marking transaction): it is then stored on the still-``queued``
row and settled by the loop right after it marks the row ``sent`` (``settle_early_report``).

A report for an ``unknown`` SMS (its send's answer was lost, ``domain.lost_answers``) is the proof that Kannel
took it: the row becomes ``sent`` (``notification_sent``, ``confirmed_by: delivery_report``) and is never sent
again; a final report then settles it as usual. The report's URL names the message and token shared by every
attempt, so the first attempt's report finds the row even after a repeat.
"""
from __future__ import annotations

import hmac
import logging

from . import repository
from .domain import lost_answers
from .domain.messages import event_fields
from .domain.reports import DELIVERED, FINAL, Report, failure_reason

log = logging.getLogger(__name__)


class ForgedReport(Exception):
    """No such SMS, or the token does not match it: refused (403)."""


def apply_report(uow, report: Report) -> str:
    """Record ``report`` on its message; returns ``delivered`` / ``failed`` / ``sent`` (an unknown SMS confirmed by
    a progress report) / ``noted`` / ``stale``.

    The conditional update comes first so it takes the row's lock before anything is read: on Postgres it
    waits for a delivery loop that still holds the row, on SQLite for the write lock; concurrent reports
    for one message are applied one after the other.
    """
    recorded = repository.record_report(uow.conn, report.tenant_id, report.message_id, report.token,
                                        report.type, report.reply, report.at, report.attempt)
    row = repository.get_message(uow.conn, report.tenant_id, report.message_id)
    if row is None or row["channel"] != "sms" or not row["dlr_token"] or \
            not hmac.compare_digest(row["dlr_token"], report.token):
        raise ForgedReport(f"no SMS {report.message_id} with that token")
    if not recorded:
        return "stale"  # e.g. the "SMSC submit" report arriving after "delivered"
    action = lost_answers.on_report(row["status"], report.final)
    if action == "confirm":
        _confirm(uow, row, report)
        if not report.final:
            return "sent"
    elif action == "note":
        return "noted"
    return _settle(uow, row, report.type, report.reply, report.at)


def _confirm(uow, row, report: Report) -> None:
    """An ``unknown`` SMS is ``sent``: Kannel reported on it, so it had taken it."""
    if not repository.confirm_unknown(uow.conn, row, report.at):
        return
    sent_at = row["ambiguous_at"] or report.at
    log.info("SMS %s confirmed by a delivery report (type %d, attempt %s) after its answer was lost", row["id"],
             report.type, report.attempt)
    uow.publish("notification_sent", row["tenant_id"], event_fields(row, row["attempts"]) | {
        "sent_at": sent_at.isoformat(), "provider": "kannel", "provider_message_id": None,
        "confirmed_by": "delivery_report"})


def settle_early_report(uow, row, now) -> None:
    """After marking ``row`` sent: apply a final report that arrived while it was still queued."""
    if row["channel"] != "sms":
        return
    current = repository.get_message(uow.conn, row["tenant_id"], row["id"])
    if current is not None and current["status"] == "sent" and current["dlr_type"] in FINAL:
        _settle(uow, current, current["dlr_type"], current["dlr_reply"], current["dlr_at"] or now)


def _settle(uow, row, dlr_type: int, reply: str | None, at) -> str:
    if dlr_type != DELIVERED:
        reason = failure_reason(dlr_type, reply)
        if repository.settle(uow.conn, row, "failed", at, reason):
            uow.publish("notification_failed", row["tenant_id"], event_fields(row, row["attempts"]) | {
                "failed_at": at.isoformat(), "reason": reason, "permanent": True})
        log.info("SMS %s not delivered: %s", row["id"], reason)
        return "failed"
    # No event for "delivered" yet: the outbox publishes with mandatory and nothing consumes one (reporting's
    # delivery rates would); the timeline and get_deliveries show it.
    repository.settle(uow.conn, row, "delivered", at, None)
    return "delivered"
