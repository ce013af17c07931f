"""Unit fixtures: a migrated temp SQLite per test, a fixed clock, and a complaint_received factory."""
from __future__ import annotations

import datetime as dt
import os
import uuid

import pytest

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.envelope import Envelope
from estatedesk_common.migrate import upgrade
from estatedesk_common.unit_of_work import UnitOfWork

from reporting.tables import reliability

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


class FixedClock:
    def __init__(self, now: dt.datetime):
        self._now = now

    def now(self) -> dt.datetime:
        return self._now


@pytest.fixture
def engine(tmp_path):
    target = DbTarget(f"sqlite:///{tmp_path}/reporting.sqlite3", None)
    upgrade("reporting", os.path.abspath(MIGRATIONS), target)
    eng = make_engine(target)
    yield eng
    eng.dispose()


@pytest.fixture
def new_uow(engine):
    clock = FixedClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc))
    return lambda: UnitOfWork(engine, reliability, clock)


def complaint_received(tenant_id: str | None = None, event_id: str | None = None, **overrides) -> Envelope:
    """A ``complaint_received`` envelope as intake publishes it; keyword overrides patch the payload."""
    payload = {
        "complaint_id": str(uuid.uuid4()), "reference": "TS20261124-7KQ2MX",
        "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": "hotline", "description": "楼上漏水", "complainant": {"name": "王先生", "phone": "13800000000"},
        "category": None, "severity": None, "urgent": False,
        "received_at": "2026-11-24T02:00:00+00:00", "received_by": None, "schema_version": 1,
    }
    payload.update(overrides)
    kwargs = {"event_id": event_id} if event_id else {}
    return Envelope(event_type="complaint_received", tenant_id=tenant_id or str(uuid.uuid4()), payload=payload,
                    **kwargs)


@pytest.fixture
def make_event():
    return complaint_received


def _envelope(event_type: str, tenant_id: str, payload: dict, event_id=None, occurred_at=None) -> Envelope:
    kwargs = {"event_id": event_id} if event_id else {}
    if occurred_at:
        kwargs["occurred_at"] = occurred_at
    return Envelope(event_type=event_type, tenant_id=tenant_id, payload=payload, **kwargs)


def case_opened(tenant_id: str, complaint_id: str, first_contact_due="2026-11-24T03:00:00+00:00",
                event_id=None, **overrides) -> Envelope:
    """workflow's ``case_opened`` for a complaint received 2026-11-24T02:00Z at DEMO-RES by hotline."""
    payload = {
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-7KQ2MX",
        "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": "hotline", "description": "楼上漏水", "complainant": {"name": "王先生"},
        "category": None, "severity": None, "received_at": "2026-11-24T02:00:00+00:00",
        "opened_at": "2026-11-24T02:00:05+00:00",
        "deadlines": [{"stage": "first_contact", "due_at": first_contact_due}],
    }
    payload.update(overrides)
    return _envelope("case_opened", tenant_id, payload, event_id)


def notification(tenant_id: str, complaint_id: str, sent_at="2026-11-24T02:10:00+00:00", kind="acknowledgement",
                 sent=True, event_id=None) -> Envelope:
    payload = {"message_id": str(uuid.uuid4()), "complaint_id": complaint_id, "case_id": complaint_id,
               "kind": kind, "channel": "email", "reference": "TS20261124-7KQ2MX", "recipient": "z***@example.com",
               "attempts": 1}
    if sent:
        payload.update(sent_at=sent_at, smtp_message_id="<x@estatedesk>")
        return _envelope("notification_sent", tenant_id, payload, event_id)
    payload.update(failed_at=sent_at, reason="550 no such user", permanent=True)
    return _envelope("notification_failed", tenant_id, payload, event_id)


def reclassified(tenant_id: str, complaint_id: str, category, severity, at="2026-11-24T05:00:00+00:00",
                 old_category=None, old_severity=None, event_id=None) -> Envelope:
    payload = {"complaint_id": complaint_id, "old_category": old_category, "old_severity": old_severity,
               "new_category": category, "new_severity": severity, "reclassified_at": at}
    return _envelope("complaint_reclassified", tenant_id, payload, event_id)


@pytest.fixture
def events():
    """Factories: ``events.received``, ``events.opened``, ``events.notification``, ``events.reclassified``."""
    class Events:
        received = staticmethod(complaint_received)
        opened = staticmethod(case_opened)
        notification = staticmethod(notification)
        reclassified = staticmethod(reclassified)

    return Events


@pytest.fixture
def clock_at():
    return FixedClock
