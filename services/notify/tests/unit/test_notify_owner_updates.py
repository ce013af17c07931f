"""Owner updates: progress / plan / resolution / reopening by e-mail and SMS, once per event, quiet hours unless
the case is urgent, opt-outs honoured, on the timeline."""
import datetime as dt
import uuid

from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import owner_updates
from notify.dependencies import SmsPolicy
from notify.domain.quiet_hours import QuietHours
from notify.domain.timeline import timeline_entry
from notify.tables import messages, owner_contacts, sms_opt_outs

TENANT = str(uuid.uuid4())
SMS_ON = SmsPolicy(True, QuietHours())


def env(event_type, payload, tenant=TENANT):
    return Envelope(event_type=event_type, tenant_id=tenant, payload=payload)


def rows(engine, table=messages):
    with engine.connect() as conn:
        return conn.execute(select(table)).mappings().all()


def event(payload, **over):
    return {"case_id": payload["case_id"], "complaint_id": payload["complaint_id"], "reference": payload["reference"],
            "estate_code": "DEMO-RES", "by": "u1", "at": "2026-11-24T07:00:00+00:00"} | over


def test_progress_goes_by_mail_and_sms_once_per_event(engine, new_uow, make_case_opened):
    opened = make_case_opened()
    assert owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    progress = env("case_progress_recorded", event(opened, note="已联系电梯公司，明早 9 点上门维修"))
    assert owner_updates.on_case_event(progress, new_uow(), SMS_ON) == {"email", "sms"}
    assert owner_updates.on_case_event(progress, new_uow(), SMS_ON) == set()  # redelivered: nothing new
    sent = {m["channel"]: m for m in rows(engine)}
    assert {m["kind"] for m in sent.values()} == {"owner_progress"}
    mail = sent["email"]
    assert mail["recipient"] == "zhang@example.com" and "您的投诉正在处理" in mail["subject"]
    assert "已联系电梯公司，明早 9 点上门维修" in mail["body_text"] and opened["reference"] in mail["body_html"]
    sms = sent["sms"]
    assert sms["recipient"] == "13800138000" and sms["deferred_until"] is None
    assert sms["body_text"].startswith("【锦绣花园】您的投诉") and "回复TD退订" in sms["body_text"]
    assert timeline_entry(mail)["text"] == "处理进展邮件排队中"
    assert timeline_entry(sms, "en")["text"] == "Progress SMS queued"


def test_resolution_and_reopening_in_english_with_their_own_words(engine, new_uow, make_case_opened):
    opened = make_case_opened(locale="en")
    owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    owner_updates.on_case_event(env("case_resolved", event(opened, remedy="Replaced the lift's door motor")),
                                new_uow(), None)
    owner_updates.on_case_event(env("case_reopened", event(opened, words="Still broken",
                                                           resolution_due_at="2026-11-26T02:00:00+00:00")),
                                new_uow(), None)
    resolved, reopened = sorted(rows(engine), key=lambda m: m["kind"], reverse=True)
    assert resolved["kind"] == "owner_resolved" and "has been resolved" in resolved["subject"]
    assert "Replaced the lift's door motor" in resolved["body_text"] and "call you back" in resolved["body_text"]
    assert reopened["kind"] == "owner_reopened" and "Still broken" in reopened["body_text"]
    assert "2026-11-26 10:00" in reopened["body_text"]
    assert all(m["channel"] == "email" for m in rows(engine))  # SMS off: no SMS rows


def test_night_sms_waits_unless_the_case_is_urgent(engine, new_uow, make_case_opened, fake_clock):
    normal, urgent = make_case_opened(), make_case_opened(severity="major")
    for opened in (normal, urgent):
        owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    fake_clock.now_value = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 in Shanghai
    for opened in (normal, urgent):
        owner_updates.on_case_event(env("case_resolved", event(opened)), new_uow(), SMS_ON)
    sms = {m["complaint_id"]: m for m in rows(engine) if m["channel"] == "sms"}
    held = sms[normal["complaint_id"]]
    assert held["deferred_until"] == dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.timezone.utc)  # 07:00 local
    assert timeline_entry(held)["text"] == "办结通知短信因免打扰时段暂缓，将于 11-25 07:00 发送"
    assert sms[urgent["complaint_id"]]["deferred_until"] is None and sms[urgent["complaint_id"]]["urgent"]


def test_an_opted_out_owner_gets_the_mail_but_no_update_sms(engine, new_uow, make_case_opened, fake_clock):
    opened = make_case_opened(complainant={"phone": "+86 138-0013-8000"})
    owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    with engine.begin() as conn:
        conn.execute(sms_opt_outs.insert().values(tenant_id=TENANT, phone="13800138000", keyword="TD",
                                                  opted_out_at=fake_clock.now()))
    assert owner_updates.on_case_event(env("case_resolved", event(opened)), new_uow(), SMS_ON) == {"email"}
    sms = [m for m in rows(engine) if m["channel"] == "sms"][0]
    assert sms["status"] == "skipped"
    assert timeline_entry(sms)["text"] == "办结通知短信未发送：业主已回复退订短信"


def test_no_contacts_kept_means_nobody_to_tell_and_another_tenant_sees_nothing(engine, new_uow, make_case_opened):
    opened = make_case_opened()
    owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    other = env("case_resolved", event(opened), tenant=str(uuid.uuid4()))
    assert owner_updates.on_case_event(other, new_uow(), SMS_ON) == set()
    assert rows(engine) == [] and len(rows(engine, owner_contacts)) == 1


def test_an_owner_without_email_or_with_a_landline(engine, new_uow, make_case_opened):
    opened = make_case_opened(complainant={"email": "", "phone": "021-12345678"})
    owner_updates.remember_contacts(env("case_opened", opened), new_uow())
    assert owner_updates.on_case_event(env("case_reopened", event(opened)), new_uow(), SMS_ON) == set()
    statuses = {m["channel"]: (m["status"], m["last_error"]) for m in rows(engine)}
    assert statuses["email"] == ("skipped", "no e-mail address")
    assert statuses["sms"][0] == "failed" and "not a mainland mobile" in statuses["sms"][1]
