"""Channel secrets encrypted at rest (estatedesk_common.secrets) on a real database (SQLite, or Postgres via
TEST_DATABASE_URL): the demo seed stores them encrypted, ``intake.cli encrypt-secrets`` encrypts legacy plain
rows and moves encrypted ones to a new key (all or nothing), and the IMAP poller (real Dovecot, real broker)
and the WeChat callback still work with encrypted values."""
import base64
import datetime as dt
import email.policy
import os
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage

import pytest
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select, update

from estatedesk_common import secrets
from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.dependencies import DbHandle
from estatedesk_common.testing import migrated_test_db, service_config

from intake import wechat_intake
from intake import wechat_sim as sim
from intake.channel_secrets import encrypt_existing
from intake.seed import DEMO_MAILBOX_ID, seed_demo
from intake.service import IntakeService
from intake.tables import mailboxes, reliability, wechat_accounts
from intake.wechat_seed import DEMO_WECHAT

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
KEY = secrets.generate_key()
MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


@pytest.fixture
def keyed(monkeypatch):
    monkeypatch.setenv(secrets.KEY_ENV, KEY)
    monkeypatch.setenv("IMAP_HOST", "127.0.0.1")
    monkeypatch.setenv("IMAP_PORT", "10143")


def _stored(engine) -> dict:
    with engine.connect() as conn:
        boxes = {r.id: r.password for r in conn.execute(select(mailboxes.c.id, mailboxes.c.password))}
        accounts = {r.id: (r.token, r.aes_key) for r in conn.execute(
            select(wechat_accounts.c.id, wechat_accounts.c.token, wechat_accounts.c.aes_key))}
    return {"boxes": boxes, "accounts": accounts}


def test_demo_seed_stores_the_mailbox_password_and_wechat_secrets_encrypted(intake_engine, keyed):
    seed_demo(intake_engine)
    seed_demo(intake_engine)  # again: still one row each, still encrypted
    stored = _stored(intake_engine)
    [password] = stored["boxes"].values()
    [(token, aes_key)] = stored["accounts"].values()
    assert all(v.startswith("enc:v1:") for v in (password, token, aes_key))
    assert "demo-mail-password" not in password and DEMO_WECHAT["token"] not in token
    only_key = {secrets.KEY_ENV: KEY}
    assert secrets.reveal(password, only_key) == "demo-mail-password"
    assert (secrets.reveal(token, only_key), secrets.reveal(aes_key, only_key)) == (DEMO_WECHAT["token"],
                                                                                   DEMO_WECHAT["aes_key"])


def test_encrypt_secrets_encrypts_plain_rows_rotates_keys_and_changes_nothing_on_a_wrong_key(intake_engine, keyed):
    seed_demo(intake_engine)
    with intake_engine.begin() as conn:
        for password in ("legacy-plain-pw", "env:SOME_MAILBOX_PASSWORD"):
            conn.execute(mailboxes.insert().values(
                tenant_id=TENANT, id=str(uuid.uuid4()), estate_code="DEMO-RES", host="127.0.0.1", port=143,
                username=f"{uuid.uuid4().hex[:8]}@demo", password=password, folder="INBOX", use_ssl=False,
                enabled=False, last_uid=0))
    before = _stored(intake_engine)
    with pytest.raises(secrets.SecretError, match="no key"):
        encrypt_existing(intake_engine, {secrets.KEY_ENV: secrets.generate_key()})  # the old key is missing
    assert _stored(intake_engine) == before  # one transaction: nothing written

    new = secrets.generate_key()
    report = encrypt_existing(intake_engine, {secrets.KEY_ENV: f"{new},{KEY}"})
    assert report["mailboxes.password"] == {"encrypted": 1, "re-encrypted": 1, "unchanged": 1}
    assert report["wechat_accounts.token"] == {"encrypted": 0, "re-encrypted": 1, "unchanged": 0}
    after = _stored(intake_engine)
    only_new = {secrets.KEY_ENV: new}
    readable = {secrets.reveal(v, only_new) for v in after["boxes"].values() if not v.startswith("env:")}
    assert readable == {"legacy-plain-pw", "demo-mail-password"}
    assert "env:SOME_MAILBOX_PASSWORD" in after["boxes"].values()
    [(token, aes_key)] = after["accounts"].values()
    assert secrets.reveal(token, only_new) == DEMO_WECHAT["token"]
    assert secrets.reveal(aes_key, only_new) == DEMO_WECHAT["aes_key"]


def test_encrypt_secrets_command_line(intake_db, intake_engine, keyed):
    seed_demo(intake_engine)
    with intake_engine.begin() as conn:
        conn.execute(mailboxes.insert().values(
            tenant_id=TENANT, id=str(uuid.uuid4()), estate_code="DEMO-RES", host="127.0.0.1", port=143,
            username="cli@demo", password="cli-plain-pw", folder="INBOX", use_ssl=False, enabled=False, last_uid=0))
    env = dict(os.environ, INTAKE_DATABASE_URL=intake_db.url)
    if intake_db.schema:
        env["INTAKE_DATABASE_SCHEMA"] = intake_db.schema
    done = subprocess.run([sys.executable, "-m", "intake.cli", "encrypt-secrets"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert '"encrypted": 1' in done.stdout and "cli-plain-pw" not in done.stdout + done.stderr
    readable = {secrets.reveal(v, {secrets.KEY_ENV: KEY}) for v in _stored(intake_engine)["boxes"].values()}
    assert readable == {"cli-plain-pw", "demo-mail-password"}
    env[secrets.KEY_ENV] = ""
    refused = subprocess.run([sys.executable, "-m", "intake.cli", "encrypt-secrets"], env=env, capture_output=True,
                             text=True, timeout=120)
    assert refused.returncode == 1 and "ESTATEDESK_SECRETS_KEY is not set" in refused.stderr


def test_wechat_callback_is_verified_and_answered_with_encrypted_token_and_key(intake_engine, keyed):
    seed_demo(intake_engine)

    class Clock:
        def now(self):
            return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)

    db = DbHandle(intake_engine, reliability, Clock(), "req-wechat-enc", None)
    openid, stamp = "o" + uuid.uuid4().hex[:27], int(db.clock.now().timestamp())
    query = sim.signed_query(DEMO_WECHAT["token"], stamp, openid=openid)
    xml = sim.message_xml(openid, "text", sim.new_msg_id(), create_time=stamp, Content="3栋电梯坏了 13812345678")
    xml, query = sim.encrypt(xml, query, DEMO_WECHAT["token"], DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])
    # Settings() carries no environment of its own: the key comes from the process environment
    result = wechat_intake.receive(query, base64.b64encode(xml.encode()).decode(), TENANT, db, None,
                                   wechat_intake.Settings())
    reply = sim.read_reply(result["body"], DEMO_WECHAT["token"], DEMO_WECHAT["aes_key"], DEMO_WECHAT["app_id"])
    assert "TS" in reply["Content"]


def test_imap_poller_logs_in_with_an_encrypted_password(container_factory, rabbit_config, dovecot, keyed):
    user, password = dovecot.add_user()
    with migrated_test_db("intake", MIGRATIONS) as target:
        engine = make_engine(target)
        seed_demo(engine)
        with engine.begin() as conn:
            conn.execute(update(mailboxes).values(enabled=False))
            conn.execute(mailboxes.insert().values(
                tenant_id=TENANT, id=str(uuid.uuid4()), estate_code="DEMO-RES", host="127.0.0.1",
                port=dovecot.port, username=user, password=secrets.seal(password, os.environ), folder="INBOX",
                use_ssl=False, enabled=True, last_uid=0))
        assert DEMO_MAILBOX_ID in _stored(engine)["boxes"]
        engine.dispose()
        msg = EmailMessage()
        msg["From"], msg["Subject"] = "王先生 <wang@example.com>", "小区门口垃圾三天没人清理"
        msg["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
        msg.set_content("垃圾桶满了，味道很大")
        imap = dovecot.client(user, password)
        imap.append("INBOX", None, None, msg.as_bytes(policy=email.policy.SMTP))
        imap.logout()
        container = container_factory(IntakeService, service_config(rabbit_config, target, MAILBOX_POLL_SECONDS=0.2))
        container.start()
        context = {"tenant_id": TENANT, "user_id": "admin-1", "request_id": "req-mail-enc"}
        deadline = time.monotonic() + 20
        with ServiceRpcProxy("intake", rabbit_config, context_data=context, timeout=15) as intake:
            while not (log := intake.list_mail_log())["messages"] and time.monotonic() < deadline:
                time.sleep(0.2)
        assert [m["outcome"] for m in log["messages"]] == ["complaint"], log
