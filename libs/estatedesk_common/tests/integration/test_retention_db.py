"""Pruning published outbox rows and old inbox keys, in batches, on SQLite and PostgreSQL."""
import datetime as dt

import pytest
from sqlalchemy import MetaData, func, select, text

from estatedesk_common import inbox, outbox, retention
from estatedesk_common.db import make_engine
from estatedesk_common.testing import drop_test_db, new_test_db
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

pytestmark = pytest.mark.integration
TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"


@pytest.fixture
def db():
    target = new_test_db("retention")
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    engine = make_engine(target)
    if target.schema:
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{target.schema}"'))
    metadata.create_all(engine)
    yield engine, tables
    engine.dispose()
    drop_test_db(target)


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_only_published_rows_and_old_keys_past_retention_go(db, clock):
    engine, tables = db
    old, recent = clock.now() - dt.timedelta(days=10), clock.now() - dt.timedelta(days=1)
    with UnitOfWork(engine, tables, clock) as uow:
        envs = [uow.publish("x", TENANT, {"n": i}) for i in range(7)]
        uow.commit()
    with engine.begin() as conn:  # 5 published long ago, 1 recently, 1 never (however old)
        conn.execute(tables.outbox.update().where(tables.outbox.c.event_id.in_([e.event_id for e in envs[:5]]))
                     .values(sent_at=old, created_at=old))
        conn.execute(tables.outbox.update().where(tables.outbox.c.event_id == envs[5].event_id)
                     .values(sent_at=recent))
        conn.execute(tables.outbox.update().where(tables.outbox.c.event_id == envs[6].event_id)
                     .values(created_at=old - dt.timedelta(days=100)))
        for i in range(5):
            inbox.claim(conn, tables.inbox, TENANT, "c", f"old-{i}", clock.now() - dt.timedelta(days=91))
        inbox.claim(conn, tables.inbox, TENANT, "c", "recent", clock.now() - dt.timedelta(days=89))

    assert retention.prune(engine, tables, clock.now(), outbox_days=7, inbox_days=90, batch=2) == (5, 5)
    assert count(engine, tables.outbox) == 2 and outbox.backlog(engine, tables.outbox) == 1
    assert count(engine, tables.inbox) == 1
    with engine.begin() as conn:  # the surviving key still stops a redelivery
        assert inbox.claim(conn, tables.inbox, TENANT, "c", "recent", clock.now()) is False
    assert retention.prune(engine, tables, clock.now()) == (0, 0)


def test_the_pruner_runs_at_most_once_per_interval_and_survives_errors(db, clock, monkeypatch):
    engine, tables = db
    calls = []
    monkeypatch.setattr(retention, "prune", lambda *a, **k: calls.append(1) or (0, 0))
    pruner = retention.Pruner(engine, tables, "test", clock, 7, 90, interval=3600)
    pruner._next = 0
    pruner.maybe_prune()
    pruner.maybe_prune()
    assert calls == [1]
    monkeypatch.setattr(retention, "prune", lambda *a, **k: 1 / 0)
    pruner._next = 0
    pruner.maybe_prune()  # logged, not raised


def test_two_deliveries_of_one_event_at_once_claim_it_once(db, clock):
    """The second claim waits for the first transaction and then finds the key (no unique violation)."""
    import threading

    engine, tables = db
    if engine.dialect.name == "sqlite":  # one writer at a time: the second waits for the lock (busy timeout) and
        pytest.skip("a busy SQLite raises OperationalError, which the handler requeues (events._transient)")
    event_id = "0d9b6f3c-58c5-4b0e-9a3e-2f1d7c9e8a41"
    first = engine.connect()
    first.begin()
    assert inbox.claim(first, tables.inbox, TENANT, "svc.handler", event_id, clock.now()) is True
    results = []

    def second():
        with engine.connect() as conn:
            with conn.begin():
                results.append(inbox.claim(conn, tables.inbox, TENANT, "svc.handler", event_id, clock.now()))

    thread = threading.Thread(target=second)
    thread.start()
    thread.join(0.5)  # PostgreSQL: blocked on the uncommitted key; SQLite: waiting for the write lock
    first.commit()
    first.close()
    thread.join(30)
    assert results == [False]
