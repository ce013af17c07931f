"""A tenant's own outgoing mail server: validation, the password sealed at rest, the RPC use cases' roles and
views, and the mail channel's routing per tenant (fake transports; real SMTP servers in the integration tests)."""
import smtplib
import ssl
import uuid

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import select

from estatedesk_common import secrets
from notify import mail_settings as use_cases
from notify.domain import mail_settings as rules
from notify.exceptions import Forbidden, ValidationFailed
from notify.mail import EmailChannel, Route
from notify.outcomes import Failure, Sent
from notify.smtp import AddressNotAllowed, SmtpTransport, classify
from notify.tables import mail_settings
from notify.tenant_smtp import (MailPolicy, SecretsKeyMissing, TenantRoutes, encrypt_existing, reveal_password,
                                seal_password)

ADMIN = [["group_admin", None]]
GOOD = {"mode": "custom", "host": "smtp.exmail.qq.com", "port": 465, "security": "tls", "username": "kefu@jinxiu.cn",
        "password": "Auth-Code-abc123", "from_address": "kefu@jinxiu.cn", "from_name": "锦绣物业客服中心"}


def public_only(ip):
    from notify.domain.webhooks import address_allowed
    return address_allowed(ip, False)


@pytest.fixture
def key():
    return Fernet.generate_key().decode()


@pytest.fixture
def policy(key):
    platform = SmtpTransport("127.0.0.1", 1025)
    return MailPolicy({secrets.KEY_ENV: key}, ssl.create_default_context(), False, 5.0, platform,
                      "EstateDesk <noreply@estatedesk.local>")


def _check(data, stored=None, stored_password=False, allowed=public_only):
    return rules.check(data, stored, stored_password, allowed)


# -- validation (domain) ----------------------------------------------------------------------------------------

def test_a_complete_server_passes_and_ports_default_by_security():
    server, password = _check(GOOD)
    assert (server.host, server.port, server.security, server.username, password) == (
        "smtp.exmail.qq.com", 465, "tls", "kefu@jinxiu.cn", "Auth-Code-abc123")
    assert server.label == "smtp.exmail.qq.com:465"
    for security, port in (("starttls", 587), ("tls", 465), ("none", 25)):
        body = GOOD | {"security": security, "port": None} | ({"username": ""} if security == "none" else {})
        assert _check(body)[0].port == port
    assert _check(GOOD | {"port": "2525"})[0].port == 2525
    assert _check(GOOD | {"host": "SMTP.Example.COM."})[0].host == "smtp.example.com"
    assert _check(GOOD | {"host": "114.114.114.114"})[0].host == "114.114.114.114"


@pytest.mark.parametrize("change, field, reason", [
    ({"host": ""}, "host", "required"),
    ({"host": "smtp://smtp.example.com"}, "host", "host_format"),
    ({"host": "smtp.example.com:587"}, "host", "host_format"),
    ({"host": "smtp.example.com/x"}, "host", "host_format"),
    ({"host": "smtp example.com"}, "host", "host_format"),
    ({"host": "-bad.example.com"}, "host", "host_format"),
    ({"host": "a" * 64 + ".example.com"}, "host", "host_format"),
    ({"host": "127.0.0.1"}, "host", "address_not_allowed"),
    ({"host": "10.1.2.3"}, "host", "address_not_allowed"),
    ({"host": "169.254.169.254"}, "host", "address_not_allowed"),
    ({"host": "::1"}, "host", "address_not_allowed"),
    ({"host": 7}, "host", "invalid"),
    ({"port": 0}, "port", "invalid_port"),
    ({"port": 70000}, "port", "invalid_port"),
    ({"port": True}, "port", "invalid_port"),
    ({"port": "25a"}, "port", "invalid_port"),
    ({"security": "ssl3"}, "security", "invalid_security"),
    ({"security": "none"}, "security", "tls_required_for_login"),
    ({"from_address": ""}, "from_address", "required"),
    ({"from_address": "not-an-address"}, "from_address", "invalid_address"),
    ({"from_address": "客服@jinxiu.cn"}, "from_address", "invalid_address"),
    ({"from_address": "a@b.cn\r\nBcc: x@y.z"}, "from_address", "control_characters"),
    ({"from_name": "客服\r\nBcc: x@y.z"}, "from_name", "control_characters"),
    ({"from_name": "名" * 101}, "from_name", "too_long"),
    ({"username": "u\x00"}, "username", "control_characters"),
    ({"password": "p\nq"}, "password", "invalid_password"),
    ({"password": "授权码"}, "password", "invalid_password"),
    ({"username": "客服@jinxiu.cn"}, "username", "invalid_username"),
    ({"password": "p" * 201}, "password", "invalid_password"),
    ({"password": None}, "password", "password_required"),
    ({"password": 12345}, "password", "invalid"),
])
def test_invalid_settings_name_the_field_and_a_reason(change, field, reason):
    with pytest.raises(rules.InvalidMailSettings) as err:
        _check(GOOD | change)
    assert (err.value.field, err.value.reason) == (field, reason)


def test_private_addresses_only_where_the_operator_allows_them_and_metadata_never():
    from notify.domain.webhooks import address_allowed

    assert _check(GOOD | {"host": "127.0.0.1"}, allowed=lambda ip: address_allowed(ip, True))[0].host == "127.0.0.1"
    with pytest.raises(rules.InvalidMailSettings):
        _check(GOOD | {"host": "169.254.169.254"}, allowed=lambda ip: address_allowed(ip, True))


def test_without_a_username_no_password_is_needed_or_kept():
    server, password = _check(GOOD | {"username": "", "password": ""})
    assert server.username == "" and password is None


def test_the_stored_password_is_kept_only_for_the_same_server_and_username():
    stored, _ = _check(GOOD)
    server, password = _check(GOOD | {"password": "", "port": 587, "security": "starttls"}, stored, True)
    assert password is None and server.port == 587  # keep the stored one
    for change in ({"host": "smtp.evil.example"}, {"username": "other@jinxiu.cn"}):
        with pytest.raises(rules.InvalidMailSettings) as err:
            _check(GOOD | change | {"password": None}, stored, True)
        assert (err.value.field, err.value.reason) == ("password", "password_required_for_new_server")
    assert _check(GOOD | {"host": "smtp.other.example"}, stored, True)[1] == GOOD["password"]


# -- the password at rest ---------------------------------------------------------------------------------------

def test_the_password_is_sealed_with_the_key_and_only_sealed_values_are_read(key):
    env = {secrets.KEY_ENV: key}
    sealed = seal_password("授权码-abc123", env)
    assert sealed.startswith("enc:v1:") and "abc123" not in sealed
    assert reveal_password(sealed, env) == "授权码-abc123"
    assert seal_password("授权码-abc123", env) != sealed  # a fresh IV every time
    with pytest.raises(secrets.SecretError):
        reveal_password(sealed, {secrets.KEY_ENV: Fernet.generate_key().decode()})
    for stored in ("plain-password", "env:ESTATEDESK_SECRETS_KEY"):  # never the environment, never plain text
        with pytest.raises(secrets.SecretError):
            reveal_password(stored, env)
    assert reveal_password(None, env) is None


def test_without_a_key_nothing_is_stored(monkeypatch):
    monkeypatch.delenv(secrets.KEY_ENV, raising=False)
    with pytest.raises(SecretsKeyMissing) as err:
        seal_password("secret", {})
    assert err.value.status == 503 and "secret" not in str(err.value).replace("secrets_key_missing", "")


def test_encrypt_secrets_rewraps_with_the_first_key(engine, new_uow, policy, key):
    tenant = str(uuid.uuid4())
    use_cases.save_mail_settings(GOOD, tenant, "u1", ADMIN, new_uow(), policy)
    new_key = Fernet.generate_key().decode()
    report = encrypt_existing(engine, {secrets.KEY_ENV: f"{new_key},{key}"})
    assert report == {"mail_settings.password": {"re-encrypted": 1, "unchanged": 0}}
    with engine.connect() as conn:
        stored = conn.execute(select(mail_settings.c.password)).scalar_one()
    assert reveal_password(stored, {secrets.KEY_ENV: new_key}) == GOOD["password"]


# -- use cases: roles, views, storage ---------------------------------------------------------------------------

def test_saved_settings_are_read_back_without_the_password(engine, new_uow, policy):
    tenant = str(uuid.uuid4())
    assert use_cases.get_mail_settings(tenant, ADMIN, engine)["mode"] == "platform"
    result = use_cases.save_mail_settings(GOOD, tenant, "u1", ADMIN, new_uow(), policy)
    assert result["before"]["mode"] == "platform" and result["password_changed"] is True
    got = use_cases.get_mail_settings(tenant, ADMIN, engine)
    assert got == result["settings"]
    assert {k: got[k] for k in ("mode", "host", "port", "security", "username", "password_set", "from_address",
                                "from_name", "updated_by")} == {
        "mode": "custom", "host": "smtp.exmail.qq.com", "port": 465, "security": "tls", "username": "kefu@jinxiu.cn",
        "password_set": True, "from_address": "kefu@jinxiu.cn", "from_name": "锦绣物业客服中心", "updated_by": "u1"}
    assert "password" not in got and GOOD["password"] not in str(result)
    with engine.connect() as conn:
        stored = conn.execute(select(mail_settings.c.password)).scalar_one()
    assert stored.startswith("enc:v1:") and GOOD["password"] not in stored


def test_a_save_without_a_new_password_keeps_it_and_platform_clears_it(engine, new_uow, policy):
    tenant = str(uuid.uuid4())
    use_cases.save_mail_settings(GOOD, tenant, "u1", ADMIN, new_uow(), policy)
    with engine.connect() as conn:
        first = conn.execute(select(mail_settings.c.password)).scalar_one()
    again = use_cases.save_mail_settings(GOOD | {"password": "", "from_name": "客服"}, tenant, "u2", ADMIN, new_uow(),
                                         policy)
    assert again["password_changed"] is False and again["settings"]["password_set"] is True
    assert again["before"]["from_name"] == "锦绣物业客服中心" and again["settings"]["from_name"] == "客服"
    with engine.connect() as conn:
        assert conn.execute(select(mail_settings.c.password)).scalar_one() == first
    back = use_cases.save_mail_settings({"mode": "platform"}, tenant, "u2", ADMIN, new_uow(), policy)
    assert back["settings"]["mode"] == "platform" and back["password_changed"] is True
    with engine.connect() as conn:
        row = conn.execute(select(mail_settings)).mappings().one()
    assert row["password"] is None and row["host"] == "" and row["mode"] == "platform"


def test_another_tenants_settings_are_invisible_and_untouched(engine, new_uow, policy):
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    use_cases.save_mail_settings(GOOD, mine, "u1", ADMIN, new_uow(), policy)
    assert use_cases.get_mail_settings(other, ADMIN, engine)["mode"] == "platform"
    use_cases.save_mail_settings({"mode": "platform"}, other, "u9", ADMIN, new_uow(), policy)
    assert use_cases.get_mail_settings(mine, ADMIN, engine)["host"] == "smtp.exmail.qq.com"


@pytest.mark.parametrize("roles", [None, [], [["head_office", None]], [["site_manager", "DEMO-RES"]]])
def test_only_a_group_admin_reads_saves_or_tests(engine, new_uow, policy, roles):
    tenant = str(uuid.uuid4())
    with pytest.raises(Forbidden):
        use_cases.get_mail_settings(tenant, roles, engine)
    with pytest.raises(Forbidden):
        use_cases.save_mail_settings(GOOD, tenant, "u1", roles, new_uow(), policy)
    with pytest.raises(Forbidden):
        use_cases.send_test_mail("a@example.com", "zh_CN", None, tenant, roles, engine, policy)


def test_refusals_are_validation_failed_with_field_and_reason(engine, new_uow, policy):
    tenant = str(uuid.uuid4())
    for body, field, reason in ((GOOD | {"security": "none"}, "security", "tls_required_for_login"),
                                ({"mode": "smtp"}, "mode", "invalid_mode"), ([], "body", "invalid")):
        with pytest.raises(ValidationFailed) as err:
            use_cases.save_mail_settings(body, tenant, "u1", ADMIN, new_uow(), policy)
        assert err.value.details == {"field": field, "reason": reason}
    with pytest.raises(ValidationFailed) as err:
        use_cases.send_test_mail("not an address", "zh_CN", None, tenant, ADMIN, engine, policy)
    assert err.value.details["field"] == "to"
    assert use_cases.get_mail_settings(tenant, ADMIN, engine)["mode"] == "platform"


def test_without_a_key_a_password_is_refused_and_nothing_is_stored(engine, new_uow, policy, monkeypatch):
    monkeypatch.delenv(secrets.KEY_ENV, raising=False)
    keyless = MailPolicy({}, policy.context, False, 5.0, policy.platform, policy.platform_sender)
    tenant = str(uuid.uuid4())
    with pytest.raises(SecretsKeyMissing):
        use_cases.save_mail_settings(GOOD, tenant, "u1", ADMIN, new_uow(), keyless)
    assert use_cases.get_mail_settings(tenant, ADMIN, engine)["mode"] == "platform"
    saved = use_cases.save_mail_settings(GOOD | {"username": "", "security": "starttls"}, tenant, "u1", ADMIN,
                                         new_uow(), keyless)  # no login, no secret: fine without a key
    assert saved["settings"]["password_set"] is False


def test_an_unreadable_stored_password_is_reported_by_the_test_not_raised(engine, new_uow, policy):
    tenant = str(uuid.uuid4())
    use_cases.save_mail_settings(GOOD, tenant, "u1", ADMIN, new_uow(), policy)
    rotated = MailPolicy({secrets.KEY_ENV: Fernet.generate_key().decode()}, policy.context, False, 5.0,
                         policy.platform, policy.platform_sender)
    result = use_cases.send_test_mail("a@example.com", "en", None, tenant, ADMIN, engine, rotated)
    assert (result["ok"], result["error"], result["server"]) == (False, "password_unreadable", "smtp.exmail.qq.com:465")
    assert GOOD["password"] not in str(result)


# -- the channel: one session per server, failures kept to their own tenant ------------------------------------

class FakeTransport:
    def __init__(self, label, open_error=None):
        self.label, self.open_error, self.sent, self.opened = label, open_error, [], 0

    def open(self):
        self.opened += 1
        if self.open_error:
            raise self.open_error
        return self

    def send(self, smtp, msg):
        self.sent.append(msg)

    def close(self, smtp):
        pass


def _row(tenant):
    return {"tenant_id": tenant, "id": str(uuid.uuid4()), "recipient": "owner@example.com", "subject": "受理",
            "body_text": "t", "body_html": "<p>t</p>", "smtp_message_id": f"<{uuid.uuid4().hex}@estatedesk.local>",
            "reference": "TS1"}


def test_rows_go_one_session_per_server_and_a_refused_login_fails_only_its_tenant():
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    platform = FakeTransport("platform")
    good = FakeTransport("smtp.b.example:587")
    refused = FakeTransport("smtp.a.example:587", smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"))
    routes = {a: Route(f"tenant:{a}", refused, "A <a@a.example>", "smtp.a.example:587", True),
              b: Route(f"tenant:{b}", good, '"物业 B" <b@b.example>', "smtp.b.example:587", True)}
    asked = []
    channel = EmailChannel(platform, "EstateDesk <noreply@estatedesk.local>",
                           routes=lambda ids: asked.append(set(ids)) or {t: routes[t] for t in ids if t in routes})
    rows = [_row(a), _row(b), _row(c), _row(a), _row(b), _row(c)]
    outcomes = channel.send_all(rows)

    assert [row for row, _ in outcomes] == rows and asked == [{a, b, c}]
    assert (platform.opened, good.opened, refused.opened) == (1, 1, 1)
    assert [(m["From"].addresses[0].display_name, m["From"].addresses[0].addr_spec) for m in good.sent] == [
        ("物业 B", "b@b.example")] * 2
    assert [m["From"] for m in platform.sent] == ["EstateDesk <noreply@estatedesk.local>"] * 2
    by_tenant = {}
    for row, outcome in outcomes:
        by_tenant.setdefault(row["tenant_id"], []).append(outcome)
    assert by_tenant[b] == [Sent(), Sent()] and by_tenant[c] == [Sent(), Sent()]
    assert by_tenant[a] == [Failure(True, "smtp.a.example:587: 535 5.7.8 bad credentials")] * 2


def test_a_tenant_server_down_waits_and_an_unreadable_password_fails_without_a_connection():
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    down = FakeTransport("smtp.a.example:587", ConnectionRefusedError(111, "Connection refused"))
    routes = {a: Route(f"tenant:{a}", down, "a@a.example", "smtp.a.example:587", True),
              b: Route(f"tenant:{b}", None, "", "smtp.b.example:465", True,
                       Failure(False, "smtp.b.example:465: mail server password cannot be decrypted"))}
    platform = FakeTransport("platform")
    outcomes = dict((r["tenant_id"], o) for r, o in EmailChannel(platform, "x@y.z", routes=lambda ids: routes)
                    .send_all([_row(a), _row(b), _row(str(uuid.uuid4()))]))
    assert outcomes[a].permanent is False and outcomes[a].reason.startswith("smtp.a.example:587: ConnectionRefused")
    assert outcomes[b] == routes[b].failure
    assert len(platform.sent) == 1


@pytest.mark.parametrize("exc, platform, tenant", [
    (smtplib.SMTPAuthenticationError(535, b"5.7.8 bad credentials"), False, True),
    (smtplib.SMTPAuthenticationError(454, b"4.7.0 try later"), False, False),
    (smtplib.SMTPSenderRefused(553, b"5.7.1 not owned by user", "a@b.c"), False, True),
    (smtplib.SMTPNotSupportedError("STARTTLS extension not supported by server."), False, True),
    (AddressNotAllowed("smtp.a.example resolves to an address that is not allowed: 10.0.0.5"), False, True),
    (smtplib.SMTPRecipientsRefused({"a@b.c": (550, b"5.1.1 no such user")}), True, True),
    (ConnectionRefusedError(111, "Connection refused"), False, False),
    (ssl.SSLCertVerificationError("certificate verify failed"), False, False),
    (smtplib.SMTPDataError(451, b"4.3.0 try later"), False, False),
])
def test_a_tenants_own_configuration_errors_are_permanent_there_only(exc, platform, tenant):
    assert classify(exc).permanent is platform
    assert classify(exc, tenant=True).permanent is tenant


def test_tenant_routes_come_from_the_table_with_the_password_decrypted(engine, new_uow, policy):
    a, b, c = (str(uuid.uuid4()) for _ in range(3))
    use_cases.save_mail_settings(GOOD, a, "u1", ADMIN, new_uow(), policy)
    use_cases.save_mail_settings({"mode": "platform"}, b, "u1", ADMIN, new_uow(), policy)
    routes = TenantRoutes(engine, policy)({a, b, c, None})
    assert set(routes) == {a}
    route = routes[a]
    assert (route.label, route.tenant, route.failure) == ("smtp.exmail.qq.com:465", True, None)
    assert route.sender == "锦绣物业客服中心 <kefu@jinxiu.cn>"
    transport = route.transport
    assert (transport.host, transport.port, transport.security, transport.user, transport.password) == (
        "smtp.exmail.qq.com", 465, "tls", "kefu@jinxiu.cn", GOOD["password"])
    assert transport.context is policy.context and transport.address_allowed("127.0.0.1") is False

    rotated = MailPolicy({secrets.KEY_ENV: Fernet.generate_key().decode()}, policy.context, False, 5.0,
                         policy.platform, policy.platform_sender)
    broken = TenantRoutes(engine, rotated)({a})[a]
    assert broken.failure.permanent is False and "cannot be decrypted" in broken.failure.reason
    assert GOOD["password"] not in broken.failure.reason
