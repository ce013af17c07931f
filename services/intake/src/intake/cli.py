"""``python -m intake.cli migrate|seed-demo|encrypt-secrets``.

``encrypt-secrets`` encrypts the channel secrets still stored in plain text and re-encrypts the others with the
first key of ``ESTATEDESK_SECRETS_KEY`` (``channel_secrets``; run it after adding a key or rotating)."""
import json
import os
import sys

from estatedesk_common.cli import run
from estatedesk_common.config import db_target
from estatedesk_common.db import make_engine
from estatedesk_common.secrets import SecretError

from .seed import seed_demo

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


def encrypt_secrets() -> int:
    from .channel_secrets import encrypt_existing

    engine = make_engine(db_target("intake"))
    try:
        report = encrypt_existing(engine, os.environ)
    except SecretError as exc:
        print(f"intake: encrypt-secrets failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["encrypt-secrets"]:
        sys.exit(encrypt_secrets())
    sys.exit(run("intake", os.path.abspath(MIGRATIONS), seed=seed_demo))
