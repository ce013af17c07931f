"""``python -m estatedesk_common.relay``: drain a service's outbox once, as its own process.

Services run the relay inside their process (``Database`` dependency); this entry point exists for operators
(drain a backlog while a service is down) and for the fault-injection test that kills a relay between
publish and mark-sent (``ESTATEDESK_FAULT=exit_after_publish``).
"""
from __future__ import annotations

import argparse
import sys

from sqlalchemy import MetaData

from . import outbox
from .config import DbTarget
from .db import make_engine
from .publishing import ConfirmedPublisher


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m estatedesk_common.relay")
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--schema", default=None)
    parser.add_argument("--service", required=True, help="source service: events go to <service>.events")
    parser.add_argument("--amqp-uri", required=True)
    args = parser.parse_args(argv)
    engine = make_engine(DbTarget(args.db_url, args.schema))
    table = outbox.outbox_table(MetaData())
    publish = ConfirmedPublisher(args.amqp_uri, args.service)
    total = 0
    while True:
        sent, failed = outbox.relay_once(engine, table, publish)
        total += sent
        if not sent:
            break
    print(f"relayed {total} event(s); {outbox.backlog(engine, table)} left", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
