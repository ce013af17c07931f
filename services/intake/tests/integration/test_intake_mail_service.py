"""The ``MailboxPoller`` dependency in a real nameko container on a real broker: a mail APPENDed to Dovecot
becomes a complaint whose ``complaint_received`` is relayed from the outbox, without anyone calling in."""
import email.policy
import os
import re
import time
import uuid
from email.message import EmailMessage

import pytest
from kombu import Connection, Exchange, Queue
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import update

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import migrated_test_db, service_config

from intake.seed import seed_demo
from intake.service import IntakeService
from intake.tables import mailboxes

pytestmark = pytest.mark.integration

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))
CONTEXT = {"tenant_id": DEMO_TENANT["id"], "user_id": "admin-1", "request_id": "req-mail-1"}


def test_intake_mail_poller_in_the_service_registers_and_announces(container_factory, rabbit_config, dovecot):
    user, password = dovecot.add_user()
    with migrated_test_db("intake", MIGRATIONS) as target:
        engine = make_engine(target)
        seed_demo(engine)
        with engine.begin() as conn:
            conn.execute(update(mailboxes).values(enabled=False))
            conn.execute(mailboxes.insert().values(
                tenant_id=DEMO_TENANT["id"], id=str(uuid.uuid4()), estate_code="DEMO-RES", host="127.0.0.1",
                port=dovecot.port, username=user, password="env:TEST_MAILBOX_PASSWORD", folder="INBOX",
                use_ssl=False, enabled=True, last_uid=0))
        engine.dispose()
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            Queue("test-mail-received", Exchange("intake.events", type="topic", durable=True),
                  routing_key="complaint_received", durable=True)(conn.default_channel).declare()
        msg = EmailMessage()
        msg["From"], msg["Subject"] = "王先生 <wang@example.com>", "小区门口垃圾三天没人清理"
        msg["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
        msg.set_content("垃圾桶满了，味道很大", charset="gbk")
        imap = dovecot.client(user, password)
        uid = re.search(rb"APPENDUID \d+ (\d+)",
                        imap.append("INBOX", None, None, msg.as_bytes(policy=email.policy.SMTP))[1][0]).group(1)

        os.environ["TEST_MAILBOX_PASSWORD"] = password  # read by the provider's setup() (env:NAME passwords)
        try:
            container = container_factory(IntakeService, service_config(rabbit_config, target,
                                                                        MAILBOX_POLL_SECONDS=0.2))
            container.start()
        finally:
            del os.environ["TEST_MAILBOX_PASSWORD"]
        with Connection(rabbit_config["AMQP_URI"]) as conn:
            queue = conn.SimpleQueue("test-mail-received")
            message = queue.get(timeout=20)
            body = message.payload
            message.ack()
            queue.close()
        assert body["payload"]["channel"] == "email"
        assert body["payload"]["complainant"]["email"] == "wang@example.com"
        assert body["payload"]["category"] == "sanitation"
        for _ in range(50):  # flagged right after the commit, maybe a moment after the event left
            if b"\\Seen" in imap.uid("FETCH", uid, "(FLAGS)")[1][0]:
                break
            time.sleep(0.1)
        assert b"$EstateDesk" in imap.uid("FETCH", uid, "(FLAGS)")[1][0]
        imap.logout()
        with ServiceRpcProxy("intake", rabbit_config, context_data=CONTEXT, timeout=15) as intake:
            log = intake.list_mail_log()
        assert [m["outcome"] for m in log["messages"]] == ["complaint"] and log["rejects"] == []
        assert log["messages"][0]["complaint_id"] == body["payload"]["complaint_id"]
