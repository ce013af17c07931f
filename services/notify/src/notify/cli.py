"""``python -m notify.cli migrate|seed-demo|revision|encrypt-secrets`` (demo data: the demo groups' staff alert
recipients; ``encrypt-secrets``: re-encrypt tenants' mail server passwords after a key rotation)."""
import os
import sys

from estatedesk_common.cli import run
from notify.staff import seed_demo

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")

def encrypt_secrets() -> int:
    """``encrypt-secrets``: re-encrypt tenants' mail server passwords with the first key (``tenant_smtp``)."""
    import json

    from estatedesk_common.config import db_target
    from estatedesk_common.db import make_engine
    from estatedesk_common.secrets import SecretError

    from notify.tenant_smtp import encrypt_existing

    engine = make_engine(db_target("notify"))
    try:
        report = encrypt_existing(engine, os.environ)
    except SecretError as exc:
        print(f"notify: encrypt-secrets failed, nothing changed: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(report, indent=2))
    return 0


def send_digest(argv) -> int:
    """``send-digest <tenant id> [--day YYYY-MM-DD]``: the managers' daily digest of a tenant now, through the
    running notify (RPC ``send_daily_digest`` on ``AMQP_URI``; still once per manager and day)."""
    import argparse
    import json

    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    parser = argparse.ArgumentParser(prog="python -m notify.cli send-digest")
    parser.add_argument("tenant", help="the tenant's id")
    parser.add_argument("--day", help="the local date of the digest (default today; up to 7 days back)")
    args = parser.parse_args(argv)
    config = {"AMQP_URI": os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"}
    try:
        with ClusterRpcProxy(config, context_data={"tenant_id": args.tenant}, timeout=120) as rpc:
            result = rpc.notify.send_daily_digest(args.day)
    except RemoteError as exc:
        print(f"notify: send-digest refused: {exc.value}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["encrypt-secrets"]:
        sys.exit(encrypt_secrets())
    if sys.argv[1:2] == ["send-digest"]:
        sys.exit(send_digest(sys.argv[2:]))
    sys.exit(run("notify", os.path.abspath(MIGRATIONS), seed=seed_demo))
