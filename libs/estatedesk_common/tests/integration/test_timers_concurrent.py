"""Two timer loops on one Postgres database (two replicas) never fire a timer twice."""
import datetime as dt
import os

import eventlet
import pytest
from sqlalchemy import Column, MetaData, String, Table, func, select

from estatedesk_common import timers
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.testing import drop_test_db, new_test_db
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"),
                                 reason="replicas need Postgres (SKIP LOCKED); SQLite runs one process per service")]
TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"
N = 600


def test_two_replicas_fire_every_timer_exactly_once():
    target = new_test_db("timers")
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    table = timers.timers_table(metadata)
    fired_log = Table("fired_log", metadata, Column("timer_id", String(36)), Column("replica", String(8)))
    engines = [make_engine(target) for _ in range(2)]
    try:
        metadata.create_all(engines[0])
        clock = SystemClock()
        past = clock.now() - dt.timedelta(seconds=1)
        with UnitOfWork(engines[0], tables, clock) as uow:
            for i in range(N):
                timers.schedule(uow.conn, table, TENANT, "sla_breach", f"case-{i}", past, clock.now())
            uow.commit()

        def replica(name, engine):
            def handler(uow, row):
                uow.execute(fired_log.insert().values(timer_id=row["id"], replica=name))
                eventlet.sleep(0)  # let the other replica run while this batch holds its locks
            total = 0
            while True:
                fired = timers.fire_due(lambda: UnitOfWork(engine, tables, clock), table, handler, batch=50)
                total += fired
                if not fired:
                    return total

        pool = [eventlet.spawn(replica, f"r{i}", engine) for i, engine in enumerate(engines)]
        counts = [g.wait() for g in pool]
        with engines[0].connect() as conn:
            logged = conn.execute(select(func.count(), func.count(fired_log.c.timer_id.distinct()))).one()
            per_replica = dict(conn.execute(select(fired_log.c.replica, func.count()).group_by(fired_log.c.replica)).all())
        assert sum(counts) == N and tuple(logged) == (N, N)  # every timer once, none twice
        assert len(per_replica) == 2, per_replica  # both replicas did work
    finally:
        for engine in engines:
            engine.dispose()
        drop_test_db(target)
