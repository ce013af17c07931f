"""The callback queue sorted in the query (SQLite, and PostgreSQL with TEST_DATABASE_URL): each key both ways,
ties by creation then id, pages cut after sorting, unknown keys refused."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import update

from estatedesk_common.envelope import Envelope
from estatedesk_common.sorting import InvalidSort
from estatedesk_common.unit_of_work import UnitOfWork
from notify import callbacks
from notify.tables import callbacks as table
from notify.tables import reliability

pytestmark = pytest.mark.integration
TENANT = str(uuid.uuid4())
HQ = [["head_office", None]]


@pytest.fixture
def keys(engine, fake_clock):
    """a: RES resolved 06:00 (claimed), b: OFFICE 03:00, c: RES 09:00 (retry at 00:00), d: OFFICE 08:00."""
    names = {}
    for key, estate, hour in [("a", "DEMO-RES", "06"), ("b", "DEMO-OFFICE", "03"), ("c", "DEMO-RES", "09"),
                              ("d", "DEMO-OFFICE", "08")]:
        complaint_id = str(uuid.uuid4())
        env = Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
            "case_id": complaint_id, "complaint_id": complaint_id, "reference": f"TS-{key}", "estate_code": estate,
            "by": "fixer", "cause": "facility_fault", "remedy": "修好了", "at": f"2026-11-24T{hour}:00:00+00:00"})
        names[callbacks.on_case_resolved(env, UnitOfWork(engine, reliability, fake_clock))] = key
        fake_clock.advance(minutes=1)
    ids = {v: k for k, v in names.items()}
    with engine.begin() as conn:
        conn.execute(update(table).where(table.c.id == ids["a"]).values(status="claimed", claimed_by="cs-1"))
        conn.execute(update(table).where(table.c.id == ids["c"]).values(  # a retry before the others are due
            next_attempt_at=dt.datetime(2026, 11, 24, 0, 0, tzinfo=dt.timezone.utc)))

    def listed(**args):
        return "".join(names[i["id"]] for i in callbacks.list_callbacks(TENANT, HQ, engine, **args)["items"])
    return listed


@pytest.mark.parametrize("args, expected", [
    ({}, "cbad"),  # the queue's order: earliest due or retry first (c's retry is at 00:00)
    ({"sort": "due_at", "order": "desc"}, "dabc"),
    ({"sort": "resolved_at", "order": "asc"}, "badc"), ({"sort": "resolved_at", "order": "desc"}, "cdab"),
    ({"sort": "estate", "order": "asc"}, "bdac"),  # DEMO-OFFICE before DEMO-RES, ties by creation
    ({"sort": "estate", "order": "desc"}, "acbd"),
    ({"sort": "status", "order": "asc"}, "bcda"), ({"sort": "status", "order": "desc"}, "abcd"),
])
def test_each_key_both_ways(keys, args, expected):
    assert keys(**args) == expected


def test_pages_are_cut_after_sorting(keys):
    assert keys(sort="resolved_at", order="desc", limit=3) + keys(sort="resolved_at", order="desc", limit=3,
                                                                  offset=3) == "cdab"
    assert keys(sort="resolved_at", order="desc", status="open") == "cdb"


@pytest.mark.parametrize("args, field", [({"sort": "severity"}, "sort"), ({"sort": "words"}, "sort"),
                                         ({"order": "random"}, "order")])
def test_unknown_key_or_order_is_refused(engine, args, field):
    with pytest.raises(InvalidSort) as refused:
        callbacks.list_callbacks(TENANT, HQ, engine, **args)
    assert (refused.value.status, refused.value.details["field"]) == (400, field)
