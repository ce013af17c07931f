"""CTI events of one call arriving at the same moment (PostgreSQL: concurrent transactions; SQLite has a single
writer, so there is nothing to race): each event is recorded once, the state ends where it should."""
import uuid

import eventlet
import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.db import SystemClock, is_postgres
from estatedesk_common.unit_of_work import UnitOfWork

from intake import calls
from intake.seed import seed_demo
from intake.tables import call_events, reliability

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


@pytest.fixture
def engine(intake_engine):
    if not is_postgres(intake_engine):
        pytest.skip("concurrent writers need PostgreSQL (TEST_DATABASE_URL)")
    seed_demo(intake_engine)
    return intake_engine


def test_simultaneous_events_are_each_recorded_once(engine):
    call_id, caller = f"race-{uuid.uuid4().hex[:8]}", "13912345678"
    clock = SystemClock()
    events = ["ringing", "ringing", "answered", "answered", "ended", "ringing"]
    pool = eventlet.GreenPool(len(events))
    results = list(pool.imap(
        lambda name: calls.record_call_event({"call_id": call_id, "event": name, "caller": caller},
                                             TENANT, UnitOfWork(engine, reliability, clock)), events))
    fresh = sorted(r["call"]["state"] for r in results if not r["duplicate"])
    assert len(fresh) == 3 and sum(r["duplicate"] for r in results) == 3
    with engine.connect() as conn:
        stored = conn.execute(select(call_events.c.event, func.count()).where(call_events.c.call_id == call_id)
                              .group_by(call_events.c.event)).all()
    assert sorted(stored) == [("answered", 1), ("ended", 1), ("ringing", 1)]
    final = calls.get_call(call_id, TENANT, engine)
    assert final["state"] == "ended" and final["answered_at"] and final["ended_at"]
