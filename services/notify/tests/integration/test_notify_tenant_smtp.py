"""Tenants' own mail servers against real SMTP peers: aiosmtpd servers that demand STARTTLS (or speak implicit
TLS) and a login, with a certificate from a CA made in the test; the delivery loop on a real database (SQLite,
or PostgreSQL with TEST_DATABASE_URL); one run through a real nameko container and RabbitMQ."""
import email
import email.policy
import uuid
from email.utils import make_msgid

import pytest
from cryptography.fernet import Fernet
from nameko.standalone.rpc import ServiceRpcProxy
from sqlalchemy import select

from estatedesk_common import secrets
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork
from notify import delivery, mail_settings, repository
from notify.domain.messages import Message
from notify.mail import EmailChannel
from notify.service import NotifyService
from notify.smtp import SmtpTransport, tls_context
from notify.tables import mail_settings as settings_table, messages, reliability
from notify.tenant_smtp import MailPolicy, TenantRoutes
from notify_helpers import dispatch
from notify_tls_smtp import TlsSmtpServer, make_certificates

pytestmark = pytest.mark.integration

ADMIN = [["group_admin", None]]
USER, PASSWORD = "kefu@jinxiu.example", "Auth-Code-Secret-1"
PLATFORM_FROM = "EstateDesk <noreply@estatedesk.local>"


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certificates(str(tmp_path_factory.mktemp("certs")))


@pytest.fixture
def servers(certs, tmp_path):
    started = []

    def make(security="starttls", users=None, start=True):
        server = TlsSmtpServer(certs, users or {USER: PASSWORD}, str(tmp_path / f"smtp-{len(started)}"), security)
        started.append(server)
        return server.start() if start else server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def key(monkeypatch):
    value = Fernet.generate_key().decode()
    monkeypatch.setenv(secrets.KEY_ENV, value)
    return value


@pytest.fixture
def policy(certs, key, smtp_sink):
    platform = SmtpTransport("127.0.0.1", smtp_sink.port, timeout=5)
    return MailPolicy({secrets.KEY_ENV: key}, tls_context(certs["ca"]), True, 5.0, platform, PLATFORM_FROM)


@pytest.fixture
def new_uow(engine, fake_clock):
    return lambda: UnitOfWork(engine, reliability, fake_clock)


def _settings(server, **change):
    return {"mode": "custom", "host": "127.0.0.1", "port": server.port, "security": server.security,
            "username": USER, "password": PASSWORD, "from_address": "kefu@jinxiu.example",
            "from_name": "锦绣物业客服"} | change


def _queue(new_uow, tenant, recipient="owner@example.com"):
    with new_uow() as uow:
        message = Message(tenant_id=tenant, complaint_id=str(uuid.uuid4()), case_id=None, kind="acknowledgement",
                          channel="email", recipient=recipient, locale="zh_CN", reference="TS20261124-ABC123",
                          subject="您的投诉已受理", body_text="您的投诉已受理", body_html="<p>您的投诉已受理</p>",
                          status="queued", created_at=uow.clock.now(), smtp_message_id=make_msgid(domain="estatedesk.local"))
        repository.add_message(uow.conn, message)
        uow.commit()
    return message.id


def _row(engine, message_id):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.id == message_id)).mappings().one()


def _deliver(engine, new_uow, policy, fake_clock):
    channel = EmailChannel(policy.platform, policy.platform_sender, routes=TenantRoutes(engine, policy))
    return delivery.deliver_once(engine, new_uow, channel, fake_clock)


def _failed_events(engine):
    with engine.connect() as conn:
        bodies = [r.body for r in conn.execute(select(reliability.outbox))]
    return [b for b in bodies if b["event_type"] == "notification_failed"]


def test_tenant_mail_goes_over_starttls_with_a_login_and_other_tenants_over_the_platform(
        engine, new_uow, policy, servers, smtp_sink, fake_clock):
    smtp_sink.start()
    server = servers("starttls")
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server), tenant, "admin", ADMIN, new_uow(), policy)
    mine, theirs = _queue(new_uow, tenant), _queue(new_uow, other)

    assert _deliver(engine, new_uow, policy, fake_clock) == {"sent": 2}
    [(envelope, facts)] = server.wait_for(1)
    assert facts["tls"] and facts["authenticated"] and server.logins == [(USER, True)]
    assert envelope.mail_from == "kefu@jinxiu.example" and envelope.rcpt_tos == ["owner@example.com"]
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["From"].addresses[0].display_name == "锦绣物业客服"
    [platform] = smtp_sink.wait_for(1)
    assert platform.mail_from == "noreply@estatedesk.local" and len(server.received) == 1
    assert _row(engine, mine)["status"] == "sent" and _row(engine, theirs)["status"] == "sent"


def test_implicit_tls_works_too(engine, new_uow, policy, servers, fake_clock):
    server = servers("tls")
    tenant = str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server), tenant, "admin", ADMIN, new_uow(), policy)
    message_id = _queue(new_uow, tenant)
    assert _deliver(engine, new_uow, policy, fake_clock) == {"sent": 1}
    [(envelope, facts)] = server.wait_for(1)
    assert facts["authenticated"] and envelope.mail_from == "kefu@jinxiu.example"
    assert _row(engine, message_id)["status"] == "sent"


def test_a_wrong_password_fails_that_tenant_for_good_and_the_other_tenants_mail_still_goes(
        engine, new_uow, policy, servers, fake_clock):
    server = servers("starttls", users={USER: PASSWORD, "other@b.example": "right-password"})
    wrong, right = str(uuid.uuid4()), str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server, password="wrong-password"), wrong, "admin", ADMIN, new_uow(),
                                     policy)
    mail_settings.save_mail_settings(_settings(server, username="other@b.example", password="right-password",
                                               from_address="other@b.example"), right, "admin", ADMIN, new_uow(), policy)
    refused, sent = _queue(new_uow, wrong), _queue(new_uow, right)

    assert _deliver(engine, new_uow, policy, fake_clock) == {"failed": 1, "sent": 1}
    row = _row(engine, refused)
    assert row["status"] == "failed" and row["attempts"] == 1
    assert row["last_error"].startswith(f"127.0.0.1:{server.port}: 535")
    [event] = _failed_events(engine)
    assert event["payload"]["permanent"] is True and "535" in event["payload"]["reason"]
    assert _row(engine, sent)["status"] == "sent"
    [(envelope, _facts)] = server.wait_for(1)
    assert envelope.mail_from == "other@b.example"


def test_a_tenant_server_that_is_down_is_retried_later(engine, new_uow, policy, servers, fake_clock):
    server = servers("starttls", start=False)
    tenant = str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server), tenant, "admin", ADMIN, new_uow(), policy)
    message_id = _queue(new_uow, tenant)

    assert _deliver(engine, new_uow, policy, fake_clock) == {"retry": 1}
    row = _row(engine, message_id)
    assert (row["status"], row["attempts"]) == ("queued", 1) and row["next_attempt_at"] > fake_clock.now()
    assert row["last_error"].startswith(f"127.0.0.1:{server.port}: ConnectionRefusedError")
    assert _deliver(engine, new_uow, policy, fake_clock) == {}  # not due yet

    server.start()
    fake_clock.advance(minutes=5)
    assert _deliver(engine, new_uow, policy, fake_clock) == {"sent": 1}
    assert server.wait_for(1) and _row(engine, message_id)["status"] == "sent"


def test_a_certificate_no_trusted_ca_signed_is_refused(engine, new_uow, policy, servers, fake_clock):
    server = servers("starttls")
    tenant = str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server), tenant, "admin", ADMIN, new_uow(), policy)
    message_id = _queue(new_uow, tenant)
    system_roots_only = MailPolicy(policy.environ, tls_context(), True, 5.0, policy.platform, PLATFORM_FROM)
    assert _deliver(engine, new_uow, system_roots_only, fake_clock) == {"retry": 1}
    assert "CERTIFICATE_VERIFY_FAILED" in _row(engine, message_id)["last_error"] and not server.received
    result = mail_settings.send_test_mail("me@example.com", "zh_CN", None, tenant, ADMIN, engine, system_roots_only)
    assert (result["ok"], result["stage"], result["error"]) == (False, "tls", "certificate_invalid")


def test_a_name_that_resolves_to_a_private_address_is_refused_at_connection_time(
        engine, new_uow, policy, servers, fake_clock):
    """Saved while the operator allowed private addresses; refused once not: the check runs at every connection."""
    server = servers("starttls")
    tenant = str(uuid.uuid4())
    mail_settings.save_mail_settings(_settings(server, host="localhost"), tenant, "admin", ADMIN, new_uow(), policy)
    message_id = _queue(new_uow, tenant)
    public_only = MailPolicy(policy.environ, policy.context, False, 5.0, policy.platform, PLATFORM_FROM)
    assert _deliver(engine, new_uow, public_only, fake_clock) == {"failed": 1}
    error = _row(engine, message_id)["last_error"]
    assert "AddressNotAllowed" in error and "127.0.0.1" not in error and not server.logins  # no internal DNS oracle


def test_the_test_mail_reports_each_step(engine, new_uow, policy, servers, smtp_sink):
    smtp_sink.start()
    server = servers("starttls")
    tenant = str(uuid.uuid4())
    ok = mail_settings.send_test_mail("me@example.com", "en", _settings(server), tenant, ADMIN, engine, policy)
    assert ok["ok"] is True and ok["server"] == f"127.0.0.1:{server.port}" and ok["security"] == "starttls"
    [(envelope, facts)] = server.wait_for(1)
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert facts["tls"] and "test mail" in parsed["Subject"] and envelope.rcpt_tos == ["me@example.com"]
    assert mail_settings.get_mail_settings(tenant, ADMIN, engine)["mode"] == "platform"  # a test saves nothing

    refused = mail_settings.send_test_mail("me@example.com", "zh_CN", _settings(server, password="wrong"), tenant,
                                           ADMIN, engine, policy)
    assert (refused["ok"], refused["stage"], refused["error"]) == (False, "auth", "auth_failed")
    assert refused["reply"].startswith("535") and "wrong" not in str(refused)

    plain = mail_settings.send_test_mail("me@example.com", "zh_CN", _settings(server, port=smtp_sink.port), tenant,
                                         ADMIN, engine, policy)  # a server without STARTTLS: never sent in clear
    assert (plain["stage"], plain["error"]) == ("tls", "starttls_unsupported") and len(smtp_sink.received) == 0

    down = mail_settings.send_test_mail("me@example.com", "zh_CN", _settings(servers("tls", start=False)), tenant,
                                        ADMIN, engine, policy)
    assert (down["stage"], down["error"]) == ("connect", "connect_failed")

    mail_settings.save_mail_settings(_settings(server), tenant, "admin", ADMIN, new_uow(), policy)
    stored = mail_settings.send_test_mail("me@example.com", "zh_CN", None, tenant, ADMIN, engine, policy)
    assert stored["ok"] is True and "测试邮件" in email.message_from_bytes(
        server.wait_for(2)[1][0].original_content, policy=email.policy.default)["Subject"]
    platform = mail_settings.send_test_mail("me@example.com", "zh_CN", {"mode": "platform"}, tenant, ADMIN, engine,
                                            policy)
    assert platform["ok"] is True and smtp_sink.wait_for(1)[0].mail_from == "noreply@estatedesk.local"


def test_through_the_service_settings_are_saved_read_without_the_password_and_used(
        container_factory, notify_config, engine, certs, key, servers, smtp_sink, make_case_opened, wait_until):
    smtp_sink.start()
    server = servers("starttls")
    config = notify_config | {"SMTP_CA_FILE": certs["ca"], "TENANT_SMTP_ALLOW_PRIVATE": True}
    container = container_factory(NotifyService, config)
    container.start()
    tenant = str(uuid.uuid4())
    admin = {"tenant_id": tenant, "user_id": "u-admin", "roles": ADMIN}
    with ServiceRpcProxy("notify", config, context_data=admin) as notify:
        saved = notify.save_mail_settings(_settings(server))
        assert saved["settings"]["password_set"] is True and PASSWORD not in str(saved)
        got = notify.get_mail_settings()
        assert got["host"] == "127.0.0.1" and "password" not in got and PASSWORD not in str(got)
        assert notify.send_test_mail("me@example.com", "zh_CN")["ok"] is True
    with ServiceRpcProxy("notify", config, context_data={"tenant_id": tenant, "roles": [["agent", "DEMO-RES"]]}) as p:
        with pytest.raises(Exception) as err:
            p.get_mail_settings()
        assert "forbidden" in str(err.value)

    payload = make_case_opened()
    dispatch(container, config, Envelope(event_type="case_opened", tenant_id=tenant, payload=payload).to_dict())
    dispatch(container, config, Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()),
                                         payload=make_case_opened()).to_dict())
    received = server.wait_for(2)
    assert [e.rcpt_tos for e, _ in received] == [["me@example.com"], ["zhang@example.com"]]
    assert payload["reference"] in email.message_from_bytes(received[1][0].original_content,
                                                            policy=email.policy.default)["Subject"]
    assert smtp_sink.wait_for(1)[0].mail_from == "noreply@estatedesk.local"  # the other tenant: the platform
    with engine.connect() as conn:
        stored = conn.execute(select(settings_table.c.password)).scalar_one()
    assert stored.startswith("enc:v1:") and PASSWORD not in stored
