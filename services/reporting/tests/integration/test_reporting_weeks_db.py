"""The week grain (revision r20w1e2e3k4s) on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL): the week
rollups are the daily ones summed per ISO week (Monday) through the handlers and after ``rebuild``; over rolling
ranges whose edge day ranges hold whole weeks (read from the week tables) the rollups by every dimension equal the
daily rollup alone, and the league table, the KPIs and the hot spots (per-period counts of every key, and the
flagged ones) equal the figures counted from the facts, for head office and for a site-scoped caller."""
import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import func, select, union_all

from estatedesk_common import prepared
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, queries, reports, repository
from reporting.domain.facts import COUNTS
from reporting.domain.hotspots import BASELINE_PERIODS, hot_spots as find_hot_spots
from reporting.domain.rollup import earlier_period
from reporting.domain.scope import Scope, scope_from_roles
from reporting.rebuild import rebuild
from reporting.tables import (complaint_daily, complaint_facts, place_daily, place_weekly, reliability,
                              weekly_by_category, weekly_by_estate, weekly_by_tenant)

pytestmark = pytest.mark.integration
ALL = Scope(None)
SITE = scope_from_roles([["site_manager", "E1"], ["site_manager", "E3"]])
NOW = dt.datetime(2026, 12, 1, 8, tzinfo=dt.timezone.utc)
d = dt.date.fromisoformat
# rolling ranges (the first two 91 days: 13 whole weeks) whose months' edges hold whole weeks: Aug 24-30, Nov 23-29;
# Jan 19-25, Apr 20-26; Sep 7-13 (September less Sep 1-13); one shorter than a month (November less Nov 2-8)
RANGES = [("2026-08-24", "2026-11-22"), ("2026-01-19", "2026-04-19"), ("2026-09-14", "2026-11-30"),
          ("2026-11-10", "2026-11-29")]
WEEKLY = (weekly_by_estate, weekly_by_tenant, weekly_by_category)


class Clock:
    def now(self):
        return NOW


def _received(engine, tenant, day: dt.date, estate, channel, category, severity, location):
    env = Envelope(event_type="complaint_received", tenant_id=tenant, payload=dict(
        complaint_id=str(uuid.uuid4()), reference="R", channel=channel, category=category, severity=severity,
        received_at=f"{day.isoformat()}T02:00:00+00:00", location=location,  # 10:00 in Shanghai: the same day
        estate={"code": estate, "name": estate, "kind": "residential", "timezone": "Asia/Shanghai"}))
    assert handlers.record_complaint_received(env, UnitOfWork(engine, reliability, Clock())) is True


@pytest.fixture
def tenant(engine):
    """~300 complaints from 2025-08 to 2026-11 over 3 estates, plus a burst at E1 (greening, 3栋) in the week of
    Nov 16 (hot spots to flag)."""
    tenant, rng = str(uuid.uuid4()), random.Random(20)
    first, days = d("2025-08-01"), (d("2026-11-30") - d("2025-08-01")).days + 1
    locations = ({"building": "3栋"}, {"facility": "电梯"}, {"building": "5栋", "facility": "会所"}, None)
    for _ in range(300):
        _received(engine, tenant, first + dt.timedelta(days=rng.randrange(days)), rng.choice(("E1", "E2", "E3")),
                  rng.choice(("hotline", "web", "wechat")), rng.choice(("greening", "lift", "security")),
                  rng.choice(("minor", "major")), rng.choice(locations))
    for k in range(8):
        _received(engine, tenant, d("2026-11-16") + dt.timedelta(days=k % 7), "E1", "web", "greening", "minor",
                  {"building": "3栋"})
    return tenant


def _rows(engine, table, tenant):
    with engine.connect() as conn:
        rows = conn.execute(select(table).where(table.c.tenant_id == tenant, table.c.received != 0)).mappings()
        return sorted(tuple(str(v) for v in r.values()) for r in rows)


def _weekly_from_daily(engine, table, source, tenant):
    """``table``'s rows as ``source`` (a daily rollup) summed per ISO week and ``table``'s dimensions."""
    keys = [c.name for c in table.primary_key.columns]
    counts = repository.table_counts(table)
    out: dict = {}
    with engine.connect() as conn:
        for r in conn.execute(select(source).where(source.c.tenant_id == tenant)).mappings():
            row = {**r, "week": r["day"] - dt.timedelta(days=r["day"].weekday())}
            bucket = out.setdefault(tuple(row[k] for k in keys), dict.fromkeys(counts, 0))
            for c in counts:
                bucket[c] += r[c]
    return sorted(tuple(str(v) for v in (*k, *(b[c] for c in counts))) for k, b in out.items() if b["received"])


def test_week_rollups_are_the_daily_rollups_summed_per_iso_week_through_handlers_and_rebuild(engine, tenant):
    sources = {**{t.name: complaint_daily for t in WEEKLY}, place_weekly.name: place_daily}
    tables = (*WEEKLY, place_weekly)
    expected = {t.name: _weekly_from_daily(engine, t, sources[t.name], tenant) for t in tables}
    assert {t.name: _rows(engine, t, tenant) for t in tables} == expected
    assert all(d(r[1]).weekday() == 0 for rows in expected.values() for r in rows) and expected["complaint_place_weekly"]
    with engine.begin() as conn:
        for table in tables:
            conn.execute(table.delete())
    rebuild(engine, progress=False)
    assert {t.name: _rows(engine, t, tenant) for t in tables} == expected


def _facts(engine, tenant) -> list:
    f = complaint_facts.c
    with engine.connect() as conn:
        return conn.execute(select(f.day, f.estate_code, f.channel, f.category, f.severity, f.building, f.facility)
                            .where(f.tenant_id == tenant)).all()


def _count(facts, lo, hi, scope, key=lambda r: None) -> dict:
    out: dict = {}
    for r in facts:
        if lo <= r.day <= hi and scope.allows(r.estate_code):
            out[key(r)] = out.get(key(r), 0) + 1
    return out


@pytest.mark.parametrize("start, end", RANGES)
def test_rolling_range_figures_read_through_the_weeks_equal_the_facts(engine, tenant, start, end):
    start, end = d(start), d(end)
    facts = _facts(engine, tenant)
    assert any(grain == "week" for grain, *_ in queries.hot_ranges(start, end))
    previous = earlier_period(start, end)
    with engine.connect() as conn:
        for scope in (ALL, SITE):
            for by in [(), ("estate",), ("category",), ("channel",), ("severity",), ("estate", "category"),
                       ("channel", "category", "severity")]:
                got = {tuple(r[n] for n in by): r for r in queries.rollup(conn, tenant, start, end, scope, by)
                       if r["received"]}
                daily = {tuple(r[n] for n in by): {**{n: r[n] for n in by}, **{c: int(r[c]) for c in COUNTS}}
                         for r in queries._sum_rows(conn, complaint_daily, "day", start, end, tenant, scope, by)
                         if r["received"]}
                assert got == daily, (scope, by)
                dims = {"estate": "estate_code"}
                assert {k: r["received"] for k, r in got.items()} == _count(
                    facts, start, end, scope, lambda r: tuple(getattr(r, dims.get(n, n)) for n in by)), (scope, by)
    for scope in (ALL, SITE):
        league = reports.league_table(tenant, scope, engine, NOW, start.isoformat(), end.isoformat())["rows"]
        current, before = (_count(facts, lo, hi, scope, lambda r: r.estate_code) for lo, hi in ((start, end), previous))
        assert {r["estate"]: (r["received"], r["previous_received"]) for r in league} == {
            e: (current.get(e, 0), before.get(e, 0)) for e in set(current) | set(before)}, scope
        kpis = reports.kpis(tenant, scope, engine, NOW, start.isoformat(), end.isoformat())
        assert kpis["received"] == sum(current.values()), scope
        for dim in ("channel", "category", "severity"):
            assert {b["key"]: b["received"] for b in kpis[f"by_{dim}"]} == _count(
                facts, start, end, scope, lambda r: getattr(r, dim)), (scope, dim)
        _check_hot_spots(engine, tenant, facts, start, end, scope)


def _check_hot_spots(engine, tenant, facts, start, end, scope):
    periods = [(start, end)] + [earlier_period(start, end, k) for k in range(1, BASELINE_PERIODS + 1)]
    shape, params = queries._hot_shape(periods)
    params["tenant_id"] = tenant
    if not scope.everything:
        params["estates"] = sorted(scope.estates)
    keyed = {"pairs": (("estate", "category"), lambda r: [(r.estate_code, r.category)]),
             "places": (("estate", "kind", "name"), lambda r: [(r.estate_code, kind, name) for kind, name in
                                                              (("building", r.building), ("facility", r.facility))
                                                              if name])}
    for family, (keys, keys_of) in keyed.items():
        src = union_all(*queries._hot_parts(family, shape, scope.everything)).subquery()
        q = select(*[src.c[k] for k in keys], *[func.sum(src.c[f"c{k}"]) for k in range(len(periods))]).group_by(
            *[src.c[k] for k in keys])
        with engine.connect() as conn:
            got = {tuple(r[:len(keys)]): [int(c) for c in r[len(keys):]] for r in prepared.execute(conn, q, params)}
        want: dict = {}
        for r in facts:
            for k, (lo, hi) in enumerate(periods):
                if lo <= r.day <= hi and scope.allows(r.estate_code):
                    for key in keys_of(r):
                        want.setdefault(key, [0] * len(periods))[k] += 1
        assert {k: c for k, c in got.items() if any(c)} == want, (family, scope)
    spots = reports.hot_spots(tenant, scope, engine, start.isoformat(), end.isoformat())
    families = {"categories": (lambda r: [r.category], ("category",)),
                "estates": (lambda r: [r.estate_code], ("estate",)),
                "estate_categories": (lambda r: [(r.estate_code, r.category)], ("estate", "category")),
                "buildings": (lambda r: [(r.estate_code, r.building)] if r.building else [], ("estate", "building")),
                "facilities": (lambda r: [(r.estate_code, r.facility)] if r.facility else [], ("estate", "facility"))}
    for family, (keys_of, fields) in families.items():
        per: dict = {}
        for r in facts:
            for k, (lo, hi) in enumerate(periods):
                if lo <= r.day <= hi and scope.allows(r.estate_code):
                    for key in keys_of(r):
                        per.setdefault(key, [0] * len(periods))[k] += 1
        expected = find_hot_spots({key: c[0] for key, c in per.items()}, {key: c[:0:-1] for key, c in per.items()})
        got = [(tuple(item[f] for f in fields) if len(fields) > 1 else item[fields[0]], item["count"],
                item["baseline"]) for item in spots[family]]
        assert got == [(e["key"], e["count"], e["baseline"]) for e in expected], (family, scope)
