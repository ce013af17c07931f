"""The dashboard projections of revision r15s1p2e3e4d (``complaint_monthly_estate``, ``complaint_daily_estate``,
``complaint_monthly_tenant``) on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL): moved by the same
deltas as ``complaint_daily`` (a redelivered event and a reclassification included), equal to the daily rollup
summed, refilled by ``rebuild``; and the dashboard answers read from them equal those from ``complaint_daily``
alone, for head office and for a site-scoped caller."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, queries, reports
from reporting.domain.facts import COUNTS
from reporting.domain.scope import Scope, scope_from_roles
from reporting.rebuild import rebuild
from reporting.tables import complaint_daily, daily_by_estate, monthly_by_estate, monthly_by_tenant, reliability

pytestmark = pytest.mark.integration
ALL = Scope(None)
NOW = dt.datetime(2026, 11, 30, 8, tzinfo=dt.timezone.utc)
PROJECTIONS = (monthly_by_estate, daily_by_estate, monthly_by_tenant)


class Clock:
    def now(self):
        return NOW


def _uow(engine):
    return UnitOfWork(engine, reliability, Clock())


def _received(engine, tenant, at, estate="E1", channel="hotline", category="greening"):
    env = Envelope(event_type="complaint_received", tenant_id=tenant, payload=dict(
        complaint_id=str(uuid.uuid4()), reference="R", channel=channel, category=category, severity="minor",
        received_at=at, estate={"code": estate, "name": estate, "kind": "residential", "timezone": "Asia/Shanghai"}))
    assert handlers.record_complaint_received(env, _uow(engine)) is True
    return env


def _rows(engine, table, tenant):
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.tenant_id == tenant, table.c.received != 0)).mappings()
        return sorted(tuple(str(v) for v in r.values()) for r in rows)


def _summed_daily(engine, table, tenant):
    """``table``'s rows as the daily rollup summed over the dimensions it leaves out."""
    keys = [c.name for c in table.primary_key.columns]
    out = {}
    with engine.connect() as conn:
        for r in conn.execute(select(complaint_daily).where(complaint_daily.c.tenant_id == tenant)).mappings():
            row = {**r, "month": r["day"].replace(day=1)}
            bucket = out.setdefault(tuple(str(row[k]) for k in keys), dict.fromkeys(COUNTS, 0))
            for c in COUNTS:
                bucket[c] += r[c]
    return sorted((*k, *(str(v[c]) for c in COUNTS)) for k, v in out.items() if v["received"])


def test_projections_follow_the_daily_rollup_through_redelivery_reclassification_and_rebuild(engine):
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    sent = [_received(engine, tenant, at, estate, channel)
            for at, estate, channel in [("2026-10-31T17:00:00+00:00", "E1", "web"),   # Nov 1 in Shanghai
                                        ("2026-11-02T02:00:00+00:00", "E1", "hotline"),
                                        ("2026-11-02T03:00:00+00:00", "E2", "hotline"),
                                        ("2026-12-01T02:00:00+00:00", "E2", "wechat")]]
    _received(engine, other, "2026-11-02T02:00:00+00:00")
    assert handlers.record_complaint_received(sent[1], _uow(engine)) is False  # redelivered: counted once
    handlers.record_complaint_reclassified(Envelope(
        event_type="complaint_reclassified", tenant_id=tenant,
        payload={"complaint_id": sent[2].payload["complaint_id"], "new_category": "security",
                 "new_severity": "major", "reclassified_at": "2026-11-03T00:00:00+00:00"}), _uow(engine))
    expected = {t.name: _summed_daily(engine, t, tenant) for t in PROJECTIONS}
    assert {t.name: _rows(engine, t, tenant) for t in PROJECTIONS} == expected
    assert [r[2:4] for r in expected["complaint_monthly_estate"]] == [("E1", "2"), ("E2", "1"), ("E2", "1")]
    assert sum(int(r[5]) for r in expected["complaint_monthly_tenant"]) == 4
    with engine.begin() as conn:
        for table in PROJECTIONS:
            conn.execute(table.delete())
    rebuild(engine, progress=False)
    assert {t.name: _rows(engine, t, tenant) for t in PROJECTIONS} == expected
    assert _rows(engine, monthly_by_estate, other) != []


def test_dashboard_reads_from_the_projections_equal_the_daily_rollup(engine):
    tenant = str(uuid.uuid4())
    for at, estate, channel, category in [("2026-10-15T02:00:00+00:00", "E1", "web", "greening"),
                                          ("2026-10-31T17:00:00+00:00", "E1", "hotline", "lift"),
                                          ("2026-11-01T02:00:00+00:00", "E2", "hotline", "greening"),
                                          ("2026-11-30T02:00:00+00:00", "E2", "wechat", None),
                                          ("2026-12-01T02:00:00+00:00", "E1", "web", "lift")]:
        _received(engine, tenant, at, estate, channel, category)
    site = scope_from_roles([["site_manager", "E2"]])
    with engine.connect() as conn:
        for start, end in [("2026-10-01", "2026-12-31"), ("2026-10-16", "2026-11-30"), ("2026-11-01", "2026-11-01")]:
            s, e = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
            for scope in (ALL, site):
                for by in [(), ("estate",), ("category",), ("channel",), ("severity",), ("estate", "category")]:
                    got = {tuple(r[n] for n in by): r for r in queries.rollup(conn, tenant, s, e, scope, by)
                           if r["received"]}
                    daily = {tuple(r[n] for n in by): {**{n: r[n] for n in by}, **{c: int(r[c]) for c in COUNTS}}
                             for r in queries._sum_rows(conn, complaint_daily, "day", s, e, tenant, scope, by)
                             if r["received"]}
                    assert got == daily, (start, end, scope, by)
    assert queries._month_table((), ALL) is monthly_by_tenant
    assert queries._month_table((), site) is monthly_by_estate  # a site's caller: never the tenant-wide table
    assert [r["received"] for r in reports.league_table(tenant, site, engine, NOW, "2026-11-01", "2026-11-30")["rows"]
            ] == [2]
