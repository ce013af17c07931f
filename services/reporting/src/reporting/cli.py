"""``python -m reporting.cli migrate|seed-demo|revision|rebuild`` (no demo data: read models fill from events).

``rebuild`` recomputes the rollups from the facts (``reporting.rebuild``), with a progress bar on stderr.
"""
import os
import sys

from estatedesk_common.cli import run
from estatedesk_common.config import db_target
from estatedesk_common.db import make_engine

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


def rebuild_command() -> int:
    from .rebuild import rebuild

    engine = make_engine(db_target("reporting"))
    try:
        summary = rebuild(engine)
    finally:
        engine.dispose()
    print(f"reporting: rebuilt {summary['rollup_rows']} rollup rows from {summary['facts']} facts")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["rebuild"]:
        return rebuild_command()
    return run("reporting", os.path.abspath(MIGRATIONS), seed=None, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
