"""``python -m notify.cli migrate|seed-demo|revision`` (notify has no demo data of its own)."""
import os
import sys

from estatedesk_common.cli import run

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

if __name__ == "__main__":
    sys.exit(run("notify", os.path.abspath(MIGRATIONS), seed=None))
