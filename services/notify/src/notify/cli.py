"""``python -m notify.cli migrate|seed-demo|revision|encrypt-secrets`` (demo data: the demo groups' staff alert
recipients; ``encrypt-secrets``: re-encrypt tenants' mail server passwords after a key rotation)."""
import os
import sys

from estatedesk_common.cli import encrypt_secrets, run
from notify.staff import seed_demo

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


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
    if sys.argv[1:] == ["encrypt-secrets"]:  # re-encrypt tenants' mail server passwords (``tenant_smtp``)
        from notify.tenant_smtp import encrypt_existing

        sys.exit(encrypt_secrets("notify", encrypt_existing))
    if sys.argv[1:2] == ["send-digest"]:
        sys.exit(send_digest(sys.argv[2:]))
    sys.exit(run("notify", os.path.abspath(MIGRATIONS), seed=seed_demo))
