"""Each package's ``python -m <pkg>.cli``: ``migrate`` and ``seed-demo`` (idempotent); ``encrypt_secrets``, the
``encrypt-secrets`` command of the packages that store secrets (intake's channel secrets, notify's mail servers)."""
from __future__ import annotations

import argparse
import logging
import sys

from .config import db_target
from .db import make_engine
from .config import DbTarget
from .migrate import alembic_config, upgrade


def run(package: str, migrations_dir: str, seed=None, argv=None) -> int:
    parser = argparse.ArgumentParser(prog=f"python -m {package}.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply this package's migrations to its own database")
    sub.add_parser("seed-demo", help="load the demo tenant's data (safe to run again)")
    rev = sub.add_parser("revision", help="autogenerate a migration (against a scratch SQLite at head)")
    rev.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    target = db_target(package)
    if args.command == "migrate":
        upgrade(package, migrations_dir, target)
        print(f"{package}: migrated ({target.url.split('@')[-1]}{', schema ' + target.schema if target.schema else ''})")
        return 0
    if args.command == "revision":
        return _revision(package, migrations_dir, args.message)
    if seed is None:
        print(f"{package}: no demo data")
        return 0
    engine = make_engine(target)
    try:
        summary = seed(engine)
    finally:
        engine.dispose()
    print(f"{package}: demo data ready {summary or ''}".rstrip())
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run(sys.argv[1], sys.argv[2]))


def _revision(package: str, migrations_dir: str, message: str) -> int:
    import tempfile

    from alembic import command

    with tempfile.TemporaryDirectory() as tmp:
        target = DbTarget(f"sqlite:///{tmp}/scratch.sqlite3", None)
        upgrade(package, migrations_dir, target)
        command.revision(alembic_config(package, migrations_dir, target), message=message, autogenerate=True)
    return 0


def encrypt_secrets(package: str, encrypt_existing) -> int:
    """``encrypt-secrets``: ``encrypt_existing(engine, environ)`` on ``package``'s database (re-encrypt its stored
    secrets with the first key of ``ESTATEDESK_SECRETS_KEY``); prints its report as JSON, or why it refused (exit 1:
    one transaction, nothing changed)."""
    import json
    import os

    from .secrets import SecretError

    engine = make_engine(db_target(package))
    try:
        report = encrypt_existing(engine, os.environ)
    except SecretError as exc:
        print(f"{package}: encrypt-secrets failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(report, indent=2))
    return 0
