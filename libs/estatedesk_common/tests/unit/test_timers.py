"""Durable timers on a real SQLite file: order, isolation of a failing handler, cancellation, events."""
import datetime as dt

import pytest
from sqlalchemy import MetaData, event, select

from estatedesk_common import outbox, timers
from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"


@pytest.fixture
def env(tmp_path, clock):
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    table = timers.timers_table(metadata)
    engine = make_engine(DbTarget(f"sqlite:///{tmp_path}/t.sqlite3", None))
    metadata.create_all(engine)
    yield engine, tables, table, (lambda: UnitOfWork(engine, tables, clock))
    engine.dispose()


def add(env, clock, subject, minutes, kind="sla_breach", key=""):
    engine, tables, table, uow = env
    with uow() as u:
        timers.schedule(u.conn, table, TENANT, kind, subject, clock.now() + dt.timedelta(minutes=minutes),
                        clock.now(), key=key)
        u.commit()


def test_only_due_timers_fire_in_due_order_and_once(env, clock):
    engine, tables, table, uow = env
    for subject, minutes in (("c3", 3), ("c1", 1), ("c2", 2), ("later", 60)):
        add(env, clock, subject, minutes)
    seen = []
    clock.advance(minutes=5)
    assert timers.fire_due(uow, table, lambda u, row: seen.append(row["subject_id"])) == 3
    assert seen == ["c1", "c2", "c3"]
    assert timers.fire_due(uow, table, lambda u, row: seen.append(row["subject_id"])) == 0


def test_a_failing_handler_does_not_block_the_others_and_backs_off(env, clock):
    engine, tables, table, uow = env
    add(env, clock, "bad", 1)
    add(env, clock, "good", 2)
    clock.advance(minutes=5)

    def handler(u, row):
        u.publish("sla_breached", TENANT, {"case": row["subject_id"]})
        if row["subject_id"] == "bad":
            raise RuntimeError("boom")

    assert timers.fire_due(uow, table, handler) == 1
    with engine.connect() as conn:
        bad = conn.execute(select(table).where(table.c.subject_id == "bad")).mappings().one()
    assert bad["fired_at"] is None and bad["attempts"] == 1 and "boom" in bad["last_error"]
    assert bad["due_at"] > clock.now()  # pushed back
    assert outbox.backlog(engine, tables.outbox) == 1  # only the good timer's event; the bad one rolled back


def test_cancelled_timers_never_fire(env, clock):
    engine, tables, table, uow = env
    add(env, clock, "c1", 1, key="first_contact")
    add(env, clock, "c1", 1, key="resolution")
    with uow() as u:
        assert timers.cancel(u.conn, table, TENANT, "c1", clock.now(), key="first_contact") == 1
        u.commit()
    clock.advance(minutes=5)
    fired = []
    assert timers.fire_due(uow, table, lambda u, row: fired.append(row["key"])) == 1
    assert fired == ["resolution"]


def test_prepare_reads_once_per_batch_and_events_are_one_insert_at_commit(env, clock):
    engine, tables, table, uow = env
    for subject in ("c1", "c2", "c3"):
        add(env, clock, subject, 1)
    clock.advance(minutes=5)
    prepared, seen = [], []

    def handler(u, row):
        seen.append(u.preloaded["subjects"][row["subject_id"]])
        u.publish("sla_breached", TENANT, {"case": row["subject_id"]})
    handler.prepare = lambda u, rows: (prepared.append(len(rows)),
                                       u.preloaded.update(subjects={r["subject_id"]: r["id"] for r in rows}))
    inserts = []

    def listener(conn, cursor, statement, *args):
        if "INTO outbox" in statement:
            inserts.append(statement)
    event.listen(engine, "before_cursor_execute", listener)
    assert timers.fire_due(uow, table, handler) == 3
    event.remove(engine, "before_cursor_execute", listener)
    assert prepared == [3] and len(seen) == 3 and len(inserts) == 1
    with engine.connect() as conn:
        events = conn.execute(select(tables.outbox.c.body).order_by(tables.outbox.c.id)).scalars().all()
    assert [e["payload"]["case"] for e in events] == ["c1", "c2", "c3"]  # in the order published


def test_a_failure_reruns_the_batch_timer_by_timer_and_what_commits_counts_once(env, clock):
    engine, tables, table, uow = env
    for subject, minutes in (("good1", 1), ("bad", 2), ("good2", 3)):
        add(env, clock, subject, minutes)
    clock.advance(minutes=5)
    calls, counted = [], []

    def handler(u, row):
        calls.append(row["subject_id"])
        u.publish("sla_breached", TENANT, {"case": row["subject_id"]})
        u.after_commit(lambda: counted.append(row["subject_id"]))
        if row["subject_id"] == "bad":
            raise RuntimeError("boom")

    assert timers.fire_due(uow, table, handler) == 2
    assert calls == ["good1", "bad", "good1", "bad", "good2"]  # the batch, then each in its own savepoint
    assert counted == ["good1", "good2"]  # not good1 twice, never bad
    with engine.connect() as conn:
        events = conn.execute(select(tables.outbox.c.body)).scalars().all()
        fired = conn.execute(select(table.c.subject_id, table.c.attempts).where(table.c.fired_at.is_not(None))).all()
    assert sorted(e["payload"]["case"] for e in events) == ["good1", "good2"]
    assert sorted(fired) == [("good1", 1), ("good2", 1)]


def test_a_later_timer_of_the_same_subject_sees_the_earlier_one_fired(env, clock):
    """Marks are written together, but before a handler of a subject the batch already fired a timer of, so its
    ``cancel`` of the subject's pending timers passes the fired one by, as when each was marked at once."""
    engine, tables, table, uow = env
    add(env, clock, "c1", 1, kind="sla_warning", key="first_contact")
    add(env, clock, "c1", 2, kind="resume", key="deferral-1")
    clock.advance(minutes=5)

    def handler(u, row):
        if row["kind"] == "resume":
            timers.cancel(u.conn, table, TENANT, "c1", clock.now())

    assert timers.fire_due(uow, table, handler) == 2
    with engine.connect() as conn:
        rows = dict(conn.execute(select(table.c.kind, table.c.cancelled_at)).all())
    assert rows["sla_warning"] is None  # fired before the resume cancelled the pending ones
    assert rows["resume"] is not None  # its own handler cancelled it while it was pending, as before
