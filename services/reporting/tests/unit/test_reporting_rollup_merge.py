"""rollup_merge: the deltas a handler writes, and one merge of many deltas equal to applying them one by one."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from reporting import repository, rollup_merge
from reporting.domain.facts import CaseFact
from reporting.domain.rollup import EstateSnapshot
from reporting.tables import estate_names, monthly_by_estate, rollup_deltas

T = dt.datetime(2026, 11, 24, 2, tzinfo=dt.timezone.utc)


def _at(hours):
    return T + dt.timedelta(hours=hours)


def _estate(units, name="锦绣花园"):
    return EstateSnapshot("DEMO-RES", name, "residential", "Asia/Shanghai", "EAST", units)


def _fact(tenant, **kw):
    base = dict(estate_code="DEMO-RES", channel="hotline", day=dt.date(2026, 11, 24), received_at=T)
    return CaseFact(tenant, str(uuid.uuid4()), **{**base, **kw})


def test_the_delta_body_holds_the_nonzero_counts_the_locations_and_the_snapshot():
    old = _fact("t", category="greening")
    new = CaseFact(**{**old.__dict__, "category": "lift", "reclassified": True, "building": "1号楼"})
    body = rollup_merge.delta_body(old, new, _estate(800), T)
    assert body["daily"] == [["2026-11-24", "DEMO-RES", "hotline", "greening", "", {"received": -1}],
                             ["2026-11-24", "DEMO-RES", "hotline", "lift", "", {"received": 1, "reclassified": 1}]]
    assert body["location"] == [["2026-11-24", "DEMO-RES", "1号楼", "", 1]]
    assert body["estate"]["units"] == 800 and body["estate"]["as_of"] == T.isoformat()
    assert rollup_merge.delta_body(old, old, None, None) is None


def _names(engine, tenant):
    with engine.connect() as conn:
        row = conn.execute(select(estate_names.c.name, estate_names.c.units, estate_names.c.as_of)
                           .where(estate_names.c.tenant_id == tenant)).one()
    return tuple(row)


@pytest.mark.parametrize("stored, batch", [
    ((10, 5), [(5, 7, "旧"), (12, None, "新")]),      # the snapshot with units is older than the stored one
    ((10, 5), [(11, 7, "中"), (12, None, "新")]),     # newer: its units count
    ((10, 5), [(12, None, "新"), (11, 7, "中")]),     # arrived late, still newer than the stored count: kept
    ((10, 5), [(9, 7, "旧"), (8, 6, "更旧")]),         # both older: nothing changes
    (None, [(3, None, "甲"), (2, 9, "乙"), (3, 4, "丙")]),  # a tie on as_of: the later one wins, as one by one
])
def test_merged_estate_snapshots_equal_applying_them_one_by_one_oldest_first(engine, stored, batch):
    """Oldest ``as_of`` first (ties in arrival order): one by one in arrival order, a late older snapshot would be
    refused whole, its unit count too, although it is newer than the count held."""
    one_by_one, merged = str(uuid.uuid4()), str(uuid.uuid4())
    with engine.begin() as conn:
        for tenant in (one_by_one, merged):
            if stored:
                repository.upsert_estate(conn, tenant, _estate(stored[1], "原"), _at(stored[0]))
        for hours, units, name in sorted(batch, key=lambda s: s[0]):
            repository.upsert_estate(conn, one_by_one, _estate(units, name), _at(hours))
        for hours, units, name in batch:
            body = rollup_merge.delta_body(CaseFact(merged, "c"), CaseFact(merged, "c"), _estate(units, name),
                                           _at(hours))
            repository.add_delta(conn, merged, body, T)
    assert rollup_merge.merge_pending(engine) == len(batch)
    assert _names(engine, merged) == _names(engine, one_by_one)


def test_a_merge_sums_many_deltas_into_one_row_per_key_and_empties_the_table(engine):
    tenant = str(uuid.uuid4())
    with engine.begin() as conn:
        for i in range(5):
            new = _fact(tenant, category=("greening", "lift")[i % 2])
            repository.add_delta(conn, tenant, rollup_merge.delta_body(CaseFact(tenant, new.complaint_id), new,
                                                                       None, None), T)
    assert rollup_merge.merge_pending(engine, batch=3) == 3  # the oldest three first
    assert rollup_merge.merge_pending(engine, batch=3) == 2
    with engine.connect() as conn:
        rows = conn.execute(select(monthly_by_estate.c.received).where(monthly_by_estate.c.tenant_id == tenant)).all()
        left = conn.execute(select(rollup_deltas)).all()
    assert rows == [(5,)] and left == []
