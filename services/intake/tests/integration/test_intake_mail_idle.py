"""IMAP IDLE against the real Dovecot: new mail is taken at once, not at the next poll interval (an hour here)."""
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select, update

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.unit_of_work import UnitOfWork

from intake.mailbox import Limits, MailPoller
from intake.seed import seed_demo
from intake.tables import complaints, mailboxes, reliability

from test_intake_mail_imap import append, complaint_mail

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(complaints).where(
            complaints.c.channel == "email")).scalar_one()


def test_new_mail_wakes_the_poller_through_idle(intake_engine, dovecot, clock):
    seed_demo(intake_engine)
    user, password = dovecot.add_user()
    with intake_engine.begin() as conn:
        conn.execute(update(mailboxes).values(enabled=False))
        conn.execute(mailboxes.insert().values(
            tenant_id=TENANT, id=str(uuid.uuid4()), estate_code="DEMO-RES", host="127.0.0.1", port=dovecot.port,
            username=user, password=password, folder="INBOX", use_ssl=False, enabled=True, last_uid=0))
    poller = MailPoller(intake_engine, lambda: UnitOfWork(intake_engine, reliability, clock), limits=Limits(),
                        interval=3600, timeout=10, idle=True)
    loop = threading.Thread(target=poller.run, daemon=True)
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while not poller.watchers.watchers and time.monotonic() < deadline:  # the first pass starts the watcher
            time.sleep(0.1)
        time.sleep(1.5)  # the watcher is in IDLE
        imap = dovecot.client(user, password)
        append(imap, complaint_mail(subject="IDLE 测试", body="4栋门禁坏了，刷卡进不去"))
        imap.logout()
        deadline = time.monotonic() + 20
        while _count(intake_engine) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _count(intake_engine) == 1, "IDLE did not wake the poller (the next poll is an hour away)"
    finally:
        poller.stop()
        loop.join(timeout=15)
    assert not loop.is_alive() and poller.watchers.watchers == {}
