"""The event archive on a real RabbitMQ and database (SQLite, or PostgreSQL with TEST_DATABASE_URL): an event no
other service consumes now leaves its outbox (the archive's ``#`` binding makes it routable) and is archived once;
``rebuild --from-events`` with reporting stopped gives back the same KPIs."""
import time
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from sqlalchemy import MetaData, func, select

from estatedesk_common import outbox
from estatedesk_common.config import DbTarget
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.envelope import Envelope
from estatedesk_common.publishing import ConfirmedPublisher

from reporting import archive, reports, repository
from reporting.domain.scope import Scope
from reporting.tables import complaint_facts, event_archive

from test_reporting_events import complaint_received
from test_reporting_kpis_broker import DAY, case_opened, envelope, life

pytestmark = pytest.mark.integration


def archived(engine, expected, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        with engine.connect() as conn:
            n = conn.execute(select(func.count()).select_from(event_archive)).scalar_one()
        if n >= expected or time.monotonic() > deadline:
            return n
        time.sleep(0.2)


def test_an_event_without_consumer_leaves_the_outbox_and_is_archived_once(reporting, service_config, engine,
                                                                          tmp_path):
    """workflow's capa_opened: no service consumes it; before the archive the relay got it back unroutable."""
    workflow_db = make_engine(DbTarget(f"sqlite:///{tmp_path}/workflow.sqlite3", None))
    table = outbox.outbox_table(MetaData())
    table.metadata.create_all(workflow_db)
    env = Envelope(event_type="capa_opened", tenant_id=str(uuid.uuid4()), payload={"capa_id": str(uuid.uuid4())})
    with workflow_db.begin() as conn:
        outbox.add(conn, table, env, SystemClock().now())
    publish = ConfirmedPublisher(service_config["AMQP_URI"], "workflow")
    try:
        assert outbox.relay_once(workflow_db, table, publish) == (1, 0)
        assert outbox.backlog(workflow_db, table) == 0
        publish(env.to_dict())  # the relay again (crash before mark-sent): stored once
    finally:
        publish.close()
        workflow_db.dispose()
    assert archived(engine, 1) == 1
    time.sleep(0.5)
    with engine.connect() as conn:
        (row,) = conn.execute(select(event_archive)).mappings().all()
    assert (row["event_id"], row["source"], row["event_type"]) == (env.event_id, "workflow", "capa_opened")
    assert row["body"]["payload"] == env.payload


def test_rebuild_from_events_reproduces_the_kpis(reporting, service_config, engine):
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    sent = 0
    for hours, late in ((4.0, False), (40.0, True)):
        cid = str(uuid.uuid4())
        received = complaint_received(tenant)
        received["payload"]["complaint_id"] = cid
        history = [("intake", received), ("workflow", case_opened(tenant, cid))]
        history += life(tenant, cid, "2026-11-28T02:00:00+00:00" if late else "2026-11-25T02:00:00+00:00", hours,
                        "dissatisfied" if late else "satisfied")
        history.append(("workflow", envelope("case_upgraded", tenant, cid, level="major")))  # no handler
        for source, body in history:
            dispatch(source, body["event_type"], body)
        sent += len(history)
    assert archived(engine, sent) == sent
    now = SystemClock().now()

    def kpis():
        return reports.kpis(tenant, Scope(None), engine, now, DAY, DAY)

    deadline = time.monotonic() + 20
    while (kpis()["callbacks"]["answered"] != 2 or kpis()["resolution"]["resolved"] != 2) \
            and time.monotonic() < deadline:
        time.sleep(0.2)
    before = kpis()
    assert before["received"] == 2 and before["resolution"]["on_time"] == 1 and before["satisfaction_pct"] == 50.0

    reporting.stop()  # the documented procedure: reporting stopped while it rebuilds
    with engine.begin() as conn:
        conn.execute(complaint_facts.delete())
        repository.clear_rollups(conn)  # every rollup: the KPIs read several (edge days, months)
    assert kpis()["received"] == 0
    summary = archive.rebuild_from_events(engine, progress=False)
    assert kpis() == before
    assert summary["skipped"] == {"case_upgraded": 2} and summary["failed"] == {}
    assert sum(summary["replayed"].values()) == sent - 2 and summary["facts"] == 2
