"""``python -m workflow.cli migrate|seed-demo``."""
import os
import sys

from estatedesk_common.cli import run

from .seed import seed_demo_system

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

if __name__ == "__main__":
    sys.exit(run("workflow", os.path.abspath(MIGRATIONS), seed=seed_demo_system))
