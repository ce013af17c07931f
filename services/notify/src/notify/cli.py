"""``python -m notify.cli migrate|seed-demo|revision`` (demo data: the demo groups' staff alert recipients)."""
import os
import sys

from estatedesk_common.cli import run
from notify.staff import seed_demo

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

if __name__ == "__main__":
    sys.exit(run("notify", os.path.abspath(MIGRATIONS), seed=seed_demo))
