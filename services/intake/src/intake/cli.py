"""``python -m intake.cli migrate|seed-demo|encrypt-secrets|sync-case-status``.

``encrypt-secrets`` encrypts the channel secrets still stored in plain text and re-encrypts the others with the
first key of ``ESTATEDESK_SECRETS_KEY`` (``channel_secrets``; run it after adding a key or rotating).
``sync-case-status [--tenant ID]... [--only-missing]`` sets each complaint's case status from the running workflow (RPC
``case_summaries`` on ``AMQP_URI``; ``case_status.backfill``): once after upgrading to revision a11c1o2m3m4t, and
whenever the projection is in doubt (safe while events flow: an older status never overwrites a newer one)."""
import json
import os
import sys

from estatedesk_common.cli import encrypt_secrets, run
from estatedesk_common.config import db_target
from estatedesk_common.db import make_engine

from .seed import seed_demo

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


def sync_case_status(argv) -> int:
    import argparse
    import datetime as dt

    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ClusterRpcProxy

    from .case_status import backfill, tenants

    parser = argparse.ArgumentParser(prog="python -m intake.cli sync-case-status")
    parser.add_argument("--tenant", action="append", help="a tenant's id (repeatable; default every tenant with "
                                                          "complaints)")
    parser.add_argument("--only-missing", action="store_true",
                        help="only tenants with a complaint older than 5 minutes that has no case status yet "
                             "(what scripts/run.sh runs at every start: nothing to do unless upgraded)")
    args = parser.parse_args(argv)
    config = {"AMQP_URI": os.environ.get("AMQP_URI") or "amqp://guest:guest@127.0.0.1:5672/"}
    engine = make_engine(db_target("intake"))
    reports = []
    try:
        missing_before = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)) if args.only_missing else None
        for tenant_id in args.tenant or tenants(engine, missing_before):
            # a trusted service call (no roles): workflow answers for every estate of the tenant
            with ClusterRpcProxy(config, context_data={"tenant_id": tenant_id}, timeout=120) as rpc:
                reports.append(backfill(engine, tenant_id, rpc.workflow.case_summaries))
    except RemoteError as exc:
        print(f"intake: sync-case-status failed: {exc.value}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(json.dumps(reports, indent=2))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["encrypt-secrets"]:
        from .channel_secrets import encrypt_existing

        sys.exit(encrypt_secrets("intake", encrypt_existing))
    if sys.argv[1:2] == ["sync-case-status"]:
        sys.exit(sync_case_status(sys.argv[2:]))
    sys.exit(run("intake", os.path.abspath(MIGRATIONS), seed=seed_demo))
