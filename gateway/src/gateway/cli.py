"""``python -m gateway.cli migrate|seed-demo``."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from estatedesk_common.cli import run

from . import accounts


def migrations_dir() -> str:
    """``gateway/migrations`` next to the sources (editable install) or under the working directory (image)."""
    candidates = [Path(__file__).resolve().parents[2] / "migrations", Path.cwd() / "gateway" / "migrations"]
    for path in candidates:
        if (path / "env.py").is_file():
            return str(path)
    raise SystemExit(f"gateway migrations not found in {', '.join(map(str, candidates))}")


def main(argv=None) -> int:
    os.environ.setdefault("ESTATEDESK_PACKAGE", "gateway")
    return run("gateway", migrations_dir(), seed=accounts.seed_demo, argv=argv)


if __name__ == "__main__":
    sys.exit(main())
