"""The case status intake keeps per complaint (case_status.py) and the complaint list filtered and sorted by it
(SQLite, and PostgreSQL with TEST_DATABASE_URL): workflow's events move it, only newer transitions apply, redelivery
is a no-op, another tenant's event changes nothing, the backfill pages through workflow's case_summaries, and
filter + sort + paging happen in one query. The last test runs the service on a real broker."""
import datetime as dt
import os
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from sqlalchemy import select

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.testing import migrated_test_db, service_config
from estatedesk_common.unit_of_work import UnitOfWork

from intake import case_status, handlers
from intake.exceptions import InvalidFilter
from intake.seed import seed_demo
from intake.service import IntakeService
from intake.tables import complaints, reliability

from test_intake_list import engine, register  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
T0 = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)


class Clock:
    def now(self):
        return T0


def event(event_type, complaint_id, status=None, version=None, minutes=0, tenant=TENANT, **extra):
    at = (T0 + dt.timedelta(minutes=minutes)).isoformat()
    payload = {"case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS", "estate_code": "DEMO-RES"}
    payload |= {"opened_at": at} if event_type == "case_opened" else {"at": at, "status": status}
    payload |= {"version": version} if version is not None else {}
    return Envelope(event_type, tenant, payload | extra)


def handle(engine, envelope):  # noqa: F811
    return case_status.on_case_event(envelope, UnitOfWork(engine, reliability, Clock()))


def stored(engine, complaint_id):  # noqa: F811
    with engine.connect() as conn:
        return conn.execute(select(complaints.c.case_status, complaints.c.case_version).where(
            complaints.c.id == complaint_id)).one()


def listed(engine, **args):  # noqa: F811
    return [(i["id"], i["status"]) for i in handlers.list_complaints(TENANT, None, engine, **args)["items"]]


def test_the_cases_events_move_the_status_the_list_shows_and_filters(engine, register):  # noqa: F811
    first, second, third = register(), register(), register()
    assert listed(engine, status="received") == [(third["id"], "received"), (second["id"], "received"),
                                                 (first["id"], "received")]
    for created in (first, second):
        assert handle(engine, event("case_opened", created["id"], version=1)) is True
    assert handle(engine, event("case_contacted", first["id"], "contacted", 2, minutes=5)) is True
    assert handle(engine, event("case_progress_recorded", first["id"], "in_progress", 3, minutes=9)) is True
    assert listed(engine, status="in_progress") == [(first["id"], "in_progress")]
    assert listed(engine, status="open") == [(second["id"], "open")]
    assert listed(engine, status="received") == [(third["id"], "received")]  # no case yet
    assert listed(engine, status="resolved") == []
    handle(engine, event("case_resolved", first["id"], "resolved", 4, minutes=20))
    assert listed(engine, status="resolved") == [(first["id"], "resolved")] and listed(engine, status="in_progress") == []
    assert handlers.list_complaints(TENANT, None, engine, status="resolved")["total"] == 1


def test_only_newer_transitions_apply_and_redelivery_is_a_no_op(engine, register):  # noqa: F811
    cid = register()["id"]
    routed = event("case_assigned", cid, "assigned", 1, routed=True)  # routing in the opening transaction
    assert handle(engine, routed) is True
    assert handle(engine, event("case_opened", cid, version=1)) is False  # arrived second: never overwrites
    assert stored(engine, cid) == ("assigned", 1)
    resolved = event("case_resolved", cid, "resolved", 5, minutes=30)
    assert handle(engine, resolved) is True
    assert handle(engine, event("case_contacted", cid, "contacted", 2, minutes=40)) is False  # older version
    assert handle(engine, resolved) is False  # redelivered: the inbox
    assert stored(engine, cid) == ("resolved", 5)
    assert handle(engine, event("case_reopened", cid, "in_progress", 6, minutes=50)) is True
    assert handle(engine, event("case_deferred", cid, "deferred", 7, minutes=55)) is True
    assert handle(engine, event("case_resumed", cid, "in_progress", 8, minutes=59)) is True
    assert stored(engine, cid) == ("in_progress", 8)
    # a workflow from before ``version``: ordered by time
    assert handle(engine, event("case_resolved", cid, "resolved", minutes=58)) is False
    assert handle(engine, event("owner_accepted", cid, "closed", minutes=90)) is True
    assert stored(engine, cid) == ("closed", None)


def test_another_tenants_event_and_an_unknown_status(engine, register):  # noqa: F811
    cid = register()["id"]
    handle(engine, event("case_opened", cid, version=1))
    assert handle(engine, event("case_resolved", cid, "resolved", 2, tenant=OTHER_TENANT["id"])) is False
    assert stored(engine, cid) == ("open", 1)
    with pytest.raises(case_status.UnknownCaseStatus):  # dead-lettered by reliable_event_handler, not guessed
        handle(engine, event("case_resolved", cid, "finished", 2))
    assert handle(engine, event("case_closed", str(uuid.uuid4()), "closed", 3)) is False  # not ours: nothing


def test_filter_then_sort_then_page_in_one_query(engine, register):  # noqa: F811
    ids = [register(estate="DEMO-RES" if n % 2 else "DEMO-OFFICE")["id"] for n in range(7)]  # a minute apart
    for n, cid in enumerate(ids):
        handle(engine, event("case_opened", cid, version=1))
        if n not in (0, 3):  # 0 and 3 stay open
            handle(engine, event("case_resolved", cid, "resolved", 2, minutes=n))
    resolved = [cid for n, cid in enumerate(ids) if n not in (0, 3)]
    newest_first = [(cid, "resolved") for cid in reversed(resolved)]
    pages = [listed(engine, status="resolved", limit=2, offset=o) for o in (0, 2, 4)]
    assert sum(pages, []) == newest_first and [len(p) for p in pages] == [2, 2, 1]
    assert listed(engine, status="resolved", sort="received_at", order="asc", limit=3) == newest_first[::-1][:3]
    assert {cid for cid, _ in listed(engine, status="resolved", estate="DEMO-RES")} == {
        cid for n, cid in enumerate(ids) if n % 2 and n not in (0, 3)}
    page = handlers.list_complaints(TENANT, None, engine, status="open", scope=frozenset({"DEMO-RES"}))
    assert [i["id"] for i in page["items"]] == [ids[3]] and page["total"] == 1  # estate scope (ids[0]: OFFICE)
    # by status: lifecycle order (received < open < ... < resolved), ties newest first
    extra = register()["id"]
    by_status = [s for _, s in listed(engine, sort="status", order="asc")]
    assert by_status == ["received", "open", "open"] + ["resolved"] * 5 and listed(engine, sort="status")[0][0] == extra


@pytest.mark.parametrize("status", ["finished", "invalid", "RESOLVED", "x" * 100, ["resolved"]])
def test_a_status_outside_the_documented_set_is_a_400(engine, status):  # noqa: F811
    with pytest.raises(InvalidFilter) as refused:
        handlers.list_complaints(TENANT, None, engine, status=status)
    err = refused.value
    assert (err.status, err.code, err.details["field"]) == (400, "invalid_filter", "status")
    assert err.details["allowed"] == list(case_status.LIST_STATUSES)


def test_backfill_pages_through_workflow_and_never_moves_a_case_back(engine, register):  # noqa: F811
    ids = [register()["id"] for _ in range(5)]
    theirs = register(tenant=OTHER_TENANT["id"], estate="OTHER-RES")["id"]
    handle(engine, event("case_opened", ids[0], version=1))
    handle(engine, event("case_closed", ids[0], "closed", 9, minutes=60))  # newer than workflow's answer below
    workflow = {ids[0]: ("resolved", 8), ids[1]: ("in_progress", 3), ids[2]: ("deferred", 4), ids[3]: ("odd", 2)}
    asked = []

    def summaries(batch):  # workflow's case_summaries: unknown ids (ids[4]: no case yet) are left out
        asked.append(sorted(batch))
        return [{"complaint_id": i, "status": workflow[i][0], "version": workflow[i][1],
                 "updated_at": (T0 + dt.timedelta(minutes=30)).isoformat()} for i in batch if i in workflow]

    report = case_status.backfill(engine, TENANT, summaries, batch=2)
    assert report == {"tenant_id": TENANT, "complaints": 5, "cases": 4, "applied": 2, "unknown_status": 1}
    assert [len(b) for b in asked] == [2, 2, 1] and sorted(sum(asked, [])) == sorted(ids)  # theirs never asked
    assert [stored(engine, i) for i in ids] == [("closed", 9), ("in_progress", 3), ("deferred", 4), (None, None),
                                                (None, None)]
    assert stored(engine, theirs) == (None, None)
    assert case_status.backfill(engine, TENANT, summaries, batch=2)["applied"] == 2  # again: the same state
    assert set(case_status.tenants(engine)) == {TENANT, OTHER_TENANT["id"]}
    # --only-missing (scripts/run.sh at every start): tenants with a status-less complaint received before the time
    far = dt.datetime(2100, 1, 1, tzinfo=dt.timezone.utc)
    assert set(case_status.tenants(engine, missing_before=far)) == {TENANT, OTHER_TENANT["id"]}
    assert case_status.tenants(engine, missing_before=dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)) == []
    for i in (ids[3], ids[4]):
        handle(engine, event("case_assigned", i, "assigned", 2, minutes=90))
    assert case_status.tenants(engine, missing_before=far) == [OTHER_TENANT["id"]]


MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


def test_intake_service_follows_workflow_events_over_the_broker(container_factory, rabbit_config):
    with migrated_test_db("intake", MIGRATIONS) as target:
        db = make_engine(target)
        seed_demo(db)
        container = container_factory(IntakeService, service_config(rabbit_config, target))
        container.start()
        agent = {"tenant_id": TENANT, "user_id": "agent-1", "roles": [["agent", "DEMO-RES"]]}
        with ServiceRpcProxy("intake", rabbit_config, context_data=agent, timeout=15) as intake:
            ids = [intake.register_complaint({
                "estate": "DEMO-RES", "channel": "hotline", "description": f"电梯停运 {uuid.uuid4().hex[:8]}",
                "complainant": {"name": "周女士", "phone": f"139{uuid.uuid4().int % 10**8:08d}"}})["id"]
                for _ in range(2)]
            dispatch = event_dispatcher(rabbit_config)
            for entrypoint, envelope in [
                    ("on_case_opened", event("case_opened", ids[0], version=1)),
                    ("on_case_assigned", event("case_assigned", ids[0], "assigned", 1, minutes=1)),
                    ("on_case_resolved", event("case_resolved", ids[0], "resolved", 2, minutes=2)),
                    ("on_case_opened", event("case_opened", ids[1], version=1))]:
                with entrypoint_waiter(container, entrypoint, timeout=20):
                    dispatch("workflow", envelope.event_type, envelope.to_dict())
            assert [i["id"] for i in intake.list_complaints(status="resolved")["items"]] == [ids[0]]
            assert [(i["id"], i["status"]) for i in intake.list_complaints(status="open")["items"]] == [
                (ids[1], "open")]
            with pytest.raises(Exception, match="invalid_filter"):
                intake.list_complaints(status="done")
        office = agent | {"roles": [["agent", "DEMO-OFFICE"]]}
        with ServiceRpcProxy("intake", rabbit_config, context_data=office, timeout=15) as intake:
            assert intake.list_complaints(status="resolved")["total"] == 0  # not their estate
        db.dispose()
