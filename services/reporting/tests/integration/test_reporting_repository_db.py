"""The upserts and tenant filter on the integration database (PostgreSQL when TEST_DATABASE_URL is set)."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.db import SystemClock
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, repository
from reporting.tables import reliability

pytestmark = pytest.mark.integration


def event(tenant_id, name="锦绣花园", received_at="2026-11-24T16:30:00+00:00"):
    payload = {"complaint_id": str(uuid.uuid4()), "channel": "web", "category": "noise", "severity": None,
               "received_at": received_at,
               "estate": {"code": "E1", "name": name, "kind": "residential", "timezone": "Asia/Shanghai"}}
    return Envelope(event_type="complaint_received", tenant_id=tenant_id, payload=payload)


def test_upserts_and_tenant_filter(engine):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    for tenant, name in [(mine, "甲"), (mine, "甲二"), (theirs, "乙")]:
        handlers.record_complaint_received(event(tenant, name), UnitOfWork(engine, reliability, SystemClock()))
    with engine.connect() as conn:
        rows = repository.daily_rows(conn, mine)
    assert [(r["day"], r["category"], r["severity"], r["received"]) for r in rows] == [
        (dt.date(2026, 11, 25), "noise", "", 2)]
    assert handlers.complaint_counts(mine, "2026-11-25", "2026-11-25", engine) == {
        "total": 2, "rows": [{"estate": "E1", "estate_name": "甲二", "channel": "web", "count": 2}]}
