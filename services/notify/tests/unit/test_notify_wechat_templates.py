"""WeChat template messages (模板消息) without a network: the fields mapped from the complaint, the plan a WeChat
row keeps, when the channel turns to the template (45015/45047, or the 48-hour window known to be closed), the
errors (43004 and 40037 permanent, then the SMS; a refused token refreshed once), the way a row went on the
timeline, the delivery log and the event, credentials re-read after their time to live, and the callback survey
by WeChat."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select
from wechatpy.exceptions import WeChatClientException

from estatedesk_common.envelope import Envelope
from notify import callbacks, delivery, handlers, owner_updates
from notify import wechat as channel
from notify import wechat_api
from notify.dependencies import SmsPolicy, WeChatPolicy
from notify.domain import wechat as rules
from notify.domain import wechat_templates as tpl
from notify.domain.quiet_hours import QuietHours
from notify.domain.timeline import delivery_view, timeline_entry
from notify.sms import TemporaryFailure
from notify.tables import callbacks as callbacks_table
from notify.tables import messages, reliability

APP_ID, OPENID = "wx0123456789abcdef", "oDemoOwner0000000000000001"
STATUS = "http://gw.example/t/{tenant}/status"
SMS_ON, WECHAT_ON = SmsPolicy(True, QuietHours()), WeChatPolicy(True, STATUS)
TEMPLATES = {"acknowledgement": "tplAck0001", "progress": "tplProgress0001", "resolved": "tplResolved0001",
             "callback_survey": "tplSurvey0001"}
NOW = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)


def rows(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages)).mappings().all()


def events(engine, kind):
    with engine.connect() as conn:
        return [r.body["payload"] for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))
                if r.body["event_type"] == kind]


# --- the fields -----------------------------------------------------------------------------------------------

def test_the_fields_are_mapped_from_the_complaint():
    context = {"reference": "TS20261124-7KQ2MX", "estate_name": "锦绣花园", "first_contact_due": "2026-11-24 15:30"}
    data = tpl.template_data("acknowledgement", "zh_CN", context, "2026-11-24 14:30")
    assert data == {"first": {"value": "您好，您的投诉已受理。"}, "keyword1": {"value": "TS20261124-7KQ2MX"},
                    "keyword2": {"value": "已受理"}, "keyword3": {"value": "2026-11-24 14:30"},
                    "keyword4": {"value": "锦绣花园"},
                    "remark": {"value": "工作人员将在 2026-11-24 15:30 前与您联系，点击查看处理进度。"}}
    en = tpl.template_data("owner_resolved", "en", context | {"remedy": "Replaced\nthe  board"}, "t")
    assert en["first"]["value"] == "Your complaint has been resolved." and en["keyword2"]["value"] == "Resolved"
    assert en["remark"]["value"].startswith("What was done: Replaced the board.")
    progress = tpl.template_data("owner_progress", "zh_CN", context | {"note": "维修" * 200, "plan": True}, "t")
    assert progress["first"]["value"] == "您的投诉处理方案已确定。" and progress["keyword2"]["value"] == "处理中"
    assert len(progress["remark"]["value"]) <= tpl.VALUE_LIMIT and "…" in progress["remark"]["value"]
    reopened = tpl.template_data("owner_reopened", "zh_CN", context | {"resolution_due": "11-30 18:00"}, "t")
    assert reopened["keyword2"]["value"] == "重新处理中" and "11-30 18:00" in reopened["remark"]["value"]
    survey = tpl.template_data("callback_survey", "zh_CN", context, "t")
    assert survey["keyword2"]["value"] == "待评价" and "满意度" in survey["remark"]["value"]
    with pytest.raises(ValueError):
        tpl.template_data("staff_alert", "zh_CN", context, "t")


def test_the_plan_dates_the_window_from_the_owners_last_message():
    context = {"reference": "TS1", "estate_name": "锦绣花园"}
    inbound = NOW - dt.timedelta(hours=47)
    plan = tpl.plan("owner_reopened", "zh_CN", context, NOW, "Asia/Shanghai", "http://gw/t/x/status", inbound)
    assert plan["message"] == "progress" and plan["url"] == "http://gw/t/x/status"
    assert plan["data"]["keyword3"]["value"] == "2026-11-24 14:30"  # the estate's time
    assert plan["window_until"] == (inbound + dt.timedelta(hours=48)).isoformat()
    assert not tpl.window_closed(plan, NOW) and tpl.window_closed(plan, NOW + dt.timedelta(hours=1))
    assert tpl.plan("password_reset", "zh_CN", context, NOW, None, None, None) is None
    assert not tpl.window_closed(None, NOW) and not tpl.window_closed({"window_until": "x"}, NOW)
    assert tpl.status_url(STATUS, "t-1") == "http://gw.example/t/t-1/status" and tpl.status_url(None, "t") is None


@pytest.mark.parametrize("errcode, outcome, words", [
    (40037, "permanent", "template id"), (43004, "permanent", "unfollowed"), (45047, "permanent", "45047"),
    (40001, "token", "40001")])
def test_template_errors_are_classified(errcode, outcome, words):
    got, reason = rules.classify(errcode)
    assert got == outcome and words in reason


# --- the channel ----------------------------------------------------------------------------------------------

class Sender:
    """Stands in for ``WeChatSender``: the next error of each kind of send, the tenant's template ids."""

    def __init__(self, text=(), template=(), templates=None):
        self.text_errors, self.template_errors = list(text), list(template)
        self.templates = TEMPLATES if templates is None else templates
        self.texts, self.sent_templates = [], []

    def template_id(self, tenant_id, app_id, message):
        return self.templates.get(message)

    def send_text(self, tenant_id, app_id, openid, text):
        if self.text_errors:
            raise self.text_errors.pop(0)
        self.texts.append((openid, text))

    def send_template(self, tenant_id, app_id, openid, message, data, url=None):
        if self.template_errors:
            raise self.template_errors.pop(0)
        self.sent_templates.append({"openid": openid, "message": message, "data": data, "url": url})
        return "2000001"


def refusal(code):
    return channel.WeChatRefusal(rules.REASONS.get(code, str(code)), code)


def _acknowledge(new_uow, make_case_opened, tenant=None):
    payload = make_case_opened(channel="wechat", complainant={"email": "", "wechat": {"app_id": APP_ID,
                                                                                    "openid": OPENID}})
    tenant = tenant or str(uuid.uuid4())
    handlers.on_case_opened(Envelope(event_type="case_opened", tenant_id=tenant, payload=payload), new_uow(),
                            sms=SMS_ON, wechat=WECHAT_ON)
    return tenant, payload


def test_the_acknowledgement_row_plans_its_template_with_the_status_link(engine, new_uow, make_case_opened):
    tenant, payload = _acknowledge(new_uow, make_case_opened)
    [row] = [r for r in rows(engine) if r["channel"] == "wechat"]
    plan = row["fallback"]["template"]
    assert plan["message"] == "acknowledgement" and plan["url"] == f"http://gw.example/t/{tenant}/status"
    assert plan["data"]["keyword1"]["value"] == payload["reference"] and plan["data"]["keyword4"]["value"] == "锦绣花园"
    assert plan["window_until"] == "2026-11-26T06:30:00+00:00"  # 48 h after the complaint was received
    assert row["fallback"]["to"] == "13800138000"  # the SMS is still the last resort


def test_45015_sends_the_template_instead_of_the_sms(engine, new_uow, fake_clock, make_case_opened):
    tenant, payload = _acknowledge(new_uow, make_case_opened)
    sender = Sender(text=[refusal(45015)])
    assert delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock) == {"sent": 1}
    [sent] = sender.sent_templates
    assert sent["message"] == "acknowledgement" and sent["openid"] == OPENID
    assert sent["url"] == f"http://gw.example/t/{tenant}/status"
    assert sent["data"]["keyword1"]["value"] == payload["reference"]
    by_channel = {r["channel"]: r for r in rows(engine)}
    assert "sms" not in by_channel
    row = by_channel["wechat"]
    assert row["status"] == "sent" and row["provider_message_id"] == "2000001" and row["fallback"]["via"] == "template"
    assert timeline_entry(row)["text"] == "受理回执微信模板消息已发送至 oDem***0001（客服消息 48 小时窗口已关闭）"
    assert timeline_entry(row, "en")["text"].startswith("Acknowledgement WeChat template message sent to oDem***0001")
    assert delivery_view(row)["via"] == "template"
    [event] = events(engine, "notification_sent")
    assert event["via"] == "template" and event["channel"] == "wechat"


def test_a_text_that_goes_through_is_recorded_as_customer_service(engine, new_uow, fake_clock, make_case_opened):
    _acknowledge(new_uow, make_case_opened)
    sender = Sender()
    assert delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock) == {"sent": 1}
    row = next(r for r in rows(engine) if r["channel"] == "wechat")
    assert sender.texts and not sender.sent_templates and row["fallback"]["via"] == "customer_service"
    assert timeline_entry(row)["text"] == "受理回执微信消息已发送至 oDem***0001"
    assert delivery_view(row)["via"] == "customer_service"
    assert events(engine, "notification_sent")[0]["via"] == "customer_service"


@pytest.mark.parametrize("template_error, words", [
    (refusal(43004), "unfollowed the official account (43004)"),
    (channel.WeChatRefusal("WeChat does not know template id tplAck0001 for acknowledgement (40037)", 40037),
     "template id tplAck0001 for acknowledgement (40037)")])
def test_a_refused_template_fails_for_good_and_the_sms_follows(engine, new_uow, fake_clock, make_case_opened,
                                                                template_error, words):
    _acknowledge(new_uow, make_case_opened)
    sender = Sender(text=[refusal(45015)], template=[template_error])
    assert delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock) == {"failed": 1}
    by_channel = {r["channel"]: r for r in rows(engine)}
    failed = by_channel["wechat"]
    assert failed["status"] == "failed" and "48-hour" in failed["last_error"] and words in failed["last_error"]
    assert by_channel["sms"]["status"] == "queued" and by_channel["sms"]["recipient"] == "13800138000"
    [event] = events(engine, "notification_failed")
    assert event["permanent"] is True and words in event["reason"]
    assert words in timeline_entry(failed)["text"]


def test_without_a_template_or_when_unfollowed_the_sms_follows_directly(engine, new_uow, fake_clock,
                                                                        make_case_opened):
    _acknowledge(new_uow, make_case_opened)
    _acknowledge(new_uow, make_case_opened)
    sender = Sender(text=[refusal(45015), refusal(43004)], templates={"progress": "tplProgress0001"})
    assert delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock) == {"failed": 2}
    assert sender.sent_templates == []
    sender = Sender(text=[refusal(43004)])  # unfollowed: a template cannot reach them either
    _acknowledge(new_uow, make_case_opened)
    delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock)
    assert sender.sent_templates == [] and len([r for r in rows(engine) if r["channel"] == "sms"]) == 3


def test_a_temporary_template_failure_is_retried(engine, new_uow, fake_clock, make_case_opened):
    _acknowledge(new_uow, make_case_opened)
    sender = Sender(text=[refusal(45015), refusal(45015)], template=[TemporaryFailure("WeChat system busy (-1)")])
    wechat = channel.WeChatChannel(sender)
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"retry": 1}
    fake_clock.advance(minutes=5)
    assert delivery.deliver_once(engine, new_uow, wechat, fake_clock) == {"sent": 1}
    assert len(sender.sent_templates) == 1 and "sms" not in {r["channel"] for r in rows(engine)}


def test_an_update_after_the_window_goes_straight_to_the_template(engine, new_uow, fake_clock, make_case_opened):
    tenant = str(uuid.uuid4())
    opened = make_case_opened(channel="wechat", complainant={"email": "", "wechat": {"app_id": APP_ID,
                                                                                   "openid": OPENID}})
    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=tenant, payload=opened), new_uow())
    fake_clock.advance(hours=49)
    progress = Envelope(event_type="case_progress_recorded", tenant_id=tenant, payload={
        "case_id": opened["case_id"], "complaint_id": opened["complaint_id"], "note": "已联系电梯维保单位，明早维修"})
    assert owner_updates.on_case_event(progress, new_uow(), SMS_ON, wechat=WECHAT_ON) == {"wechat"}
    [row] = [r for r in rows(engine) if r["channel"] == "wechat"]
    assert row["fallback"]["template"]["message"] == "progress"
    assert "明早维修" in row["fallback"]["template"]["data"]["remark"]["value"]
    sender = Sender()
    assert delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock) == {"sent": 1}
    assert sender.texts == [] and [s["message"] for s in sender.sent_templates] == ["progress"]
    # a new complaint from the same owner opens the window again: the next update tries the text first
    again = make_case_opened(channel="wechat", complainant={"email": "", "wechat": {"app_id": APP_ID,
                                                                                  "openid": OPENID}})
    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=tenant, payload=again), new_uow())
    resolved = Envelope(event_type="case_resolved", tenant_id=tenant, payload={
        "case_id": opened["case_id"], "complaint_id": opened["complaint_id"], "remedy": "已更换主板"})
    owner_updates.on_case_event(resolved, new_uow(), SMS_ON, wechat=WECHAT_ON)
    sender = Sender()
    delivery.deliver_once(engine, new_uow, channel.WeChatChannel(sender), fake_clock)
    assert len(sender.texts) == 1 and sender.sent_templates == []


def test_a_wechat_owner_gets_the_callback_survey_on_wechat(engine, new_uow, fake_clock, make_case_opened):
    tenant = str(uuid.uuid4())
    opened = make_case_opened(channel="wechat", complainant={"email": "", "wechat": {"app_id": APP_ID,
                                                                                   "openid": OPENID}})
    owner_updates.remember_contacts(Envelope(event_type="case_opened", tenant_id=tenant, payload=opened), new_uow())
    callbacks.on_case_resolved(Envelope(event_type="case_resolved", tenant_id=tenant, payload={
        "case_id": opened["case_id"], "complaint_id": opened["complaint_id"], "reference": opened["reference"],
        "estate_code": "DEMO-RES", "by": "resolver", "at": fake_clock.now().isoformat()}), new_uow())
    with engine.connect() as conn:
        callback_id = conn.execute(select(callbacks_table.c.id)).scalar_one()
    roles = [["cs_supervisor", None]]
    for _ in range(3):
        result = callbacks.log_callback_attempt(callback_id, tenant, "caller", roles, new_uow(),
                                                {"outcome": "no_answer"}, SMS_ON, "http://gw/t/{tenant}/survey/{token}",
                                                wechat=WECHAT_ON)
    assert result["survey_queued"]
    [row] = [r for r in rows(engine) if r["kind"] == "callback_survey"]
    assert row["channel"] == "wechat" and row["recipient"] == OPENID and f"http://gw/t/{tenant}/survey/" in row[
        "body_text"]
    plan = row["fallback"]["template"]
    assert plan["message"] == "callback_survey" and plan["url"].startswith(f"http://gw/t/{tenant}/survey/")
    assert row["fallback"]["to"] == "13800138000" and plan["url"] in row["fallback"]["text"]
    assert timeline_entry(row)["text"] == "回访问卷微信消息排队中"


# --- the sender against a fake wechatpy client ----------------------------------------------------------------

class FakeApi:
    made = []

    def __init__(self, appid, secret, base_url, timeout):
        self.appid, self.secret, self.forgot, self.codes, self.calls = appid, secret, 0, [], []
        self.message = self
        FakeApi.made.append(self)

    def _answer(self):
        code = self.codes.pop(0) if self.codes else 0
        if code:
            raise WeChatClientException(code, "errmsg")

    def send_text(self, openid, text):
        self._answer()
        self.calls.append(("text", openid))

    def send_template(self, openid, template_id, data, url=None):
        self._answer()
        self.calls.append(("template", openid, template_id, url))
        return {"errcode": 0, "errmsg": "ok", "msgid": 200228332}

    def forget_token(self):
        self.forgot += 1


class Monotonic:
    def __init__(self):
        self.at = 1000.0

    def __call__(self):
        return self.at


@pytest.fixture
def fake_api(monkeypatch):
    FakeApi.made = []
    monkeypatch.setattr(wechat_api, "WeChatApi", FakeApi)
    return FakeApi


def test_the_sender_sends_templates_refreshes_the_token_and_rereads_the_ids(fake_api):
    answers = [{"app_id": APP_ID, "app_secret": "s1", "templates": {"progress": "tplOld"}}]
    asked = []

    def credentials(tenant_id, app_id):
        asked.append(app_id)
        return answers[-1]

    clock = Monotonic()
    sender = wechat_api.WeChatSender(credentials, clock=clock)
    assert sender.template_id("t1", APP_ID, "progress") == "tplOld"
    assert sender.template_id("t1", APP_ID, "resolved") is None
    fake_api.made[0].codes = [40001]  # refused token: fetched again, the template sent once
    assert sender.send_template("t1", APP_ID, OPENID, "progress", {"first": {"value": "x"}}, "http://gw/s") == (
        "200228332")
    client = fake_api.made[0]
    assert client.forgot == 1 and client.calls == [("template", OPENID, "tplOld", "http://gw/s")]
    answers.append({"app_id": APP_ID, "app_secret": "s1", "templates": {"progress": "tplNew"}})
    clock.at += wechat_api.CREDENTIALS_TTL - 1
    assert sender.template_id("t1", APP_ID, "progress") == "tplOld" and len(asked) == 1  # still fresh
    clock.at += 2
    assert sender.template_id("t1", APP_ID, "progress") == "tplNew" and len(asked) == 2
    assert len(fake_api.made) == 1  # same secret: the client and its access token are kept
    client.codes = [40037]
    with pytest.raises(channel.WeChatRefusal, match="template id tplNew for progress .40037.") as err:
        sender.send_template("t1", APP_ID, OPENID, "progress", {"first": {"value": "x"}})
    assert err.value.code == 40037
    sender.template_id("t1", APP_ID, "progress")
    assert len(asked) == 3  # the ids are read again after 40037
    client.codes = [43004]
    with pytest.raises(channel.WeChatRefusal, match="unfollowed"):
        sender.send_template("t1", APP_ID, OPENID, "progress", {"first": {"value": "x"}})
    with pytest.raises(channel.WeChatRefusal, match="no template message configured"):
        sender.send_template("t1", APP_ID, OPENID, "resolved", {"first": {"value": "x"}})
    client.codes = [45015]
    with pytest.raises(channel.WeChatRefusal) as err:
        sender.send_text("t1", APP_ID, OPENID, "您好")
    assert err.value.code == 45015


def test_intake_away_at_refresh_time_keeps_the_credentials_in_hand(fake_api):
    calls = []

    def credentials(tenant_id, app_id):
        calls.append(app_id)
        if len(calls) > 1:
            raise TemporaryFailure("WeChat credentials unavailable: RpcTimeout", unreachable=True)
        return {"app_id": app_id, "app_secret": "s1", "templates": {"resolved": "tplResolved"}}

    clock = Monotonic()
    sender = wechat_api.WeChatSender(credentials, clock=clock)
    sender.send_text("t1", APP_ID, OPENID, "您好")
    clock.at += wechat_api.CREDENTIALS_TTL + 1
    sender.send_text("t1", APP_ID, OPENID, "您好")
    assert sender.template_id("t1", APP_ID, "resolved") == "tplResolved" and len(fake_api.made) == 1
    fresh = wechat_api.WeChatSender(credentials, clock=clock)
    with pytest.raises(TemporaryFailure):  # nothing in hand: wait for intake
        fresh.send_text("t1", APP_ID, OPENID, "您好")
