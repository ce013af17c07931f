"""The new drill-downs' SQL on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL): escalation levels
(string match on "1,2,3"), handling slowest first, extensions, and the quality records' cases (JSON case ids)."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, reports
from reporting.domain.scope import Scope, scope_from_roles
from reporting.tables import reliability

pytestmark = pytest.mark.integration
ALL = Scope(None)
NOW = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)
DAY = "2026-11-24"
ESTATE = {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai"}


class Clock:
    def now(self):
        return NOW


def _env(event_type, tenant, **payload):
    return Envelope(event_type=event_type, tenant_id=tenant, payload=payload,
                    occurred_at="2026-11-25T00:00:00+00:00")


def test_new_drilldowns_on_the_database(engine):
    tenant = str(uuid.uuid4())
    uow = lambda: UnitOfWork(engine, reliability, Clock())  # noqa: E731
    cases = [str(uuid.uuid4()) for _ in range(4)]
    for cid in cases:
        handlers.record_complaint_received(_env("complaint_received", tenant, complaint_id=cid, reference="R",
                                                estate=ESTATE, channel="hotline",
                                                received_at="2026-11-24T02:00:00+00:00"), uow())
    body = {"reference": "R", "estate_code": "DEMO-RES"}
    a, b, c, d = cases
    for cid, level in ((a, 1), (a, 2), (b, 12), (c, 1)):  # 12: above the top, counts as level 3 (not as 1 or 2)
        handlers.record_case_event(_env("case_escalated", tenant, case_id=cid, complaint_id=cid, level=level, **body),
                                   uow())
    for cid, hours in ((a, 3.0), (b, 40.0), (c, None)):
        extra = {} if hours is None else {"handling_working_hours": hours}
        handlers.record_case_event(_env("case_resolved", tenant, case_id=cid, complaint_id=cid,
                                        at="2026-11-26T02:00:00+00:00", **extra, **body), uow())
    handlers.record_case_event(_env("extension_requested", tenant, case_id=d, complaint_id=d, stage="resolution",
                                    at="2026-11-25T02:00:00+00:00", **body), uow())
    handlers.record_quality_event(_env("capa_opened", tenant, capa_id="k1", estate_code="DEMO-RES",
                                       cause="facility_fault", trigger="cluster", case_ids=[b, d], owner="工程部",
                                       due_at="2026-11-29T04:00:00+00:00", at="2026-11-24T04:00:00+00:00"), uow())
    handlers.record_quality_event(_env("nonconformity_opened", tenant, record_id="n1", case_id=a, complaint_id=a,
                                       estate_code="DEMO-RES", cause="staff_fault_with_loss", loss_amount=800,
                                       at="2026-11-24T04:00:00+00:00"), uow())

    def ids(metric, scope=ALL, **kw):
        page = reports.drilldown(tenant, scope, engine, NOW, metric, DAY, "2026-11-30", **kw)
        return [i["complaint_id"] for i in page["items"]]

    assert sorted(ids("escalated_level_1")) == sorted([a, c]) and ids("escalated_level_2") == [a]
    assert ids("escalated_level_3") == [b]
    assert ids("handling_measured") == [b, a] and ids("handling_unmeasured") == [c]
    assert ids("extensions_requested") == [d] and ids("extensions_approved") == []
    assert sorted(ids("capa_overdue")) == sorted([b, d]) and ids("nonconformity_records") == [a]
    assert ids("capa_open", scope_from_roles([["site_manager", "DEMO-OTHER"]])) == []
    assert ids("capa_open", limit=1, offset=1) and len(ids("capa_open", limit=1)) == 1
