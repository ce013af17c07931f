"""Overdue callbacks: the estate's cs_supervisor is reminded once per task and local day."""
import datetime as dt
import uuid

from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import callbacks, reminders, staff
from notify.tables import callback_reminders, messages

TENANT = str(uuid.uuid4())


def _mail(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.kind == "callback_overdue")).mappings().all()


def test_an_overdue_callback_reminds_the_supervisor_once_a_day(engine, new_uow, fake_clock):
    staff.set_staff_contacts(TENANT, None, [
        {"role": "cs_supervisor", "estate": "DEMO-RES", "name": "客服主管 李", "email": "li@example.com"}], new_uow())
    complaint_id = str(uuid.uuid4())
    callbacks.on_case_resolved(Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-CALLBK",
        "estate_code": "DEMO-RES", "by": "u1", "at": fake_clock.now().isoformat()}), new_uow(), 24)
    done = str(uuid.uuid4())
    callbacks.on_case_resolved(Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
        "complaint_id": done, "reference": "TS-OTHER", "estate_code": "DEMO-OFFICE",
        "at": fake_clock.now().isoformat()}), new_uow(), 48)
    assert reminders.remind_overdue(new_uow()) == 0  # not due yet
    fake_clock.advance(hours=25)
    assert reminders.remind_overdue(new_uow()) == 1
    assert reminders.remind_overdue(new_uow()) == 0  # same local day
    [mail] = _mail(engine)
    assert mail["recipient"] == "li@example.com" and mail["complaint_id"] == complaint_id
    assert mail["subject"] == "【DEMO-RES】回访已逾期：TS20261124-CALLBK"
    assert "时限 2026-11-25 14:30" in mail["body_text"]
    fake_clock.advance(days=1)
    assert reminders.remind_overdue(new_uow()) == 2  # the next day; the second callback is overdue too, no one
    statuses = sorted((m["recipient"], m["status"]) for m in _mail(engine))
    assert statuses == [("", "skipped"), ("li@example.com", "queued"), ("li@example.com", "queued")]
    with engine.connect() as conn:
        assert len(conn.execute(select(callback_reminders)).all()) == 3
