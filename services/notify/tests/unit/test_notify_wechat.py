"""WeChat customer-service replies without a network: message building, errcode handling, WeChat instead of SMS
for owners who came through WeChat, the SMS fallback when WeChat fails for good, the timeline."""
import uuid

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from estatedesk_common.envelope import Envelope
from notify import delivery, handlers, owner_updates
from notify import wechat as channel
from notify import wechat_api
from notify.dependencies import SmsPolicy, WeChatPolicy
from notify.domain import wechat as rules
from notify.domain.quiet_hours import QuietHours
from notify.domain.timeline import timeline_entry
from notify.outcomes import Failure, Sent
from notify.sms import PermanentFailure, TemporaryFailure
from notify.tables import messages, owner_contacts, reliability, sms_opt_outs

APP_ID, OPENID = "wx0123456789abcdef", "oDemoOwner0000000000000001"
SMS_ON, WECHAT_ON = SmsPolicy(True, QuietHours()), WeChatPolicy(True)


def wechat_case(make_case_opened, **over):
    return make_case_opened(channel="wechat", complainant={"email": "", "wechat": {"app_id": APP_ID, "openid": OPENID}},
                            **over)


def rows(engine, table=messages):
    with engine.connect() as conn:
        return conn.execute(select(table)).mappings().all()


def events(engine):
    with engine.connect() as conn:
        return [r.body for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))]


@pytest.mark.parametrize("errcode, outcome, words", [
    (0, "sent", ""), (45015, "permanent", "48-hour"), (43004, "permanent", "unfollowed"),
    (40001, "token", "40001"), (42001, "token", "42001"), (45009, "temporary", "rate limit"),
    (-1, "temporary", "busy"), (40125, "temporary", "AppSecret"), (48001, "permanent", "48001"),
    ("x", "temporary", "unknown errcode")])
def test_an_errcode_decides_sent_retry_or_failed(errcode, outcome, words):
    got, reason = rules.classify(errcode, "errmsg")
    assert got == outcome and words in reason


def test_the_message_body_openid_and_masking():
    assert rules.custom_text(OPENID, "  第一行  \n第二行\n\n") == {
        "touser": OPENID, "msgtype": "text", "text": {"content": "第一行\n第二行"}}
    assert len(rules.text_body("字" * 5000)) == rules.TEXT_LIMIT
    assert rules.wechat_contact({"wechat": {"app_id": APP_ID, "openid": OPENID}}) == (APP_ID, OPENID)
    for bad in ({}, {"wechat": "x"}, {"wechat": {"app_id": APP_ID}}, {"wechat": {"app_id": "wx1", "openid": OPENID}},
                {"wechat": {"app_id": APP_ID, "openid": "o<script>"}}, None):
        assert rules.wechat_contact(bad) is None
    assert rules.mask_openid(OPENID) == "oDem***0001" and rules.mask_openid("abc") == "***"


def test_a_wechat_owner_is_acknowledged_on_wechat_with_the_sms_as_fallback(engine, new_uow, make_case_opened):
    payload = wechat_case(make_case_opened)
    envelope = Envelope(event_type="case_opened", tenant_id=str(uuid.uuid4()), payload=payload)
    assert handlers.on_case_opened(envelope, new_uow(), sms=SMS_ON, wechat=WECHAT_ON) == {"wechat"}
    assert handlers.on_case_opened(envelope, new_uow(), sms=SMS_ON, wechat=WECHAT_ON) == set()  # redelivered
    by_channel = {r["channel"]: r for r in rows(engine)}
    assert set(by_channel) == {"email", "wechat"} and by_channel["email"]["status"] == "skipped"  # no e-mail given
    row = by_channel["wechat"]
    assert (row["recipient"], row["wechat_app_id"], row["status"]) == (OPENID, APP_ID, "queued")
    assert payload["reference"] in row["body_text"] and "您的投诉已受理" in row["body_text"]
    assert row["fallback"]["to"] == "13800138000" and payload["reference"] in row["fallback"]["text"]
    assert timeline_entry(row)["text"] == "受理回执微信消息排队中"
    assert timeline_entry(row, "en")["text"] == "Acknowledgement WeChat message queued"


def test_without_the_wechat_policy_or_an_openid_nothing_changes(engine, new_uow, make_case_opened):
    tenant = str(uuid.uuid4())
    off = Envelope(event_type="case_opened", tenant_id=tenant, payload=wechat_case(make_case_opened))
    assert handlers.on_case_opened(off, new_uow(), sms=SMS_ON, wechat=WeChatPolicy(False)) == {"sms"}
    web = Envelope(event_type="case_opened", tenant_id=tenant, payload=make_case_opened())
    assert handlers.on_case_opened(web, new_uow(), sms=SMS_ON, wechat=WECHAT_ON) == {"email", "sms"}
    assert "wechat" not in {r["channel"] for r in rows(engine)}
    no_sms = Envelope(event_type="case_opened", tenant_id=tenant, payload=wechat_case(make_case_opened))
    assert handlers.on_case_opened(no_sms, new_uow(), sms=SmsPolicy(False, QuietHours()), wechat=WECHAT_ON) == {
        "wechat"}
    [row] = [r for r in rows(engine) if r["channel"] == "wechat"]
    assert "to" not in row["fallback"]  # SMS off: no SMS to fall back to (the template message only)


def test_updates_go_to_the_openid_kept_from_case_opened(engine, new_uow, make_case_opened):
    opened = wechat_case(make_case_opened, severity="urgent")
    tenant = str(uuid.uuid4())
    assert owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=tenant, payload=opened),
                                           new_uow())
    [contact] = rows(engine, owner_contacts)
    assert (contact["wechat_app_id"], contact["wechat_openid"]) == (APP_ID, OPENID)
    resolved = Envelope(event_type="case_resolved", tenant_id=tenant, payload={
        "case_id": opened["case_id"], "complaint_id": opened["complaint_id"], "reference": opened["reference"],
        "remedy": "已更换电梯主板"})
    assert owner_updates.on_case_event(resolved, new_uow(), SMS_ON, wechat=WECHAT_ON) == {"wechat"}
    [row] = [r for r in rows(engine) if r["channel"] == "wechat"]
    assert row["kind"] == "owner_resolved" and "已更换电梯主板" in row["body_text"] and row["urgent"]
    assert row["fallback"]["urgent"] is True and "已处理完毕" in row["fallback"]["text"]


class FakeSender:
    def __init__(self, *errors):
        self.errors, self.sent = list(errors), []

    def template_id(self, tenant_id, app_id, message):
        return None  # no template messages configured

    def send_text(self, tenant_id, app_id, openid, text):
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        self.sent.append((tenant_id, app_id, openid, text))


def _queue(engine, new_uow, make_case_opened, tenant=None):
    payload = wechat_case(make_case_opened)
    envelope = Envelope(event_type="case_opened", tenant_id=tenant or str(uuid.uuid4()), payload=payload)
    handlers.on_case_opened(envelope, new_uow(), sms=SMS_ON, wechat=WECHAT_ON)
    return payload


def test_45015_fails_at_once_and_queues_the_sms_fallback(engine, new_uow, fake_clock, make_case_opened):
    payload = _queue(engine, new_uow, make_case_opened)
    wechat = channel.WeChatChannel(FakeSender(PermanentFailure(rules.REASONS[45015])))
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"failed": 1}
    by_channel = {r["channel"]: r for r in rows(engine)}
    failed, sms = by_channel["wechat"], by_channel["sms"]
    assert failed["status"] == "failed" and "48-hour" in failed["last_error"] and failed["attempts"] == 1
    assert (sms["status"], sms["recipient"], sms["kind"]) == ("queued", "13800138000", "acknowledgement")
    assert payload["reference"] in sms["body_text"] and sms["dlr_token"]
    [event] = [e for e in events(engine) if e["event_type"] == "notification_failed"]
    assert event["payload"]["channel"] == "wechat" and event["payload"]["recipient"] == "oDem***0001"
    assert event["payload"]["permanent"] is True
    assert "48-hour" in timeline_entry(failed)["text"] and "受理回执微信消息发送失败" in timeline_entry(failed)["text"]


def test_a_temporary_failure_is_retried_then_sent(engine, new_uow, fake_clock, make_case_opened):
    _queue(engine, new_uow, make_case_opened)
    sender = FakeSender(TemporaryFailure("WeChat system busy (-1)"))
    wechat = channel.WeChatChannel(sender)
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"retry": 1}
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {}  # not due yet (backoff)
    fake_clock.advance(minutes=5)
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"sent": 1}
    [row] = [r for r in rows(engine) if r["channel"] == "wechat"]
    assert row["status"] == "sent" and row["attempts"] == 2 and len(sender.sent) == 1
    assert "sms" not in {r["channel"] for r in rows(engine)}
    sent = [e for e in events(engine) if e["event_type"] == "notification_sent"]
    assert sent[0]["payload"]["provider"] == "wechat" and sent[0]["payload"]["app_id"] == APP_ID
    assert timeline_entry(row)["text"] == "受理回执微信消息已发送至 oDem***0001"


def test_no_update_sms_fallback_after_an_opt_out(engine, new_uow, fake_clock, make_case_opened):
    tenant = str(uuid.uuid4())
    opened = wechat_case(make_case_opened)
    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=tenant, payload=opened), new_uow())
    with engine.begin() as conn:
        conn.execute(sms_opt_outs.insert().values(tenant_id=tenant, phone="13800138000", keyword="TD",
                                                  opted_out_at=fake_clock.now()))
    progress = Envelope(event_type="case_progress_recorded", tenant_id=tenant, payload={
        "case_id": opened["case_id"], "complaint_id": opened["complaint_id"], "note": "明早维修"})
    assert owner_updates.on_case_event(progress, new_uow(), SMS_ON, wechat=WECHAT_ON) == {"wechat"}
    [row] = [r for r in rows(engine) if r["channel"] != "email"]  # the skipped SMS row gave way to WeChat
    assert row["channel"] == "wechat" and "to" not in row["fallback"]
    wechat = channel.WeChatChannel(FakeSender(PermanentFailure(rules.REASONS[43004])))
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"failed": 1}
    assert "sms" not in {r["channel"] for r in rows(engine)}


class FakeApi:
    """Stands in for ``WeChatApi``: answers each send with the next errcode (0 = ok)."""
    made = []

    def __init__(self, appid, secret, base_url, timeout):
        self.appid, self.secret, self.forgot = appid, secret, 0
        self.codes = list(FakeApi.script)
        self.message = self
        FakeApi.made.append(self)

    def send_text(self, openid, text):
        code = self.codes.pop(0) if self.codes else 0
        if code:
            raise WeChatClientException(code, "errmsg")
        return {"errcode": 0}

    def forget_token(self):
        self.forgot += 1


@pytest.fixture
def fake_api(monkeypatch):
    FakeApi.made, FakeApi.script = [], []
    monkeypatch.setattr(wechat_api, "WeChatApi", FakeApi)
    return FakeApi


def test_the_sender_refreshes_a_refused_token_once_and_caches_the_credentials(fake_api):
    asked = []
    sender = channel.WeChatSender(lambda t, a: asked.append((t, a)) or {"app_id": a, "app_secret": "s3cret"})
    fake_api.script = [40001, 0, 0]
    sender.send_text("t1", APP_ID, OPENID, "您好")
    sender.send_text("t1", APP_ID, OPENID, "您好")
    assert asked == [("t1", APP_ID)] and len(fake_api.made) == 1 and fake_api.made[0].forgot == 1
    fake_api.made[0].codes = [42001, 40001]
    with pytest.raises(TemporaryFailure, match="access token"):
        sender.send_text("t1", APP_ID, OPENID, "您好")
    fake_api.made[0].codes = [45015]
    with pytest.raises(PermanentFailure, match="48-hour"):
        sender.send_text("t1", APP_ID, OPENID, "您好")
    fake_api.made[0].codes = [40125]
    with pytest.raises(TemporaryFailure, match="AppSecret"):
        sender.send_text("t1", APP_ID, OPENID, "您好")
    sender.send_text("t1", APP_ID, OPENID, "您好")  # the secret is asked for again after 40125
    assert asked == [("t1", APP_ID)] * 2


def test_missing_credentials_fail_the_batch_row_by_row(fake_api):
    def credentials(tenant, app_id):
        raise PermanentFailure("WeChat account wx... is not configured for replies")

    rows_ = [{"tenant_id": "t1", "wechat_app_id": APP_ID, "recipient": OPENID, "body_text": "x"}]
    [(row, outcome)] = channel.WeChatChannel(channel.WeChatSender(credentials)).send_all(rows_)
    assert outcome == Failure(True, "WeChat account wx... is not configured for replies")
    sender = FakeSender()
    assert channel.WeChatChannel(sender).send_all(rows_) == [(rows_[0], Sent(via="customer_service"))]
