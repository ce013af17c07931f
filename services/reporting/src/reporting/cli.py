"""``python -m reporting.cli migrate|seed-demo|revision|rebuild [--from-events]`` (no demo data: read models fill
from events).

``rebuild`` recomputes the rollups from the facts (``reporting.rebuild``); ``rebuild --from-events`` empties the
read models and replays the event archive into them first (``reporting.archive``; **stop reporting before**).
Both show a progress bar on stderr.
"""
import os
import sys

from estatedesk_common.cli import run
from estatedesk_common.config import db_target
from estatedesk_common.db import make_engine

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


def rebuild_command(from_events: bool = False) -> int:
    from .archive import rebuild_from_events
    from .rebuild import rebuild

    engine = make_engine(db_target("reporting"))
    try:
        summary = rebuild_from_events(engine) if from_events else rebuild(engine)
    finally:
        engine.dispose()
    if from_events:
        print(events_summary(summary))
    print(f"reporting: rebuilt {summary['rollup_rows']} rollup rows from {summary['facts']} facts")
    return 0


def events_summary(summary: dict) -> str:
    lines = [f"reporting: replayed {sum(summary['replayed'].values())} of {summary['events']} archived events"]
    for title, counts in (("replayed", summary["replayed"]), ("skipped (no handler)", summary["skipped"]),
                          ("failed (refused by the handler)", summary["failed"])):
        if counts:
            lines.append(f"  {title}:")
            lines += [f"    {event_type:<28} {n}" for event_type, n in sorted(counts.items())]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["rebuild"]:
        extra = argv[1:]
        if extra not in ([], ["--from-events"]):
            print("usage: python -m reporting.cli rebuild [--from-events]", file=sys.stderr)
            return 2
        return rebuild_command(from_events=bool(extra))
    return run("reporting", os.path.abspath(MIGRATIONS), seed=None, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
