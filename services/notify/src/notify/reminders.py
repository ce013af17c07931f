"""Overdue callback reminders (seed 001 §4.6.1: every resolved complaint is called back): a callback task still
open or claimed after its deadline -> an e-mail to the estate's ``cs_supervisor`` (staff contacts,
``domain.staff``), at most once per task and local day (the estate's zone), recorded in
``callback_reminders`` in the same transaction as the queued e-mails. The reminder is on the complaint's
delivery log (kind ``callback_overdue``); nobody to tell -> a ``skipped`` row saying so, still once a day.

A ``PollingLoop`` (``ReminderLoop``, every ``CALLBACK_REMINDER_SECONDS``) of the service does the passes; it
covers every tenant, like the delivery loops.
"""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from nameko.extensions import DependencyProvider
from sqlalchemy import select

from estatedesk_common.loops import PollingLoop
from estatedesk_common.unit_of_work import UnitOfWork

from . import staff
from .tables import callback_reminders, callbacks, owner_contacts

OPEN = ("open", "claimed")
BATCH = 100

log = logging.getLogger(__name__)


def remind_overdue(uow, batch: int = BATCH) -> int:
    """One pass: remind about overdue callbacks not yet reminded today; returns how many were reminded."""
    reminded = 0
    with uow:
        now = uow.clock.now()
        rows = uow.conn.execute(
            select(callbacks, owner_contacts.c.timezone)
            .select_from(callbacks.outerjoin(owner_contacts, (owner_contacts.c.tenant_id == callbacks.c.tenant_id)
                                             & (owner_contacts.c.complaint_id == callbacks.c.complaint_id)))
            .where(callbacks.c.status.in_(OPEN), callbacks.c.due_at < now)
            .order_by(callbacks.c.due_at, callbacks.c.id)).mappings().all()
        for row in rows:
            day = now.astimezone(ZoneInfo(row["timezone"] or "Asia/Shanghai")).date().isoformat()
            key = (callback_reminders.c.tenant_id == row["tenant_id"], callback_reminders.c.callback_id == row["id"],
                   callback_reminders.c.day == day)
            if uow.conn.execute(select(callback_reminders.c.day).where(*key)).first() is not None:
                continue
            messages = staff.alert(uow, row["tenant_id"], "callback_overdue", {
                "complaint_id": row["complaint_id"], "reference": row["reference"],
                "estate_code": row["estate_code"], "due_at": row["due_at"].isoformat(), "attempts": row["attempts"]})
            uow.conn.execute(callback_reminders.insert().values(
                tenant_id=row["tenant_id"], callback_id=row["id"], day=day, created_at=now,
                recipients=sum(1 for m in messages if m.status == "queued")))
            reminded += 1
            if reminded >= batch:
                break
        uow.commit()
    if reminded:
        log.info("reminded about %d overdue callback(s)", reminded)
    return reminded


class ReminderLoop(DependencyProvider):
    """Runs ``remind_overdue`` every ``CALLBACK_REMINDER_SECONDS`` (300; 0 = off) and wakes the mailer."""

    def __init__(self, database: str = "db", mailer: str = "mailer"):
        self.database, self.mailer = database, mailer
        self.loop = None

    def setup(self):
        value = self.container.config.get("CALLBACK_REMINDER_SECONDS")
        self.interval = float(300 if value in (None, "") else value)

    def _dep(self, name):
        return next(d for d in self.container.dependencies if d.attr_name == name)

    def start(self):
        if self.interval <= 0:
            return
        db, mailer = self._dep(self.database), self._dep(self.mailer)
        on_events = db.relay.wake if db.relay else None

        def step():
            reminded = remind_overdue(UnitOfWork(db.engine, db.tables, db.clock, None, on_events))
            if reminded and mailer.loop:
                mailer.loop.wake()
            return reminded >= BATCH

        self.loop = PollingLoop(step, self.interval, "callback reminders")
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    def kill(self):
        self.stop()
