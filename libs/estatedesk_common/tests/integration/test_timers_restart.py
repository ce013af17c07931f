"""The process that fires timers is killed around a deadline (issue 9, F3): after the restart each timer fires
once, late by the outage only.

A real child process runs the timer loop (``fire_due`` every 0.1 s) on a real database. Timer A is due at once;
the child's handler for it records the firing, then hangs, and the test SIGKILLs the child while that transaction
is open: nothing of it may survive. Timer B falls due while no process runs. A second child then fires both,
once each, and B's lateness is the time from its deadline to the restart (plus one loop interval), not more.
Two replicas never firing twice is test_timers_concurrent.py.
"""
import datetime as dt
import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import Column, MetaData, String, Table, select

from estatedesk_common import timers
from estatedesk_common.db import SystemClock, UTCDateTime, make_engine
from estatedesk_common.config import DbTarget
from estatedesk_common.testing import drop_test_db, new_test_db
from estatedesk_common.unit_of_work import ReliabilityTables, UnitOfWork

pytestmark = pytest.mark.integration
TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"


def _schema():
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    table = timers.timers_table(metadata)
    fired_log = Table("fired_log", metadata, Column("subject_id", String(64)), Column("pid", String(12)),
                      Column("fired_at", UTCDateTime))
    return metadata, tables, table, fired_log


def child(url: str, schema: str, hang_marker: str) -> None:
    """The stand-in for a workflow process: fire due timers until killed."""
    _metadata, tables, table, fired_log = _schema()
    engine = make_engine(DbTarget(url, schema or None))
    clock = SystemClock()

    def handler(uow, row):
        uow.execute(fired_log.insert().values(subject_id=row["subject_id"], pid=str(os.getpid()),
                                              fired_at=clock.now()))
        if hang_marker and row["subject_id"] == "A":  # killed here, inside the open transaction
            open(hang_marker, "w").close()
            time.sleep(600)

    while True:
        timers.fire_due(lambda: UnitOfWork(engine, tables, clock), table, handler, batch=10)
        time.sleep(0.1)


def _start(target, marker: str = "") -> subprocess.Popen:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), target.url, target.schema or "", marker],
                            env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))


def _wait(what, predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_a_killed_timer_process_fires_each_timer_once_after_restart_late_by_the_outage_only(tmp_path):
    target = new_test_db("timers_restart")
    metadata, tables, table, fired_log = _schema()
    engine = make_engine(target)
    first = second = None
    try:
        metadata.create_all(engine)
        clock = SystemClock()
        start = clock.now()
        due_b = start + dt.timedelta(seconds=2)
        with UnitOfWork(engine, tables, clock) as uow:
            timers.schedule(uow.conn, table, TENANT, "sla_breach", "A", start, start)
            timers.schedule(uow.conn, table, TENANT, "sla_breach", "B", due_b, start)
            uow.commit()

        marker = str(tmp_path / "in_handler")
        first = _start(target, marker)
        _wait("the first process inside timer A's handler", lambda: os.path.exists(marker))
        first.send_signal(signal.SIGKILL)  # mid-transaction: A's firing and its log row must both vanish
        first.wait(timeout=10)
        # B's deadline passes while nothing runs
        time.sleep(max(0.0, (due_b - clock.now()).total_seconds()) + 1.0)
        restarted = clock.now()
        second = _start(target)

        def rows():
            with engine.connect() as conn:
                return conn.execute(select(fired_log).order_by(fired_log.c.subject_id)).mappings().all()
        _wait("both timers fired after the restart", lambda: len(rows()) >= 2)
        time.sleep(0.5)  # a second firing, if there were one, would land now
        fired = rows()
        assert [r["subject_id"] for r in fired] == ["A", "B"], "each timer exactly once"
        assert {r["pid"] for r in fired} == {str(second.pid)}, "the killed process left nothing behind"
        late = (fired[1]["fired_at"] - due_b).total_seconds()
        outage = (restarted - due_b).total_seconds()
        assert outage <= late <= outage + 10.0, (late, outage)  # the restart gap, plus interpreter start-up
        with engine.connect() as conn:
            states = conn.execute(select(table.c.subject_id, table.c.fired_at, table.c.attempts)
                                  .order_by(table.c.subject_id)).all()
        assert all(s.fired_at is not None and s.attempts == 1 for s in states), states
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        engine.dispose()
        drop_test_db(target)


if __name__ == "__main__":
    child(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else "")
