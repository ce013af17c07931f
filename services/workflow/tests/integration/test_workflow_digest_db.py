"""digest_figures (notify's managers' daily digest) on a real database (SQLite, and PostgreSQL with
TEST_DATABASE_URL): the window's new and resolved cases, the open ones' flags, the worst cases per estate in order,
estate scope from roles (every estate for a service call), tenant isolation."""
import datetime as dt

import pytest
from sqlalchemy import update

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.errors import ValidationFailed

from workflow import digest
from workflow.tables import case_extensions, cases

from test_workflow_workload_db import case_with, engine  # noqa: F401 - the seeded engine fixture

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
HOUR = dt.timedelta(hours=1)


def _set(engine, case_id, tenant=TENANT, **values):
    with engine.begin() as conn:
        conn.execute(update(cases).where(cases.c.tenant_id == tenant, cases.c.id == case_id).values(**values))


def _figures(engine, clock, roles=None, tenant=TENANT, worst=10):
    now = clock.now()  # 2026-11-24 02:00 UTC = 10:00 in Shanghai; "yesterday" = 23 Nov local
    since, until = dt.datetime(2026, 11, 22, 16, tzinfo=dt.timezone.utc), dt.datetime(2026, 11, 23, 16,
                                                                                     tzinfo=dt.timezone.utc)
    with engine.connect() as conn:
        return digest.digest_figures(conn, tenant, roles, since.isoformat(), until.isoformat(),
                                     (until + 24 * HOUR).isoformat(), now, worst)


def test_counts_per_estate_and_the_worst_cases_first(engine, clock):
    late = case_with(engine, clock, assignee="wang", due_in=-5 * HOUR)
    later = case_with(engine, clock, assignee="wang", due_in=-HOUR)
    today = case_with(engine, clock, due_in=3 * HOUR)                      # due before local midnight
    tomorrow = case_with(engine, clock, due_in=30 * HOUR)                  # nothing to flag
    escalated = case_with(engine, clock, due_in=30 * HOUR)
    _set(engine, escalated, escalation_level=2)
    paused = case_with(engine, clock, status="deferred", due_in=-HOUR)     # clocks paused: never overdue
    asked = case_with(engine, clock, due_in=30 * HOUR)
    with engine.begin() as conn:
        conn.execute(case_extensions.insert().values(
            tenant_id=TENANT, case_id=asked, seq=1, stage="resolution", status="pending", due_at=clock.now(),
            new_due_at=clock.now() + 48 * HOUR, reason="等配件", requested_by="agent", requested_rank=1,
            requested_at=clock.now()))
    yesterday = dt.datetime(2026, 11, 23, 3, tzinfo=dt.timezone.utc)
    done = case_with(engine, clock, status="resolved")
    _set(engine, done, received_at=yesterday, resolved_at=yesterday + HOUR)
    _set(engine, tomorrow, received_at=yesterday)
    case_with(engine, clock, estate="DEMO-OFFICE", due_in=-HOUR)
    case_with(engine, clock, due_in=-HOUR, tenant=OTHER_TENANT["id"])

    found = _figures(engine, clock)
    by_estate = {e["estate"]: e for e in found["estates"]}
    assert set(by_estate) == {"DEMO-OFFICE", "DEMO-RES"}
    res = by_estate["DEMO-RES"]
    assert {k: res[k] for k in digest.COUNTS} == {"new": 2, "resolved": 1, "open": 7, "overdue": 2, "due_today": 1,
                                                  "escalated": 1, "extensions_pending": 1}
    assert res["estate_name"] == "环球金融中心"  # as the case was opened (the test envelope's name)
    assert by_estate["DEMO-OFFICE"]["overdue"] == 1 and by_estate["DEMO-OFFICE"]["new"] == 0
    worst = [i["complaint_id"] for i in found["items"] if i["estate"] == "DEMO-RES"]
    assert worst == [late, later, escalated, asked, today]  # tomorrow's and the paused case are not listed
    first = found["items"][0] if found["items"][0]["estate"] == "DEMO-RES" else found["items"][1]
    assert first["overdue"] and first["assignee"] == "wang" and first["next_deadline"]["stage"]
    assert first["next_deadline"]["due_at"] == (clock.now() - 5 * HOUR).isoformat()
    assert paused not in worst
    assert [i["complaint_id"] for i in _figures(engine, clock, worst=2)["items"]
            if i["estate"] == "DEMO-RES"] == [late, later]


def test_scope_from_roles_and_service_calls(engine, clock):
    case_with(engine, clock, due_in=-HOUR)
    case_with(engine, clock, estate="DEMO-OFFICE", due_in=-HOUR)
    assert {e["estate"] for e in _figures(engine, clock)["estates"]} == {"DEMO-RES", "DEMO-OFFICE"}  # service
    assert {e["estate"] for e in _figures(engine, clock, [["site_manager", "DEMO-RES"]])["estates"]} == {"DEMO-RES"}
    assert {i["estate"] for i in _figures(engine, clock, [["site_manager", "DEMO-RES"]])["items"]} == {"DEMO-RES"}
    assert _figures(engine, clock, [])["estates"] == []  # a person without roles: nothing (fail closed)
    assert _figures(engine, clock, tenant=OTHER_TENANT["id"])["estates"] == []


def test_bad_windows_are_refused(engine, clock):
    with engine.connect() as conn:
        with pytest.raises(ValidationFailed) as bad:
            digest.digest_figures(conn, TENANT, None, "yesterday", "2026-11-24T00:00:00+08:00",
                                  "2026-11-25T00:00:00+08:00", clock.now())
        assert bad.value.details["field"] == "since"
        with pytest.raises(ValidationFailed):
            digest.digest_figures(conn, TENANT, None, "2026-11-24T00:00:00+08:00", "2026-11-23T00:00:00+08:00",
                                  "2026-11-25T00:00:00+08:00", clock.now())
