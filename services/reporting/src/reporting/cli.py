"""``python -m reporting.cli migrate|seed-demo|revision`` (no demo data: read models fill from events)."""
import os
import sys

from estatedesk_common.cli import run

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

if __name__ == "__main__":
    sys.exit(run("reporting", os.path.abspath(MIGRATIONS), seed=None))
