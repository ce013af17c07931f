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
