"""Operator-loaded statutory calendar years: storage, the refresh into every process, and the command line.

    python -m workflow.statutory import FILE [--by NAME]  # load or replace a year (YAML/JSON, docs/sla.md), then
                                                          # add the deadlines open cases lacked (workflow.backfill)
    python -m workflow.statutory export YEAR              # a year as a document (from the database, else the package)
    python -m workflow.statutory list                     # which years are known, and from where
    python -m workflow.statutory remove YEAR              # fall back to the package for that year

The national calendar is the same for every tenant, so this is an operator's tool, not a tenant admin's. Each
workflow process re-reads the table at most every ``REFRESH_SECONDS`` (on the next RPC or event it handles)
and exports the last year it can count as ``estatedesk_statutory_calendar_last_year``: the alert
``EstateDeskStatutoryCalendarNextYearMissing`` fires in November and December while next year is still unknown.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import threading
import time

import yaml
from nameko.extensions import DependencyProvider
from prometheus_client import Gauge
from sqlalchemy import delete, insert, select

from estatedesk_common.config import db_target
from estatedesk_common.db import SystemClock, make_engine
from estatedesk_common.dependencies import Database

from . import backfill
from .domain.sla import statutory
from .domain.sla.errors import CalendarUnavailable, PolicyInvalid
from .tables import statutory_calendar_years as years_table

log = logging.getLogger(__name__)
REFRESH_SECONDS = 60.0
LAST_YEAR = Gauge("estatedesk_statutory_calendar_last_year",
                  "The last year the statutory calendar can count working days for")


def load_all(conn) -> list[statutory.StatutoryYear]:
    rows = conn.execute(select(years_table.c.document)).all()
    return [statutory.parse_year(row.document) for row in rows]


def save_year(conn, year: statutory.StatutoryYear, loaded_by: str | None, now: dt.datetime) -> None:
    conn.execute(delete(years_table).where(years_table.c.calendar == year.calendar,
                                           years_table.c.year == year.year))
    conn.execute(insert(years_table).values(calendar=year.calendar, year=year.year, document=year.document(),
                                            source=year.source, loaded_at=now, loaded_by=loaded_by))


def remove_year(conn, year: int) -> bool:
    return conn.execute(delete(years_table).where(years_table.c.calendar == "cn",
                                                  years_table.c.year == year)).rowcount > 0


def refresh(engine) -> list[int]:
    """Install the database's years into this process; returns them."""
    with engine.connect() as conn:
        years = load_all(conn)
    statutory.REGISTRY.install(years)
    LAST_YEAR.set(statutory.last_known_year())
    return [y.year for y in years]


class StatutoryCalendars(DependencyProvider):
    """Keeps this process's statutory calendar in step with the table (uses the service's ``Database``)."""

    def setup(self):
        self._next = 0.0
        self._lock = threading.Lock()

    def _engine(self):
        return next(d for d in self.container.dependencies if isinstance(d, Database)).engine

    def worker_setup(self, worker_ctx):
        if time.monotonic() < self._next or not self._lock.acquire(blocking=False):
            return
        try:
            refresh(self._engine())
            self._next = time.monotonic() + REFRESH_SECONDS
        except Exception:  # a broken row must not stop case handling: the years keep their last good state
            log.exception("statutory calendar refresh failed")
            self._next = time.monotonic() + 5
        finally:
            self._lock.release()


def _read(path: str) -> dict:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return json.loads(text) if path.endswith(".json") else yaml.safe_load(text)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m workflow.statutory", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    imp = sub.add_parser("import", help="load or replace a year from a YAML/JSON document")
    imp.add_argument("file")
    imp.add_argument("--by", default=None, help="who loads it (kept with the year)")
    imp.add_argument("--no-backfill", action="store_true",
                     help="do not add the deadlines open cases are missing (workflow.backfill)")
    exp = sub.add_parser("export", help="print a year as a document")
    exp.add_argument("year", type=int)
    sub.add_parser("list", help="the years known, and their source")
    rem = sub.add_parser("remove", help="forget a loaded year (the package's data applies again)")
    rem.add_argument("year", type=int)
    args = parser.parse_args(argv)
    engine = make_engine(db_target("workflow"))
    try:
        return _run(args, engine)
    except PolicyInvalid as exc:
        print(json.dumps({"error": "calendar_invalid", "problems": exc.problems}, ensure_ascii=False),
              file=sys.stderr)
        return 2
    except CalendarUnavailable as exc:
        print(json.dumps({"error": "calendar_unavailable", "message": str(exc)}, ensure_ascii=False),
              file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _run(args, engine) -> int:
    if args.command == "import":
        year = statutory.parse_year(_read(args.file))
        with engine.begin() as conn:
            save_year(conn, year, args.by, dt.datetime.now(dt.timezone.utc))
        print(f"cn {year.year}: {len(year.holidays)} holiday days, {len(year.makeup_workdays)} make-up "
              f"working days loaded ({year.source})")
        if not args.no_backfill:
            refresh(engine)
            for case in backfill.fill_missing_deadlines(engine, SystemClock()):
                print(f"case {case['reference']}: deadlines added for {', '.join(case['stages'])}"
                      + (f" (still missing: {', '.join(case['still_missing'])})" if case["still_missing"] else ""))
        return 0
    if args.command == "remove":
        with engine.begin() as conn:
            found = remove_year(conn, args.year)
        print(f"cn {args.year}: {'removed' if found else 'was not loaded'}")
        return 0
    with engine.connect() as conn:
        loaded = {y.year: y for y in load_all(conn)}
    if args.command == "export":
        year = loaded.get(args.year) or statutory.from_package(args.year)
        print(yaml.safe_dump(year.document(), allow_unicode=True, sort_keys=False), end="")
        return 0
    package = statutory.package_years()
    for y in sorted(set(package) | set(loaded)):
        print(f"{y}  {'loaded: ' + loaded[y].source if y in loaded else 'chinese-calendar'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
