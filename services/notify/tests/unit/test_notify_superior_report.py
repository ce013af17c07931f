"""Head-office forwards: the superior is remembered from case_opened and told once when the case closes."""
import datetime as dt
import uuid

from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import handlers, superior
from notify.dependencies import SmsPolicy
from notify.domain.quiet_hours import QuietHours
from notify.domain.timeline import timeline_entry
from notify.tables import messages, superior_reports

TENANT = str(uuid.uuid4())
SUPERIOR = {"name": "陈总", "title": "客服总监", "phone": "13912345678", "email": "chen@example.com"}
SMS_ON = SmsPolicy(True, QuietHours(dt.time(0, 0), dt.time(0, 0)))


def env(event_type, payload):
    return Envelope(event_type=event_type, tenant_id=TENANT, payload=payload)


def rows(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(table)).mappings().all()


def opened(make_case_opened, **over):
    return make_case_opened(**({"channel": "head_office", "forwarded_by": SUPERIOR, "instructions": "三日内处理并回报"}
                               | over))


def test_the_superior_is_told_once_by_mail_and_sms_when_the_owner_accepts(engine, new_uow, make_case_opened):
    payload = opened(make_case_opened)
    assert superior.remember(env("case_opened", payload), new_uow())
    assert not superior.remember(env("case_opened", payload), new_uow())  # new event id, same case: one row
    assert len(rows(engine, superior_reports)) == 1
    closing = env("owner_accepted", {"complaint_id": payload["complaint_id"], "at": "2026-11-25T02:00:00+00:00"})
    assert superior.on_case_closed(closing, new_uow(), superior.CONSUMER_ACCEPTED, SMS_ON) == {"email", "sms"}
    assert superior.on_case_closed(closing, new_uow(), superior.CONSUMER_ACCEPTED, SMS_ON) == set()  # redelivery
    again = env("case_closed", {"complaint_id": payload["complaint_id"], "reason": "callback_satisfied"})
    assert superior.on_case_closed(again, new_uow(), superior.CONSUMER_CLOSED, SMS_ON) == set()  # reported already
    sent = {m["channel"]: m for m in rows(engine, messages)}
    assert set(sent) == {"email", "sms"} and {m["kind"] for m in sent.values()} == {"superior_report"}
    mail = sent["email"]
    assert mail["recipient"] == "chen@example.com" and payload["reference"] in mail["subject"]
    assert "您转办的投诉已办结" in mail["body_text"] and "三日内处理并回报" in mail["body_text"]
    assert "2026-11-25 10:00" in mail["body_text"] and "业主验收通过" in mail["body_text"]
    assert "陈总（客服总监）" in mail["body_html"]
    assert sent["sms"]["recipient"] == "13912345678" and payload["reference"] in sent["sms"]["body_text"]
    assert timeline_entry(mail)["text"] == "办结回报上级邮件排队中"
    assert rows(engine, superior_reports)[0]["closed_reason"] == "owner_accepted"


def test_other_channels_and_unreachable_superiors_are_not_remembered(engine, new_uow, make_case_opened):
    superior.remember(env("case_opened", make_case_opened()), new_uow())
    unreachable = opened(make_case_opened) | {"forwarded_by": {"name": "陈总", "phone": "", "email": ""}}
    superior.remember(env("case_opened", unreachable), new_uow())
    assert rows(engine, superior_reports) == []
    closing = env("case_closed", {"complaint_id": str(uuid.uuid4()), "reason": "callback_satisfied"})
    assert superior.on_case_closed(closing, new_uow(), superior.CONSUMER_CLOSED, SMS_ON) == set()
    assert rows(engine, messages) == []


def test_without_an_e_mail_and_with_sms_off_the_timeline_says_why(engine, new_uow, make_case_opened):
    payload = opened(make_case_opened, forwarded_by=SUPERIOR | {"email": ""})
    superior.remember(env("case_opened", payload), new_uow())
    closing = env("case_closed", {"complaint_id": payload["complaint_id"], "reason": "callback_satisfied"})
    assert superior.on_case_closed(closing, new_uow(), superior.CONSUMER_CLOSED, None) == set()
    [row] = rows(engine, messages)
    assert row["status"] == "skipped" and timeline_entry(row)["text"] == "办结回报上级邮件未发送：无电子邮箱"
    assert handlers.get_timeline(payload["complaint_id"], TENANT, engine)[0]["kind"] == "notification_skipped"
