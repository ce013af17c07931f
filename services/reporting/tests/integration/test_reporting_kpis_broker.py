"""The case-lifecycle KPIs through a real broker and database (SQLite, or PostgreSQL with TEST_DATABASE_URL):
workflow's and notify's events arrive before the complaint and twice, the figures come out once; the p90 is
``percentile_cont`` in SQL on PostgreSQL and the same interpolation in Python on SQLite."""
import datetime as dt
import time
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope

from reporting import queries
from reporting.domain.scope import Scope

from test_reporting_events import complaint_received, rpc

pytestmark = pytest.mark.integration
ESTATE = {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"}
DAY = "2026-11-24"


def envelope(event_type, tenant, cid, occurred_at="2026-11-25T00:00:00+00:00", **payload):
    return Envelope(event_type=event_type, tenant_id=tenant, occurred_at=occurred_at, payload={
        "case_id": cid, "complaint_id": cid, "reference": "R", "estate_code": "DEMO-RES", **payload}).to_dict()


def case_opened(tenant, cid):
    return envelope("case_opened", tenant, cid, estate=ESTATE, channel="hotline", received_at="2026-11-24T02:00:00+00:00",
                    opened_at="2026-11-24T02:00:01+00:00", deadlines=[
                        {"stage": "first_contact", "due_at": "2026-11-24T03:00:00+00:00"},
                        {"stage": "resolution", "due_at": "2026-11-27T09:30:00+00:00"}])


def life(tenant, cid, resolved_at, hours, satisfaction):
    source = "callback_completed" if satisfaction != "dissatisfied" else "callback_dissatisfied"
    return [("workflow", envelope("case_contacted", tenant, cid, at="2026-11-24T02:20:00+00:00")),
            ("workflow", envelope("case_resolved", tenant, cid, at=resolved_at, handling_working_hours=hours,
                                  nonconformity_required=False)),
            ("notify", envelope(source, tenant, cid, "2026-11-29T00:00:00+00:00", satisfaction=satisfaction))]


def wait_for(call, ready, timeout=20):
    deadline = time.monotonic() + timeout
    while True:
        value = call()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_lifecycle_events_in_any_order_and_twice_give_the_kpis(reporting, service_config):
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    hours = [2.0, 4.0, 8.0, 16.0, 40.0]
    cases = [str(uuid.uuid4()) for _ in hours]
    events = []
    for cid, h in zip(cases, hours):
        late = h == 40.0
        events += life(tenant, cid, "2026-11-28T02:00:00+00:00" if late else "2026-11-25T02:00:00+00:00", h,
                       "dissatisfied" if late else "satisfied")
    events.append(("workflow", envelope("case_escalated", tenant, cases[-1], level=1)))
    for source, body in events + events:  # before the complaint exists, and redelivered
        dispatch(source, body["event_type"], body)
    with entrypoint_waiter(reporting, "on_case_opened", timeout=20, callback=lambda *a: True):
        for cid in cases:
            received = complaint_received(tenant)
            received["payload"]["complaint_id"] = cid
            dispatch("intake", "complaint_received", received)
            dispatch("workflow", "case_opened", case_opened(tenant, cid))

    with rpc(service_config, tenant) as reporting_rpc:
        k = wait_for(lambda: reporting_rpc.kpis(DAY, DAY),
                     lambda k: k["received"] == 5 and k["callbacks"]["answered"] == 5 and k["escalated"] == 1
                     and k["resolution"]["resolved"] == 5
                     and k["resolution"]["with_deadline"] == 5)  # every case_opened (its deadlines) applied too
        assert k["received"] == 5 and k["first_contact_on_time_pct"] == 100.0
        assert k["resolution"]["on_time"] == 4 and k["resolved_within_limit_pct"] == 80.0
        assert k["handling_hours_avg"] == 14.0 and k["handling_hours_p90"] == 30.4  # 16 + 0.6 * 24
        assert (k["callback_coverage_pct"], k["satisfaction_pct"]) == (100.0, 80.0)
        assert k["escalations_by_level"][0] == {"level": 1, "cases": 1}
        page = reporting_rpc.drilldown("resolved_late", DAY, DAY)
        assert [i["complaint_id"] for i in page["items"]] == [cases[-1]]
    with rpc(service_config, str(uuid.uuid4())) as other:
        assert other.kpis(DAY, DAY)["resolution"]["resolved"] == 0


def test_p90_and_resolution_overdue_queries(engine, reporting, service_config):
    """The queries themselves on this database: the p90 per estate scope, and overdue resolutions."""
    tenant = str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    cid = str(uuid.uuid4())
    received = complaint_received(tenant)
    received["payload"]["complaint_id"] = cid
    with entrypoint_waiter(reporting, "on_case_opened", timeout=20):
        dispatch("intake", "complaint_received", received)
        dispatch("workflow", "case_opened", case_opened(tenant, cid))
    day = dt.date(2026, 11, 24)
    with engine.connect() as conn:
        now = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
        assert queries.overdue(conn, tenant, day, day, Scope(None), now, stage="resolution") == 1
        assert queries.overdue(conn, tenant, day, day, Scope(frozenset({"OTHER"})), now, stage="resolution") == 0
        assert queries.handling_p90(conn, tenant, day, day, Scope(None)) is None
