"""The rollups' write path: handlers append deltas, one merger at a time folds many of them in at once.

Every event of an estate used to add to the same rows (estate × day, estate × month, tenant × month, the estate
dimension) inside its handler's transaction and hold their row locks until its commit, so concurrent consumers
queued on them (the PostgreSQL fault run: 2-5 complaints/s), and each of those six upserts was built anew (30
``count + excluded.count`` expressions each): most of the ~15 ms of Python an event cost (``bench/README.md``,
``reporting_writes.py``). Now the handler's transaction (inbox claim, fact, ``delta_body``) touches no shared
row, and the merge (``merge_pending``) claims the oldest deltas, sums them per rollup key and adds each sum once
per table (one multi-row upsert per table, built once per process, keys in order), in one transaction: the
deltas' delete and the rollups' update commit together (a crash loses nothing and counts nothing twice), and a
hot row takes one update per merge instead of one per event. One merger at a time (PostgreSQL: an advisory lock
per schema, SQLite: its single writer), so merges never deadlock.

Who merges: the handler itself, right after its commit (``merge_own``): it merges if no one else is; else it
waits for the merge in progress (the lock taken shared: waiters do not queue behind each other), which took its
delta if that was committed before the merge's claim, or else queues for the lock and, once it has it, merges
unless a merger before it already did. It returns once its delta is in, so an acknowledged event is in the
rollups as before and reads need not know about deltas. Under load one merge carries the deltas of every handler
that committed meanwhile (~10 per merge with 16 concurrent handlers). ``RollupMerger`` (every
``ROLLUP_MERGE_SECONDS``) merges what a handler left behind (it was killed between its commit and its merge, or
the database went away then: the event is handled, the handler logs it and returns) and publishes the backlog:
``estatedesk_rollup_deltas_pending`` and ``estatedesk_rollup_merge_lag_seconds`` (age of the oldest delta; 0
when none waits).
"""
from __future__ import annotations

import datetime as dt

from nameko.extensions import DependencyProvider
from prometheus_client import Gauge

from estatedesk_common.loops import PollingLoop

from . import queries, repository
from .domain.facts import CaseFact, location_changes, rollup_changes
from .domain.rollup import EstateSnapshot
from .tables import PLACE_KINDS, complaint_daily, overdue_monthly


BATCH = 2000  # deltas per merge transaction
PENDING = Gauge("estatedesk_rollup_deltas_pending", "Rollup deltas written by handlers, not merged yet", ["service"])
LAG = Gauge("estatedesk_rollup_merge_lag_seconds", "Age of the oldest rollup delta not merged yet (0: none)",
            ["service"])
WATERMARK_LAG = Gauge("estatedesk_overdue_watermark_lag_seconds",
                      "How far the overdue ledger's watermark is behind now (about ROLLUP_MERGE_SECONDS normally)",
                      ["service"])
ROLLUP_TABLES = (complaint_daily, *repository.MONTHLY_TABLES)
_DAILY = ("day", "estate_code", "channel", "category", "severity")


def delta_body(old: CaseFact, new: CaseFact, estate: EstateSnapshot | None, as_of: dt.datetime | None,
               overdue=()) -> dict | None:
    """What turning ``old`` into ``new`` adds to the rollups and to the overdue ledger (``overdue``:
    ``domain.facts.overdue_changes`` at the watermark the handler read), and the estate snapshot the event carries
    (JSON); None when there is nothing to add."""
    daily = [[day.isoformat(), *rest, {k: v for k, v in delta.items() if v}]
             for (day, *rest), delta in rollup_changes(old, new)]
    location = [[day.isoformat(), *rest, n] for (day, *rest), n in location_changes(old, new)]
    snapshot = None if estate is None else {
        "code": estate.code, "name": estate.name, "kind": estate.kind, "region": estate.region,
        "units": estate.units, "as_of": as_of.isoformat()}
    ledger = [[stage, month.isoformat(), estate_code, n] for (stage, month, estate_code), n in overdue]
    if not daily and not location and snapshot is None and not ledger:
        return None
    return {"daily": daily, "location": location, "estate": snapshot, **({"overdue": ledger} if ledger else {})}


def overdue_rows(entries) -> list[dict]:
    """``(tenant, stage, month, estate, n)`` entries summed per ledger key, zero sums left out, in key order."""
    sums: dict[tuple, int] = {}
    for tenant_id, stage, month, estate_code, n in entries:
        key = (tenant_id, stage, month, estate_code)
        sums[key] = sums.get(key, 0) + n
    return [dict(zip(("tenant_id", "stage", "month", "estate_code"), key), cases=n)
            for key, n in sorted(sums.items()) if n]


def advance_overdue(engine, now: dt.datetime) -> int:
    """Move the overdue ledger's watermark to ``now``: add the open cases whose deadline passed since it was last
    moved (one transaction; handlers that read the watermark commit first, new ones wait: ``lock_watermark``).
    How many cases were added; 0 if the watermark is not behind ``now``."""
    with engine.connect() as conn, conn.begin():
        at = repository.lock_watermark(conn)
        if now <= at:
            return 0
        found = repository.overdue_between(conn, at, now, queries.OPEN)
        repository.add_rollup_rows(conn, overdue_monthly, overdue_rows(
            (tenant_id, stage, day.replace(day=1), estate_code, n) for tenant_id, stage, day, estate_code, n in found))
        repository.set_watermark(conn, now)
    return sum(n for *_, n in found)


def _sum_daily(claimed) -> dict[tuple, dict]:
    buckets: dict[tuple, dict] = {}
    for tenant_id, body in claimed:
        for *key, delta in body.get("daily") or ():
            bucket = buckets.setdefault((tenant_id, dt.date.fromisoformat(key[0]), *key[1:]), {})
            for name, value in delta.items():
                bucket[name] = bucket.get(name, 0) + value
    return buckets


def _rows(buckets: dict[tuple, dict], table) -> list[dict]:
    """The daily sums projected onto ``table``'s key (week / month / quarter = ``repository.periods_of``),
    sums that change none of ``table``'s counts left out, in key order; every count column of ``table`` present."""
    columns = [c.name for c in table.primary_key.columns]
    out: dict[tuple, dict] = {}
    for (tenant_id, day, *rest), delta in buckets.items():
        row = {"tenant_id": tenant_id, **repository.periods_of(day), **dict(zip(_DAILY[1:], rest))}
        bucket = out.setdefault(tuple(row[c] for c in columns), {})
        for name, value in delta.items():
            bucket[name] = bucket.get(name, 0) + value
    counts = repository.table_counts(table)
    return [dict(zip(columns, key), **{c: delta.get(c, 0) for c in counts})
            for key, delta in sorted(out.items()) if any(delta.get(c) for c in counts)]


def _place_rows(claimed, period: str) -> list[dict]:
    """The deltas' location changes (``[day, estate, building, facility, n]``, '' = none named) as rows of the
    location rollup of ``period`` (day | week | month | quarter): one per kind named (``PLACE_KINDS``), summed per key,
    zero sums left out, in key order."""
    out: dict[tuple, int] = {}
    for tenant_id, body in claimed:
        for day, estate_code, *names, n in body.get("location") or ():
            at = repository.periods_of(dt.date.fromisoformat(day))[period]
            for kind, name in zip(PLACE_KINDS, names):
                if name:
                    key = (tenant_id, at, estate_code, kind, name)
                    out[key] = out.get(key, 0) + n
    return [dict(zip(("tenant_id", period, "estate_code", "kind", "name"), key), received=n)
            for key, n in sorted(out.items()) if n]


def _estates(claimed) -> tuple[list, list]:
    """Per estate, the newest snapshot (name, kind, region) and, before it when it is another one, the newest that
    carries units: applying those two in turn leaves ``estate_names`` as applying the batch's snapshots oldest
    ``as_of`` first would (``units`` is only replaced by a snapshot that has it). One by one in arrival order, an
    older snapshot arriving after a newer one was refused whole, its unit count too, even when that count was
    newer than the one held; merged, that count is kept."""
    newest: dict[tuple, tuple] = {}
    with_units: dict[tuple, tuple] = {}
    for tenant_id, body in claimed:  # oldest delta first: a later one wins a tie, as it would one by one
        e = body.get("estate")
        if not e:
            continue
        snap = (tenant_id, EstateSnapshot(e["code"], e["name"], e["kind"], "", e["region"], e["units"]),
                dt.datetime.fromisoformat(e["as_of"]))
        key = (tenant_id, e["code"])
        if key not in newest or snap[2] >= newest[key][2]:
            newest[key] = snap
        if e["units"] is not None and (key not in with_units or snap[2] >= with_units[key][2]):
            with_units[key] = snap
    first = [with_units[k] for k in sorted(with_units) if with_units[k] is not newest[k]]
    return first, [newest[k] for k in sorted(newest)]


def _merge(conn, batch: int) -> int:
    """Claim up to ``batch`` of the oldest deltas and add their sums to the rollups; how many."""
    claimed = repository.claim_deltas(conn, batch)
    if claimed:
        buckets = _sum_daily(claimed)
        for table in ROLLUP_TABLES:
            repository.add_rollup_rows(conn, table, _rows(buckets, table))
        for table in repository.LOCATION_TABLES:
            repository.add_rollup_rows(conn, table, _place_rows(claimed, repository.period_column(table)))
        repository.add_rollup_rows(conn, overdue_monthly, overdue_rows(
            (tenant_id, stage, dt.date.fromisoformat(month), estate_code, n)
            for tenant_id, body in claimed for stage, month, estate_code, n in body.get("overdue") or ()))
        for snapshots in _estates(claimed):
            repository.upsert_estates(conn, snapshots)
    return len(claimed)


def merge_pending(engine, batch: int = BATCH) -> int | None:
    """Merge up to ``batch`` of the oldest deltas in one transaction; how many, or None if another transaction
    is merging now."""
    with engine.connect() as conn, conn.begin():
        if not repository.try_merge_lock(conn):
            return None
        return _merge(conn, batch)


def merge_own(engine, delta_id: int, batch: int = BATCH) -> None:
    """After the handler's commit: return once delta ``delta_id`` is merged, by this call or by another merger.
    Merges at once if no one else is. Else waits for the merge in progress (the lock taken shared: waiters do not
    wait for each other), which took this delta if it claimed after the commit; if it did not, queues for the lock
    and merges, unless a merger before it took this delta."""
    merged = merge_pending(engine, batch)
    if merged is not None and merged < batch:
        return  # every delta committed before the claim, this one too
    if merged is None:
        with engine.connect() as conn, conn.begin():
            repository.wait_for_merger(conn)
            if not repository.delta_pending(conn, delta_id):
                return
    while True:
        with engine.connect() as conn, conn.begin():
            repository.merge_lock(conn)
            if not repository.delta_pending(conn, delta_id) or _merge(conn, batch) < batch:
                return


def merge_backlog(engine, service: str = "reporting", now: dt.datetime | None = None) -> bool:
    """One pass of the merger loop: merge a batch if deltas wait, then publish the backlog; True if a full batch
    was merged (more may wait)."""
    with engine.connect() as conn:
        count, _ = repository.pending_deltas(conn)
    merged = merge_pending(engine) if count else 0
    advance_overdue(engine, now or dt.datetime.now(dt.timezone.utc))
    publish_backlog(engine, service, now)
    return merged == BATCH


def publish_backlog(engine, service: str, now: dt.datetime | None = None) -> tuple[int, float]:
    """Set the backlog gauges: deltas waiting, the age in seconds of the oldest (0 when none waits), and how far
    the overdue ledger's watermark is behind ``now`` (reads stay exact when it is behind, but read more facts)."""
    with engine.connect() as conn:
        count, oldest = repository.pending_deltas(conn)
        watermark = repository.read_watermark(conn)
    now = now or dt.datetime.now(dt.timezone.utc)
    lag = max(0.0, (now - oldest).total_seconds()) if oldest else 0.0
    PENDING.labels(service).set(count)
    LAG.labels(service).set(lag)
    WATERMARK_LAG.labels(service).set(max(0.0, (now - watermark).total_seconds()))
    return count, lag


class RollupMerger(DependencyProvider):
    """Runs ``merge_backlog`` every ``ROLLUP_MERGE_SECONDS`` (default 1) in a managed thread on the service's
    ``Database`` (attribute ``db``)."""

    def setup(self):
        self.interval = float(self.container.config.get("ROLLUP_MERGE_SECONDS") or 1.0)
        self.loop = None

    def start(self):
        db = next(d for d in self.container.dependencies if getattr(d, "attr_name", None) == "db")
        service = self.container.service_name
        self.loop = PollingLoop(lambda: merge_backlog(db.engine, service, db.clock.now()), self.interval,
                                "rollup merge")
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    kill = stop
