"""The event archive, and the read models rebuilt from it (``python -m reporting.cli rebuild --from-events``).

**Storing.** One ``archive_event_handler`` per source service (``service.py``) hands every event of intake,
workflow, notify and reporting to ``archive_event``, whatever its type: events nothing else consumes are
therefore routable (the relays publish with ``mandatory``) and kept. The archive's unique ``event_id`` is its
own inbox (``INSERT .. ON CONFLICT DO NOTHING``), so a redelivery stores nothing and no inbox row is written per
archived event.

**Replaying.** ``rebuild_from_events`` empties the read models (``READ_MODELS``: facts, rollups, the overdue ledger,
estate names, quality records; not the periodic-report subscriptions and runs, which users made) and the inbox
claims of the consumers in ``REPLAY``, then feeds every archived event, oldest ``occurred_at`` first, to the same
handler function the service's ``@reliable_event_handler`` method calls (``REPLAY``; a unit test keeps the two in step),
each in its own transaction, and finally recomputes the rollups from the facts (``rebuild.rebuild``). Event
types with no handler are counted as skipped; an event its handler refuses (it was dead-lettered when it
arrived) is counted as failed and the replay goes on; a database error stops it (run it again: it starts by emptying).

It is not one transaction (a million events would hold every fact row locked for the whole run), so
**reporting must be stopped** while it runs: a live consumer would apply events between the wipe and the replay
and see its claims deleted. Events published meanwhile wait in reporting's queues and are applied after the
restart; those already replayed are skipped by their claims.
"""
from __future__ import annotations

import datetime as dt
import logging
from collections import Counter

from sqlalchemy.exc import DBAPIError

from estatedesk_common.db import SystemClock
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from . import handlers, repository
from .domain import quality
from .rebuild import progress_bar, rebuild
from .tables import (complaint_daily, complaint_facts, estate_names, overdue_monthly, quality_capa,
                     quality_nonconformities, reliability, rollup_deltas)

log = logging.getLogger(__name__)

SOURCES = ("intake", "workflow", "notify", "reporting")
# (source, event type) -> the handler function of ReportingService's @reliable_event_handler for it
REPLAY = {
    ("intake", "complaint_received"): handlers.record_complaint_received,
    ("intake", "complaint_reclassified"): handlers.record_complaint_reclassified,
    ("intake", "estate_saved"): handlers.record_estate_saved,
    ("workflow", "case_opened"): handlers.record_case_opened,
    ("notify", "notification_sent"): handlers.record_notification,
    ("notify", "notification_failed"): handlers.record_notification,
    **{("notify" if t.startswith("callback_") else "workflow", t): handlers.record_case_event
       for t in handlers.LIFECYCLE},
    **{("workflow", t): handlers.record_quality_event for t in quality.MERGES},
}
VERSIONS = (1,)  # the schema versions those handlers accept (the decorators' default)
READ_MODELS = (complaint_facts, complaint_daily, *repository.MONTHLY_TABLES, *repository.LOCATION_TABLES,
               overdue_monthly, estate_names, quality_nonconformities, quality_capa, rollup_deltas)


def consumer_of(event_type: str) -> str:
    """The inbox consumer name of reporting's handler for ``event_type`` (its method ``on_<event type>``)."""
    return f"reporting.on_{event_type}"


def occurred_at_of(envelope: Envelope) -> dt.datetime:
    at = dt.datetime.fromisoformat(envelope.occurred_at)
    return at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)


def archive_event(envelope: Envelope, source: str, uow) -> bool:
    """Store the envelope once; False if its ``event_id`` is archived already."""
    row = {"tenant_id": envelope.tenant_id, "event_id": envelope.event_id, "source": source,
           "event_type": envelope.event_type, "schema_version": envelope.schema_version,
           "occurred_at": occurred_at_of(envelope), "body": envelope.to_dict()}
    with uow:
        stored = repository.archive_event(uow.conn, dict(row, received_at=uow.clock.now()))
        uow.commit()
    return stored


def rebuild_from_events(engine, clock=None, batch: int = 1000, progress: bool = True) -> dict:
    """Empty the read models and their consumers' claims, replay the archive, recompute the rollups."""
    clock = clock or SystemClock()
    with engine.begin() as conn:
        repository.clear_read_models(conn, READ_MODELS, reliability.inbox,
                                     sorted({consumer_of(t) for _, t in REPLAY}))
        total = repository.count_archived(conn)
    replayed, skipped, failed = Counter(), Counter(), Counter()
    bar = progress_bar(total, "events") if progress else None
    for chunk in repository.iter_archive(engine, batch):
        for row in chunk:
            outcome = _replay_one(row, engine, clock)
            {"replayed": replayed, "skipped": skipped, "failed": failed}[outcome][row["event_type"]] += 1
        if bar is not None:
            bar.update(len(chunk))
    if bar is not None:
        bar.close()
    rollups = rebuild(engine, progress=progress)
    return {"events": total, "replayed": dict(replayed), "skipped": dict(skipped), "failed": dict(failed),
            "facts": rollups["facts"], "rollup_rows": rollups["rollup_rows"]}


def _replay_one(row, engine, clock) -> str:
    handler = REPLAY.get((row["source"], row["event_type"]))
    if handler is None:
        return "skipped"
    try:
        envelope = Envelope.from_dict(row["body"], row["event_type"], VERSIONS)
        handler(envelope, UnitOfWork(engine, reliability, clock))
    except DBAPIError:
        raise  # the database, not the event: stop (the rebuild can be run again)
    except Exception as exc:  # the event itself: its live handler dead-lettered it too
        log.warning("replay: %s %s refused: %s", row["event_type"], row["event_id"], exc)
        return "failed"
    return "replayed"
