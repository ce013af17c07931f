"""Owner e-mails rendered and handed to SMTP per second through notify's own path, against a raw ``smtplib``
send loop to the same local SMTP sink, measured in the same run.

    .venv/bin/python bench/notify.py [--n 1000]

1. raw: one SMTP session, ``smtplib.SMTP.send_message`` of N prebuilt multipart messages of the same size as
   notify's (the floor: what the sink and the socket cost);
2. notify: N ``case_resolved`` events through ``owner_updates.on_case_event`` (inbox claim, the owner's
   contacts, the Jinja2 sandbox rendering subject + text + HTML, the queued row, one SQLite transaction each),
   then ``delivery.deliver_once`` with the real ``EmailChannel`` / ``SmtpTransport`` (batches of 20 over one
   session each, every row marked sent with its ``notification_sent`` outbox event) until none is queued.

The sink is aiosmtpd in this process on a free port (it only counts). Prints messages/s of each phase and the
ratio notify/raw; absolute figures depend on the machine, compare the ratio. SQLite in a temp directory.
"""
from __future__ import annotations

import os
import sys

# this file is called notify.py: keep its folder from shadowing the notify package
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != os.path.dirname(os.path.abspath(__file__))]

import argparse  # noqa: E402
import logging  # noqa: E402
import smtplib  # noqa: E402
import socket  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402

from aiosmtpd.controller import Controller  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from estatedesk_common.config import DbTarget  # noqa: E402
from estatedesk_common.db import SystemClock, make_engine  # noqa: E402
from estatedesk_common.envelope import Envelope  # noqa: E402
from estatedesk_common.migrate import upgrade  # noqa: E402
from estatedesk_common.unit_of_work import UnitOfWork  # noqa: E402

from notify import delivery, owner_updates  # noqa: E402
from notify.mail import EmailChannel, email_for  # noqa: E402
from notify.smtp import SmtpTransport  # noqa: E402
from notify.tables import messages, owner_contacts, reliability  # noqa: E402

MIGRATIONS = os.path.join(os.path.dirname(owner_updates.__file__), "..", "..", "migrations")
SENDER = "EstateDesk <noreply@estatedesk.local>"
TENANT = str(uuid.uuid4())


class Sink:
    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def seed(engine, n: int) -> list[str]:
    now = SystemClock().now()
    ids = [str(uuid.uuid4()) for _ in range(n)]
    with engine.begin() as conn:
        conn.execute(owner_contacts.insert(), [{
            "tenant_id": TENANT, "complaint_id": cid, "reference": f"TS20261124-{i:06d}", "estate_code": "DEMO-RES",
            "estate_name": "锦绣花园", "timezone": "Asia/Shanghai", "name": "张三", "email": f"owner{i}@example.com",
            "phone": "", "locale": "zh_CN", "severity": "moderate", "created_at": now} for i, cid in enumerate(ids)])
    return ids


def bench_notify(engine, port: int, ids: list[str]) -> tuple[float, float]:
    clock = SystemClock()
    new_uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    start = time.perf_counter()
    for i, cid in enumerate(ids):
        owner_updates.on_case_event(Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
            "case_id": cid, "complaint_id": cid, "reference": f"TS20261124-{i:06d}", "estate_code": "DEMO-RES",
            "remedy": "更换 3 栋电梯门机板，调试后运行正常"}), new_uow())
    queued = time.perf_counter() - start
    channel = EmailChannel(SmtpTransport("127.0.0.1", port, timeout=10), SENDER)
    while delivery.deliver_once(engine, new_uow, channel, clock, batch=20):
        pass
    return queued, time.perf_counter() - start


def bench_raw(engine, port: int, n: int) -> float:
    with engine.connect() as conn:
        row = conn.execute(select(messages).limit(1)).mappings().first()  # a real notify message: same size
    prebuilt = [email_for(row, SENDER) for _ in range(n)]
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
        for msg in prebuilt:
            smtp.send_message(msg)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    n = parser.parse_args().n
    logging.disable(logging.INFO)
    sink, port = Sink(), free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            target = DbTarget(f"sqlite:///{tmp}/notify.sqlite3", None)
            upgrade("notify", os.path.abspath(MIGRATIONS), target)
            engine = make_engine(target)
            ids = seed(engine, n)
            queued, total = bench_notify(engine, port, ids)
            with engine.connect() as conn:
                sent = conn.execute(select(func.count()).select_from(messages)
                                    .where(messages.c.status == "sent")).scalar_one()
            assert sent == n and sink.count == n, (sent, sink.count)
            raw = bench_raw(engine, port, n)
            engine.dispose()
    finally:
        controller.stop()
    print(f"n={n} smtp=aiosmtpd 127.0.0.1:{port} database=sqlite")
    print(f"raw smtplib send loop (1 session):               {n / raw:8.0f} msgs/s")
    print(f"notify render + queue (1 transaction each):      {n / queued:8.0f} msgs/s")
    print(f"notify delivery loop (batches of 20 per session): {n / (total - queued):8.0f} msgs/s")
    print(f"notify end to end (render, queue, send, mark):   {n / total:8.0f} msgs/s   "
          f"ratio notify/raw = {(n / total) / (n / raw):.2f}")


if __name__ == "__main__":
    main()
