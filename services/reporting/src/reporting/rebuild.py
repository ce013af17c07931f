"""Rebuild the rollups from the facts: ``python -m reporting.cli rebuild``.

``complaint_facts`` is the source of truth inside reporting; ``complaint_daily`` and its month projections are
derived from it, so a
rollup that drifted (a bug, a manual edit, a new rollup column) is recomputed by truncating it and summing each
fact's ``contribution`` again. One transaction: dashboards see the old figures until the new ones are
committed. The facts themselves are rebuilt from the event archive: ``rebuild --from-events`` (``archive.py``),
which ends with this.
"""
from __future__ import annotations

import sys

from . import repository, rollup_merge
from .tables import PLACE_KINDS, complaint_daily, overdue_monthly
from .domain.facts import COUNTS, contribution, location_contribution, overdue_keys


def progress_bar(total: int, unit: str = "facts"):
    try:
        from tqdm import tqdm
    except ImportError:  # a plain counter on stderr
        return _Counter(total, unit)
    return tqdm(total=total, unit=unit, file=sys.stderr)


class _Counter:
    def __init__(self, total, unit):
        self.total, self.done, self.unit = total, 0, unit

    def update(self, n):
        self.done += n
        print(f"\r{self.done}/{self.total} {self.unit}", end="", file=sys.stderr)

    def close(self):
        print(file=sys.stderr)


def _key_columns(table) -> list[str]:
    return [c.name for c in table.primary_key.columns]


def rebuild(engine, batch: int = 5000, progress=True) -> dict:
    """Truncate the rollups (every tenant) and refill them from ``complaint_facts``. Pending rollup deltas are
    dropped (the facts hold them); the merger and handlers' new deltas wait until the commit (``rollup_merge``)."""
    buckets: dict[tuple, dict] = {}
    places: dict[tuple, int] = {}  # (tenant, day, estate, building, facility) -> received
    ledger: dict[tuple, int] = {}  # (tenant, stage, month, estate) -> cases overdue before the watermark
    with engine.begin() as conn:
        # the overdue ledger first (handlers that read its watermark commit before, new ones wait: the lock order
        # of ``rollup_merge``), then the rollups: the deltas not merged yet are in the facts already
        watermark = repository.lock_watermark(conn)
        repository.lock_deltas_for_rebuild(conn)
        repository.clear_deltas(conn)
        total = repository.count_facts(conn)
        bar = progress_bar(total) if progress else None
        for chunk in repository.iter_facts(conn, batch):
            for fact in chunk:
                part = contribution(fact)
                if part is None:
                    continue
                key, counts = part
                bucket = buckets.setdefault((fact.tenant_id, *key), dict.fromkeys(COUNTS, 0))
                for name, value in counts.items():
                    bucket[name] += value
                place = location_contribution(fact)
                if place is not None:
                    places[(fact.tenant_id, *place)] = places.get((fact.tenant_id, *place), 0) + 1
            for fact in chunk:
                for key in overdue_keys(fact, watermark):
                    ledger[(fact.tenant_id, *key)] = ledger.get((fact.tenant_id, *key), 0) + 1
            if bar is not None:
                bar.update(len(chunk))
        if bar is not None:
            bar.close()
        repository.clear_rollups(conn)
        for table in (complaint_daily, *repository.MONTHLY_TABLES):
            rows = _project(buckets, _key_columns(table), repository.table_counts(table))
            for i in range(0, len(rows), batch):
                repository.insert_rollup_rows(conn, table.name, rows[i:i + batch])
            if table is complaint_daily:
                daily_rows = len(rows)
        for table in repository.LOCATION_TABLES:
            rows = _project_places(places, repository.period_column(table))
            for i in range(0, len(rows), batch):
                repository.insert_rollup_rows(conn, table.name, rows[i:i + batch])
        rows = rollup_merge.overdue_rows((*key, n) for key, n in ledger.items())
        for i in range(0, len(rows), batch):
            repository.insert_rollup_rows(conn, overdue_monthly.name, rows[i:i + batch])
    return {"facts": total, "rollup_rows": daily_rows}


def _project_places(places: dict, period: str) -> list[dict]:
    """The location counts per day, week, month or quarter (``period``), one row per kind named (``PLACE_KINDS``)."""
    out: dict[tuple, int] = {}
    for (tenant_id, day, estate_code, *names), n in places.items():
        at = repository.periods_of(day)[period]
        for kind, name in zip(PLACE_KINDS, names):
            if name:
                key = (tenant_id, at, estate_code, kind, name)
                out[key] = out.get(key, 0) + n
    return [dict(zip(("tenant_id", period, "estate_code", "kind", "name"), key), received=n)
            for key, n in out.items()]


def _project(buckets: dict, columns: list[str], counts: list[str] = COUNTS) -> list[dict]:
    """The daily buckets summed over the dimensions ``columns`` leave out (week / month / quarter: the Monday of the
    day's ISO week / the first day of its month / quarter), with the ``counts`` the table holds."""
    out: dict[tuple, dict] = {}
    for (tenant_id, day, estate_code, channel, category, severity), values in buckets.items():
        row = {"tenant_id": tenant_id, **repository.periods_of(day), "estate_code": estate_code,
               "channel": channel, "category": category, "severity": severity}
        key = tuple(row[c] for c in columns)
        bucket = out.setdefault(key, dict.fromkeys(counts, 0))
        for name in counts:
            bucket[name] += values[name]
    return [dict(zip(columns, key), **sums) for key, sums in out.items()]
