"""Head-office dashboard queries on the rollups against a naive GROUP BY over the raw facts, same run, same DB.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:54345/estatedesk \\
      .venv/bin/python bench/reporting.py            # --n 200000 (2 tenants, 100 estates) is the default
    ... bench/reporting.py --full                    # the issue's size: 10,000,000 facts, 5,000 estates, 50 tenants

1. a throwaway schema migrated with reporting's own Alembic revisions (the real tables and indexes);
2. N complaint facts over the 365 days before 2026-11-24, spread evenly over tenants and estates, loaded with
   ``COPY`` (psycopg2 ``copy_expert``) in 250,000-row chunks with a progress bar, the next chunk generated while
   the server copies the previous one; the facts' primary key and indexes are dropped for the load and built
   after it (one sort each instead of 10 M random B-tree inserts); each fact has a first-contact deadline one
   hour after receipt and an acknowledgement on time (85 %), late (10 %) or none (5 %);
3. the rollups built with one ``INSERT .. SELECT .. GROUP BY`` each (``complaint_daily`` from the facts with the
   same sums as ``reporting.domain.facts.contribution``; every projection in ``repository.MONTHLY_TABLES`` from
   it, the location rollups from the facts), their primary keys built after the insert; at <= 1,000,000 facts
   ``reporting.rebuild`` also runs, is timed, and must produce the same rows in every rollup;
4. for a calendar quarter (2026-07-01 .. 2026-09-30: whole months) and a rolling 91 days (2026-08-24 ..
   2026-11-22: months plus edge days), rotating over the tenants: the league table, the KPIs and the hot spots
   as the service computes them (``reporting.reports``, on the rollups) and the same figures from a naive
   GROUP BY over the raw facts (using the facts' ``(tenant_id, day)`` index); p50/p95 and the ratio naive/rollup.
   ``--explain`` prints EXPLAIN (ANALYZE, BUFFERS) of every statement one call of each issues.

The schema is dropped on exit (``--keep`` keeps it). Absolute times depend on the machine; compare ratios.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import datetime as dt
import io
import os
import random
import statistics
import sys
import time
import uuid

# this file is bench/reporting.py: keep its folder off the path so ``import reporting`` finds the service package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

from sqlalchemy import event, text  # noqa: E402

from estatedesk_common.config import DbTarget, db_target  # noqa: E402
from estatedesk_common.db import make_engine  # noqa: E402
from estatedesk_common.migrate import upgrade  # noqa: E402
from reporting import queries, reports, repository  # noqa: E402
from reporting.domain import figures  # noqa: E402
from reporting.domain.hotspots import BASELINE_PERIODS, hot_spots as find_hot_spots  # noqa: E402
from reporting.domain.rollup import earlier_period  # noqa: E402
from reporting.domain.scope import Scope  # noqa: E402
from reporting.rebuild import rebuild  # noqa: E402
from reporting.tables import complaint_daily, place_daily, place_monthly, place_quarterly, place_weekly  # noqa: E402

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "services", "reporting", "migrations")
END = dt.date(2026, 11, 23)
NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
WARMUP = 5  # untimed calls of each query before its timed runs
QUARTERS = {"calendar quarter": ("2026-07-01", "2026-09-30"),   # whole months: the month tables alone
            "rolling 91 days": ("2026-08-24", "2026-11-22")}    # months + 38 edge days from complaint_daily
CHANNELS = ["hotline", "web", "wechat", "walk_in", "email", "committee"]
CATEGORIES = ["facilities", "sanitation", "security", "greening", "service", "house_quality", "handover",
              "municipal", "suggestion"]
SEVERITIES = ["minor", "moderate", "major"]
FACT_COLUMNS = ("tenant_id", "complaint_id", "reference", "estate_code", "channel", "category", "severity",
                "classified_at", "received_at", "day", "case_id", "opened_at", "first_contact_due_at",
                "acknowledged_at", "building", "facility")
# where in the estate: 70 % of complaints name a building (12 per estate), 30 % a facility (location hot spots)
BUILDINGS = [f"{b}栋" for b in range(1, 13)]
FACILITIES = ["地下车库", "电梯", "消防通道", "中心花园", "会所", "游泳池", "垃圾站", "大堂"]


def progress(total: int, unit: str):
    try:
        from tqdm import tqdm
        return tqdm(total=total, unit=unit, file=sys.stderr, mininterval=1.0)
    except ImportError:
        class Counter:
            done = 0

            def update(self, k):
                self.done += k
                print(f"\r{self.done}/{total} {unit}", end="", file=sys.stderr)

            def close(self):
                print(file=sys.stderr)
        return Counter()


def fact_lines(tenants: list[str], estates_per_tenant: int, n: int, seed: int = 7):
    """CSV lines for COPY, one per fact; categories skewed so hot spots and rankings are not flat."""
    rng = random.Random(seed)
    cat_weights = [30, 20, 10, 12, 10, 6, 4, 5, 3]
    for i in range(n):
        tenant = tenants[i % len(tenants)]
        estate = f"E{(i // len(tenants)) % estates_per_tenant:04d}"
        day = END - dt.timedelta(days=rng.randrange(365))
        received = dt.datetime.combine(day, dt.time(rng.randrange(24), rng.randrange(60)), dt.timezone.utc)
        due = received + dt.timedelta(hours=1)
        r = rng.random()
        ack = received + dt.timedelta(minutes=rng.randrange(5, 55)) if r < 0.85 else (
            received + dt.timedelta(minutes=rng.randrange(61, 600)) if r < 0.95 else None)
        cid = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        at = received.isoformat()
        values = (tenant, cid, f"TS{day:%Y%m%d}-{i:06d}", estate, rng.choice(CHANNELS),
                  rng.choices(CATEGORIES, cat_weights)[0], rng.choice(SEVERITIES), at,
                  at, day.isoformat(), cid, at, due.isoformat(),
                  ack.isoformat() if ack else "",
                  rng.choice(BUILDINGS) if rng.random() < 0.7 else "",
                  rng.choice(FACILITIES) if rng.random() < 0.3 else "")
        yield ",".join(values) + "\n"


def load(engine, schema: str, tenants: list[str], estates_per_tenant: int, n: int, chunk: int = 250_000) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        estates = io.StringIO()
        for t in tenants:
            for e in range(estates_per_tenant):
                estates.write(f"{t},E{e:04d},项目{e:04d},residential,R{e % 10},{NOW.isoformat()}\n")
        estates.seek(0)
        cur.copy_expert("COPY estate_names (tenant_id, estate_code, name, kind, region, as_of) FROM STDIN "
                        "WITH (FORMAT csv)", estates)
        with indexes_dropped(cur, ["complaint_facts"]):
            bar = progress(n, "facts")
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as copier:
                pending = None
                buf, lines = [], 0
                for line in fact_lines(tenants, estates_per_tenant, n):
                    buf.append(line)
                    lines += 1
                    if lines == chunk:
                        pending = _copy_after(copier, pending, cur, buf, bar)
                        buf, lines = [], 0
                if lines:
                    pending = _copy_after(copier, pending, cur, buf, bar)
                if pending is not None:
                    pending.result()
            bar.close()
            print("building the facts' primary key and indexes", file=sys.stderr)
        raw.commit()
    finally:
        raw.close()


def _copy_after(copier, pending, cur, lines: list[str], bar):
    """Queue ``lines`` for COPY once the previous chunk is in (the generator runs meanwhile)."""
    if pending is not None:
        pending.result()

    def copy():
        cur.copy_expert(f"COPY complaint_facts ({', '.join(FACT_COLUMNS)}) FROM STDIN WITH (FORMAT csv, NULL '')",
                        io.StringIO("".join(lines)))
        bar.update(len(lines))
    return copier.submit(copy)


def _indexes(cur, table: str) -> list[tuple[str, str, str | None]]:
    """``(index, CREATE INDEX statement, primary key constraint or None)`` for every index of ``table``."""
    cur.execute("""SELECT i.relname, pg_get_indexdef(i.oid), c.conname
                   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                   WHERE x.indrelid = %s::regclass ORDER BY i.relname""", (table,))
    return cur.fetchall()


@contextlib.contextmanager
def indexes_dropped(cur, tables: list[str]):
    """Drop every index of ``tables`` (primary keys included) for a bulk load; build them again after it."""
    saved = [(table, *ix) for table in tables for ix in _indexes(cur, table)]
    for table, name, _, constraint in saved:
        cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{constraint}"' if constraint else f'DROP INDEX "{name}"')
    yield
    cur.execute("SET maintenance_work_mem = '512MB'")
    for table, name, ddl, constraint in saved:
        cur.execute(ddl)
        if constraint:
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{constraint}" PRIMARY KEY USING INDEX "{name}"')


# the counts the generated facts decide (the rest stay 0, as ``contribution`` gives them for these facts)
BENCH_COUNTS = ("received", "first_contact_due", "first_contact_on_time", "first_contact_late", "reclassified")
DAILY_SQL = """
INSERT INTO complaint_daily (tenant_id, day, estate_code, channel, category, severity, received,
                             first_contact_due, first_contact_on_time, first_contact_late, reclassified)
SELECT tenant_id, day, estate_code, channel, coalesce(category, ''), coalesce(severity, ''), count(*),
       count(first_contact_due_at),
       count(*) FILTER (WHERE acknowledged_at <= first_contact_due_at),
       count(*) FILTER (WHERE acknowledged_at > first_contact_due_at),
       count(*) FILTER (WHERE reclassified)
FROM complaint_facts WHERE day IS NOT NULL AND estate_code IS NOT NULL AND channel IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6"""
# a complaint naming a building and a facility counts once under each (``rebuild._project_places``)
PLACE_SQL = """
INSERT INTO complaint_place_daily (tenant_id, day, estate_code, kind, name, received)
SELECT tenant_id, day, estate_code, p.kind, p.name, count(*)
FROM complaint_facts CROSS JOIN LATERAL (VALUES ('building', building), ('facility', facility)) AS p (kind, name)
WHERE day IS NOT NULL AND estate_code IS NOT NULL AND channel IS NOT NULL AND p.name IS NOT NULL
GROUP BY 1, 2, 3, 4, 5"""


def _key(table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def _projection_sql(table, source, counts) -> str:
    """``INSERT .. SELECT`` summing ``source`` (a daily table) into ``table`` (keyed by day, ISO week (its Monday:
    ``date_trunc('week')``), month or quarter)."""
    cols, source_period = _key(table), _key(source)[1]
    counts = [c for c in counts if c in table.c]
    select_cols = [f"CAST(date_trunc('{c}', {source_period}) AS DATE)" if c in ("week", "month", "quarter") else c
                   for c in cols]
    return (f"INSERT INTO {table.name} ({', '.join(cols + list(counts))}) "
            f"SELECT {', '.join(select_cols)}, {', '.join(f'sum({c})' for c in counts)} FROM {source.name} "
            f"GROUP BY {', '.join(str(i + 1) for i in range(len(cols)))}")


def rollup_statements() -> list[tuple[str, str]]:
    """``(table, INSERT .. SELECT)`` for every rollup, in dependency order."""
    return ([("complaint_daily", DAILY_SQL)]
            + [(t.name, _projection_sql(t, complaint_daily, BENCH_COUNTS)) for t in repository.MONTHLY_TABLES]
            + [("complaint_place_daily", PLACE_SQL),
               ("complaint_place_monthly", _projection_sql(place_monthly, place_daily, ("received",))),
               ("complaint_place_quarterly", _projection_sql(place_quarterly, place_monthly, ("received",))),
               ("complaint_place_weekly", _projection_sql(place_weekly, place_daily, ("received",)))])


def build_rollups(engine, schema: str) -> None:
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute("SET work_mem = '256MB'")
        statements = rollup_statements()
        with indexes_dropped(cur, [table for table, _ in statements]):
            for table, sql in progress_steps(statements):
                cur.execute(sql)
        raw.commit()
        # what autovacuum does on a live database: statistics, and the visibility map that index-only scans need
        raw.driver_connection.autocommit = True
        for table in ["complaint_facts", "estate_names"] + [table for table, _ in statements]:
            cur.execute(f"VACUUM (ANALYZE) {table}")
        # back to the pool as it came: ``rebuild`` (check_rebuild) takes this connection for its transaction
        raw.driver_connection.autocommit = False
    finally:
        raw.close()


def set_ledger(engine, schema: str, at: dt.datetime) -> None:
    """The overdue ledger (revision r19o1v2e3r4d) as the merger loop would leave it with its watermark at ``at``
    (a minute before ``NOW``: "overdue now" reads the ledger and the last minute's deadlines from the facts):
    recomputed from the facts, then vacuumed (index-only reads)."""
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(f'SET search_path TO "{schema}"')
        cur.execute("DELETE FROM complaint_overdue_monthly")
        cur.execute("UPDATE overdue_watermark SET at = %s", (at,))
        for stage, (is_open, due) in queries.OPEN.items():
            where = is_open().compile(compile_kwargs={"literal_binds": True})
            cur.execute(f"INSERT INTO complaint_overdue_monthly (tenant_id, stage, month, estate_code, cases) "
                        f"SELECT tenant_id, %s, CAST(date_trunc('month', day) AS DATE), coalesce(estate_code, ''), "
                        f"count(*) FROM complaint_facts WHERE {where} AND day IS NOT NULL AND {due.name} < %s "
                        f"GROUP BY 1, 3, 4", (stage, at))
        raw.commit()
        raw.driver_connection.autocommit = True
        cur.execute("VACUUM (ANALYZE) complaint_overdue_monthly")
        raw.driver_connection.autocommit = False
    finally:
        raw.close()


def progress_steps(statements):
    for table, sql in statements:
        started = time.perf_counter()
        yield table, sql
        print(f"  {table}: {time.perf_counter() - started:.1f} s", file=sys.stderr)


# --- the naive queries: the same figures, straight from the facts ------------------------------------------
_SUMS = """count(*) AS received, count(first_contact_due_at) AS due,
  count(*) FILTER (WHERE acknowledged_at <= first_contact_due_at) AS on_time,
  count(*) FILTER (WHERE acknowledged_at > first_contact_due_at) AS late,
  count(*) FILTER (WHERE acknowledged_at IS NULL AND first_contact_due_at < :now) AS overdue"""


def naive_league(conn, tenant, start, end):
    prev_start = start - (end - start) - dt.timedelta(days=1)
    return conn.execute(text(f"""
        SELECT e.estate_code, e.name, f.day >= :start AS current, {_SUMS}
        FROM complaint_facts f JOIN estate_names e ON e.tenant_id = f.tenant_id AND e.estate_code = f.estate_code
        WHERE f.tenant_id = :t AND f.day BETWEEN :prev_start AND :end
        GROUP BY 1, 2, 3"""), {"t": tenant, "start": start, "end": end, "prev_start": prev_start, "now": NOW}).all()


def naive_kpis(conn, tenant, start, end):
    args = {"t": tenant, "start": start, "end": end, "now": NOW}
    where = "WHERE tenant_id = :t AND day BETWEEN :start AND :end"
    out = [conn.execute(text(f"SELECT {_SUMS} FROM complaint_facts {where}"), args).one()]
    for dim in ("channel", "category", "severity"):
        out.append(conn.execute(text(f"SELECT {dim}, count(*) FROM complaint_facts {where} GROUP BY 1"), args).all())
    return out


def naive_hot_spots(conn, tenant, start, end):
    length = (end - start).days + 1
    args = {"t": tenant, "end": end, "len": length, "lo": start - dt.timedelta(days=4 * length)}
    return conn.execute(text("""
        SELECT (:end - day) / :len AS period, estate_code, category, count(*)
        FROM complaint_facts WHERE tenant_id = :t AND day BETWEEN :lo AND :end GROUP BY 1, 2, 3"""), args).all() + \
        conn.execute(text("""
        SELECT (:end - day) / :len AS period, estate_code, building, facility, count(*)
        FROM complaint_facts WHERE tenant_id = :t AND day BETWEEN :lo AND :end
          AND (building IS NOT NULL OR facility IS NOT NULL) GROUP BY 1, 2, 3, 4"""), args).all()


def check_equal(engine, tenant: str, quarter: tuple[str, str]) -> None:
    """The service's league table, KPIs and hot spots for ``tenant`` equal the same figures computed here from
    the raw facts (counts per period, the domain's own hot-spot rule); raises AssertionError otherwise."""
    start, end = (dt.date.fromisoformat(x) for x in quarter)
    everyone = Scope(None)
    prev = earlier_period(start, end)
    periods = [(start, end)] + [earlier_period(start, end, k) for k in range(1, BASELINE_PERIODS + 1)]
    with engine.connect() as conn:
        rows = conn.execute(text("""
            SELECT day, estate_code, channel, category, severity, building, facility, count(*) AS n,
                   count(first_contact_due_at) AS due,
                   count(*) FILTER (WHERE acknowledged_at <= first_contact_due_at) AS on_time,
                   count(*) FILTER (WHERE acknowledged_at > first_contact_due_at) AS late,
                   count(*) FILTER (WHERE acknowledged_at IS NULL AND first_contact_met_at IS NULL
                                    AND first_contact_due_at < :now) AS overdue
            FROM complaint_facts WHERE tenant_id = :t AND day BETWEEN :lo AND :hi
            GROUP BY 1, 2, 3, 4, 5, 6, 7"""), {"t": tenant, "lo": periods[-1][0], "hi": end, "now": NOW}).all()

    def within(r, period):
        return period[0] <= r.day <= period[1]

    def sums(selected):
        out = {"received": 0, "first_contact_due": 0, "first_contact_on_time": 0, "first_contact_late": 0, "od": 0}
        for r in selected:
            for k, v in (("received", r.n), ("first_contact_due", r.due), ("first_contact_on_time", r.on_time),
                         ("first_contact_late", r.late), ("od", r.overdue)):
                out[k] += v
        return out

    league = reports.league_table(tenant, everyone, engine, NOW, *quarter)["rows"]
    for row in league:
        cur = sums(r for r in rows if r.estate_code == row["estate"] and within(r, (start, end)))
        old = sums(r for r in rows if r.estate_code == row["estate"] and within(r, prev))
        assert (row["received"], row["previous_received"], row["overdue_now"], row["on_time_pct"],
                row["previous_on_time_pct"]) == (
            cur["received"], old["received"], cur["od"], figures.first_contact(cur, cur["od"])["on_time_pct"],
            figures.first_contact(old, old["od"])["on_time_pct"]), ("league table", row["estate"])
    kpis = reports.kpis(tenant, everyone, engine, NOW, *quarter)
    cur = sums(r for r in rows if within(r, (start, end)))
    assert (kpis["received"], kpis["overdue_now"], kpis["first_contact"]["on_time"], kpis["first_contact"]["late"]) \
        == (cur["received"], cur["od"], cur["first_contact_on_time"], cur["first_contact_late"]), "kpis"
    for dim in ("channel", "category", "severity"):
        counts: dict = {}
        for r in rows:
            if within(r, (start, end)):
                counts[getattr(r, dim)] = counts.get(getattr(r, dim), 0) + r.n
        assert {b["key"]: b["received"] for b in kpis[f"by_{dim}"]} == counts, ("kpis", dim)
    spots = reports.hot_spots(tenant, everyone, engine, *quarter)
    families = {"categories": (lambda r: r.category, ("category",)), "estates": (lambda r: r.estate_code, ("estate",)),
                "estate_categories": (lambda r: (r.estate_code, r.category), ("estate", "category")),
                "buildings": (lambda r: (r.estate_code, r.building) if r.building else None, ("estate", "building")),
                "facilities": (lambda r: (r.estate_code, r.facility) if r.facility else None, ("estate", "facility"))}
    for family, (key_of, fields) in families.items():
        per: dict = {}
        for r in rows:
            key = key_of(r)
            for k, period in enumerate(periods):
                if key is not None and within(r, period):
                    per.setdefault(key, [0] * len(periods))[k] += r.n
        expected = find_hot_spots({key: c[0] for key, c in per.items()}, {key: c[:0:-1] for key, c in per.items()})
        got = [(tuple(item[f] for f in fields) if len(fields) > 1 else item[fields[0]], item["count"],
                item["baseline"]) for item in spots[family]]
        assert got == [(e["key"], e["count"], e["baseline"]) for e in expected], ("hot spots", family)


def timed(fn, repeat: int, tenants: list[str]) -> list[float]:
    for i in range(WARMUP):  # warm-up, both sides alike: caches, and the plans of prepared statements (PostgreSQL
        fn(tenants[-1 - i % len(tenants)])  # plans a prepared statement's first 5 runs for their values, then decides)
    out = []
    for i in range(repeat):
        started = time.perf_counter()
        fn(tenants[i % len(tenants)])
        out.append((time.perf_counter() - started) * 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


def bench(engine, schema: str, tenants: list[str], repeat: int, label: str, quarter: tuple[str, str]) -> None:
    start, end = (dt.date.fromisoformat(d) for d in quarter)
    everyone = Scope(None)
    pairs = {
        "league table": (lambda t: reports.league_table(t, everyone, engine, NOW, *quarter),
                         lambda t: _naive(engine, schema, naive_league, t, start, end)),
        "kpis": (lambda t: reports.kpis(t, everyone, engine, NOW, *quarter),
                 lambda t: _naive(engine, schema, naive_kpis, t, start, end)),
        "hot spots": (lambda t: reports.hot_spots(t, everyone, engine, *quarter),
                      lambda t: _naive(engine, schema, naive_hot_spots, t, start, end)),
    }
    print(f"{label} {quarter[0]}..{quarter[1]}, {repeat} runs each, rotating over {len(tenants)} tenants")
    for name, (fast, naive) in pairs.items():
        a, b = timed(fast, repeat, tenants), timed(naive, repeat, tenants)
        print(f"{name:13s} rollup p50 {pct(a, 50):7.1f} ms  p95 {pct(a, 95):7.1f} ms | naive GROUP BY p50 "
              f"{pct(b, 50):7.1f} ms  p95 {pct(b, 95):7.1f} ms | ratio naive/rollup p50 {pct(b, 50) / pct(a, 50):5.1f}x "
              f"p95 {pct(b, 95) / pct(a, 95):5.1f}x", flush=True)


def explain(engine, tenant: str, quarter: tuple[str, str]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of every statement one call of each dashboard query issues for ``tenant``."""
    everyone = Scope(None)
    calls = {"league table": lambda: reports.league_table(tenant, everyone, engine, NOW, *quarter),
             "kpis": lambda: reports.kpis(tenant, everyone, engine, NOW, *quarter),
             "hot spots": lambda: reports.hot_spots(tenant, everyone, engine, *quarter)}
    for name, call in calls.items():
        seen = []

        def capture(conn, cursor, statement, parameters, context, executemany):
            seen.append((statement, parameters))
        event.listen(engine, "before_cursor_execute", capture)
        try:
            call()
        finally:
            event.remove(engine, "before_cursor_execute", capture)
        print(f"--- {name} {quarter[0]}..{quarter[1]}: {len(seen)} statements")
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            for statement, parameters in seen:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                print(" ".join(statement.split())[:300])
                print("\n".join("    " + r[0] for r in cur.fetchall()))
        finally:
            raw.close()


def _naive(engine, schema, fn, tenant, start, end):
    with engine.connect() as conn:
        return fn(conn, tenant, start, end)


def sizes(engine, schema: str) -> None:
    with engine.connect() as conn:
        for table in ["complaint_facts"] + [t for t, _ in rollup_statements()] + ["complaint_overdue_monthly"]:
            rows = conn.execute(text(f'SELECT count(*) FROM "{schema}".{table}')).scalar_one()
            size = conn.execute(text(f"SELECT pg_size_pretty(pg_total_relation_size('\"{schema}\".{table}'))")).scalar()
            print(f"{table:34s} {rows:>11,d} rows  {size} (with indexes)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--tenants", type=int, default=2)
    parser.add_argument("--estates", type=int, default=100, help="estates in total (split over the tenants)")
    parser.add_argument("--full", action="store_true", help="10,000,000 facts, 5,000 estates, 50 tenants")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--keep", action="store_true", help="keep the schema (printed) for inspection")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN (ANALYZE, BUFFERS) each query's statements")
    parser.add_argument("--schema", help="measure an existing schema kept by --keep (no load)")
    parser.add_argument("--check", type=int, default=3, help="tenants whose figures are compared with the facts")
    args = parser.parse_args(argv)
    if args.full:
        args.n, args.tenants, args.estates = 10_000_000, 50, 5_000
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        print("set BENCH_DATABASE_URL=postgresql://...", file=sys.stderr)
        return 2
    schema = args.schema or f"bench_reporting_{uuid.uuid4().hex[:8]}"
    target = DbTarget(db_target("reporting", {"DATABASE_URL": url}).url, schema)
    upgrade("reporting", os.path.abspath(MIGRATIONS), target)
    engine = make_engine(target)
    tenants = [str(uuid.UUID(int=k + 1, version=4)) for k in range(args.tenants)]
    try:
        print(f"n={args.n:,} tenants={args.tenants} estates={args.estates} schema={schema}", flush=True)
        if not args.schema:
            t0 = time.perf_counter()
            load(engine, schema, tenants, args.estates // args.tenants, args.n)
            t1 = time.perf_counter()
            build_rollups(engine, schema)
            t2 = time.perf_counter()
            print(f"load (COPY + indexes) {t1 - t0:.1f} s ({args.n / (t1 - t0):,.0f} facts/s); "
                  f"rollups INSERT..SELECT {t2 - t1:.1f} s", flush=True)
            if args.n <= 1_000_000:
                check_rebuild(engine)
        set_ledger(engine, schema, NOW - dt.timedelta(minutes=1))
        sizes(engine, schema)
        for label, quarter in QUARTERS.items():
            for tenant in tenants[:args.check]:
                check_equal(engine, tenant, quarter)
            print(f"{label}: league table, KPIs and hot spots of {min(args.check, len(tenants))} tenants equal the "
                  "figures from the raw facts", flush=True)
            if args.explain:
                explain(engine, tenants[0], quarter)
            bench(engine, schema, tenants, args.repeat, label, quarter)
    finally:
        engine.dispose()
        if not args.keep and not args.schema:
            drop = make_engine(DbTarget(target.url, None))
            with drop.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            drop.dispose()
    return 0


def check_rebuild(engine) -> None:
    tables = {table.name: ", ".join(_key(table) + [c for c in BENCH_COUNTS if c in table.c])
              for table in (complaint_daily, *repository.MONTHLY_TABLES)}
    tables.update({t.name: ", ".join(_key(t) + ["received"]) for t in repository.LOCATION_TABLES})

    def snapshot():
        with engine.connect() as conn:
            return {t: set(conn.execute(text(f"SELECT {c} FROM {t}")).all()) for t, c in tables.items()}

    before = snapshot()
    started = time.perf_counter()
    summary = rebuild(engine, batch=20_000)
    took = time.perf_counter() - started
    assert snapshot() == before, "reporting.rebuild disagrees with the SQL rollups"
    print(f"reporting.cli rebuild: {summary['facts']:,} facts -> {summary['rollup_rows']:,} rollup rows in "
          f"{took:.1f} s (same rows as the SQL rollup in all {len(tables)} rollups)")


if __name__ == "__main__":
    sys.exit(main())
