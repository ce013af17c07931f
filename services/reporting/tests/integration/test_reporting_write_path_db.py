"""The write path of revision r16w1r2i3t4e (``rollup_merge``) on a real database (SQLite, or PostgreSQL via
TEST_DATABASE_URL): concurrent handlers on the same hot estates leave no delta behind and rollups equal to a
``rebuild`` from the facts; the stream delivered again changes nothing; a delta a handler left behind is merged by
the merger pass, and ``rebuild`` drops pending deltas without counting them twice."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from estatedesk_common.envelope import Envelope
from estatedesk_common.testing import drain
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, repository, rollup_merge
from reporting.rebuild import rebuild
from reporting.tables import complaint_daily, estate_names, reliability, rollup_deltas

pytestmark = pytest.mark.integration
NOW = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)
ROLLUPS = (*rollup_merge.ROLLUP_TABLES, *repository.LOCATION_TABLES)


class Clock:
    def now(self):
        return NOW


def _events(tenant, i):
    """complaint_received, case_opened, case_contacted and a reclassification of complaint ``i`` (estate i % 2)."""
    cid = str(uuid.uuid4())
    at = dt.datetime(2026, 11, 24, 1, tzinfo=dt.timezone.utc) + dt.timedelta(minutes=i)
    snap = dict(complaint_id=cid, reference=f"R{i}", channel=("hotline", "web")[i % 2], category="greening",
                severity="minor", received_at=at.isoformat(), location={"building": f"{i % 3}号楼"},
                estate={"code": f"HOT-{i % 2}", "name": f"热点{i % 2}", "kind": "residential",
                        "timezone": "Asia/Shanghai", "units": 100 + i})
    opened = dict(snap, case_id=cid, opened_at=at.isoformat(),
                  deadlines=[{"stage": "first_contact", "due_at": (at + dt.timedelta(hours=1)).isoformat()}])
    contacted = {"complaint_id": cid, "case_id": cid, "at": (at + dt.timedelta(minutes=30)).isoformat()}
    reclass = {"complaint_id": cid, "new_category": "facilities", "new_severity": "major",
               "reclassified_at": (at + dt.timedelta(hours=2)).isoformat()}
    return [Envelope(event_type=t, tenant_id=tenant, payload=p) for t, p in (
        ("complaint_received", snap), ("case_opened", opened), ("case_contacted", contacted),
        ("complaint_reclassified", reclass))]


HANDLER = {"complaint_received": handlers.record_complaint_received, "case_opened": handlers.record_case_opened,
           "case_contacted": handlers.record_case_event,
           "complaint_reclassified": handlers.record_complaint_reclassified}


def _run(engine, events, workers=4):
    assert drain(events, lambda env: HANDLER[env.event_type](env, UnitOfWork(engine, reliability, Clock())),
                 workers) == []


def _rollups(engine, tenant):
    with engine.connect() as conn:
        return {t.name: sorted(tuple(str(v) for v in r.values()) for r in conn.execute(
            select(t).where(t.c.tenant_id == tenant, t.c.received != 0)).mappings()) for t in ROLLUPS}


def _pending(engine):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(rollup_deltas)).scalar_one()


def test_concurrent_handlers_on_hot_estates_equal_a_rebuild_and_redelivery_changes_nothing(engine):
    tenant = str(uuid.uuid4())
    events = [e for i in range(30) for e in _events(tenant, i)]
    _run(engine, events)
    assert _pending(engine) == 0
    merged = _rollups(engine, tenant)
    with engine.connect() as conn:
        daily = conn.execute(select(func.sum(complaint_daily.c.received), func.sum(complaint_daily.c.reclassified))
                             .where(complaint_daily.c.tenant_id == tenant)).one()
        units = dict(conn.execute(select(estate_names.c.estate_code, estate_names.c.units)
                                  .where(estate_names.c.tenant_id == tenant)).all())
    assert tuple(daily) == (30, 30)
    assert units == {"HOT-0": 128, "HOT-1": 129}  # the newest snapshot of each estate
    _run(engine, events[::3])  # redelivered: skipped by the inbox
    assert _rollups(engine, tenant) == merged
    rebuild(engine, progress=False)
    assert _rollups(engine, tenant) == merged


def test_a_delta_left_behind_is_merged_by_the_merger_pass_and_rebuild_drops_it(engine, monkeypatch):
    tenant = str(uuid.uuid4())
    first, *_ = _events(tenant, 0)
    handlers.record_complaint_received(first, UnitOfWork(engine, reliability, Clock()))
    merged = _rollups(engine, tenant)
    def database_gone(*_args):  # after the handler's commit, before its merge
        raise OperationalError("SELECT pg_advisory_xact_lock(..)", {}, Exception("server closed the connection"))

    monkeypatch.setattr(rollup_merge, "merge_own", database_gone)
    second, *_ = _events(tenant, 2)
    assert handlers.record_complaint_received(second, UnitOfWork(engine, reliability, Clock())) is True  # handled
    assert handlers.record_complaint_received(second, UnitOfWork(engine, reliability, Clock())) is False
    assert _pending(engine) == 1 and _rollups(engine, tenant) == merged
    later = NOW + dt.timedelta(seconds=5)
    with engine.begin() as conn:  # the ledger's watermark an hour behind this test's clock
        repository.set_watermark(conn, NOW - dt.timedelta(hours=1))
    assert rollup_merge.publish_backlog(engine, "reporting", later) == (1, 5.0)
    assert rollup_merge.WATERMARK_LAG.labels("reporting")._value.get() == 3605
    assert rollup_merge.LAG.labels("reporting")._value.get() == 5.0
    assert rollup_merge.merge_backlog(engine, "reporting", later) is False  # merged: not a full batch
    assert _pending(engine) == 0 and rollup_merge.LAG.labels("reporting")._value.get() == 0
    assert _rollups(engine, tenant) != merged
    # the same pass moved the overdue ledger's watermark to ``later``: 0 behind then, 60 s a minute on
    assert rollup_merge.WATERMARK_LAG.labels("reporting")._value.get() == 0
    rollup_merge.publish_backlog(engine, "reporting", later + dt.timedelta(minutes=1))
    assert rollup_merge.WATERMARK_LAG.labels("reporting")._value.get() == 60

    third, *_ = _events(tenant, 4)
    handlers.record_complaint_received(third, UnitOfWork(engine, reliability, Clock()))
    assert _pending(engine) == 1
    rebuild(engine, progress=False)  # the fact holds it: dropped, counted once
    assert _pending(engine) == 0
    rollup_merge.merge_backlog(engine, "reporting", later)
    with engine.connect() as conn:
        received = conn.execute(select(func.sum(complaint_daily.c.received))
                                .where(complaint_daily.c.tenant_id == tenant)).scalar_one()
    assert received == 3
