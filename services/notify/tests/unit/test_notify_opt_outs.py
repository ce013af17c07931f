"""Opt-outs by SMS reply (Kannel MO) and the per-number hourly throttle (deferred, never dropped)."""
import datetime as dt
import uuid

from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import delivery, handlers, opt_outs, owner_updates
from notify.dependencies import SmsPolicy
from notify.domain.opt_outs import opt_out_keyword, throttled_until
from notify.domain.quiet_hours import QuietHours
from notify.domain.timeline import timeline_entry
from notify.opt_outs import SmsThrottle
from notify.sms import SmsChannel, dlr_url
from notify.tables import messages, sms_opt_outs

POLICY = SmsPolicy(True, QuietHours(dt.time(22), dt.time(7)))
T0 = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)


class FakeProvider:
    name = "fake"

    def __init__(self):
        self.sent = []

    def send(self, to, text, dlr_url=None):
        self.sent.append(to)


def _rows(engine, table=messages):
    with engine.connect() as conn:
        return conn.execute(select(table)).mappings().all()


def _open(new_uow, make_case_opened, tenant, **over):
    payload = make_case_opened(**over)
    opened = Envelope(event_type="case_opened", tenant_id=tenant, payload=payload)
    handlers.on_case_opened(opened, new_uow(), sms=POLICY)
    owner_updates.remember_contacts(opened, new_uow())
    return payload


def test_keywords():
    assert [opt_out_keyword(t) for t in ("TD", " td。", "退订", "Stop!", "【退订】")] == ["TD", "TD", "退订", "STOP", "退订"]
    assert [opt_out_keyword(t) for t in ("TD 谢谢", "电梯还是坏的", "", None)] == [None, None, None, None]


def test_throttle_window():
    sends = [T0 - dt.timedelta(minutes=m) for m in (50, 40, 30)]
    assert throttled_until(sends, T0, limit=4) is None
    assert throttled_until(sends, T0, limit=3) == T0 + dt.timedelta(minutes=10)
    assert throttled_until(sends + [T0 - dt.timedelta(minutes=70)], T0, limit=3) == T0 + dt.timedelta(minutes=10)
    assert throttled_until(sends, T0, limit=0) is None


def test_td_reply_opts_out_for_the_tenants_that_texted_the_number(engine, new_uow, make_case_opened):
    tenant, stranger = str(uuid.uuid4()), str(uuid.uuid4())
    payload = _open(new_uow, make_case_opened, tenant)
    progress = Envelope(event_type="case_progress_recorded", tenant_id=tenant, payload={
        "complaint_id": payload["complaint_id"], "reference": payload["reference"], "note": "明早维修"})
    owner_updates.on_case_event(progress, new_uow(), POLICY)  # queued, not sent yet
    assert opt_outs.on_kannel_mo({"from": "+8613800138000", "text": "退订", "k": "s3cret"}, new_uow(),
                                 "s3cret") == (200, "")
    assert [(r["tenant_id"], r["phone"], r["keyword"]) for r in _rows(engine, sms_opt_outs)] == [
        (tenant, "13800138000", "退订")]
    status = {(r["kind"], r["channel"]): r for r in _rows(engine)}
    assert status[("acknowledgement", "sms")]["status"] == "queued"  # essential: it carries the reference
    skipped = status[("owner_progress", "sms")]
    assert skipped["status"] == "skipped" and timeline_entry(skipped)["text"].endswith("业主已回复退订短信")
    assert status[("owner_progress", "email")]["status"] == "queued"
    assert opt_outs.is_opted_out(engine.connect(), tenant, "138 0013 8000")
    assert not opt_outs.is_opted_out(engine.connect(), stranger, "13800138000")


def test_mo_refusals_and_ordinary_replies(engine, new_uow):
    assert opt_outs.on_kannel_mo({"from": "+8613800138000", "text": "TD", "k": "wrong"}, new_uow(), "s3cret")[0] == 403
    assert opt_outs.on_kannel_mo({"from": "10086", "text": "TD"}, new_uow())[0] == 400
    assert opt_outs.on_kannel_mo({"from": "13800138000", "text": "什么时候来修？"}, new_uow()) == (200, "")
    assert opt_outs.on_kannel_mo({"from": "13800138000", "text": "TD"}, new_uow()) == (200, "")  # no tenant texted it
    assert _rows(engine, sms_opt_outs) == []


def test_the_excess_over_the_hourly_limit_waits_and_then_goes(engine, new_uow, make_case_opened, fake_clock):
    tenant = str(uuid.uuid4())
    for _ in range(3):
        _open(new_uow, make_case_opened, tenant)  # three acknowledgements to the same number
    provider = FakeProvider()
    channel = SmsChannel(provider, POLICY.quiet_hours, lambda row: dlr_url("http://127.0.0.1:9203", row),
                         throttle=SmsThrottle(engine, 2))
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {"sent": 2, "deferred": 1}
    [held] = [r for r in _rows(engine) if r["channel"] == "sms" and r["status"] == "queued"]
    assert held["deferred_until"] == fake_clock.now() + dt.timedelta(hours=1) and held["attempts"] == 0
    assert timeline_entry(held)["text"] == "受理短信排队中（超过每小时发送上限，将于 11-24 15:30 发送）"
    fake_clock.advance(minutes=30)
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {}  # not due yet
    fake_clock.advance(minutes=31)
    assert delivery.deliver_once(engine, new_uow, channel, fake_clock) == {"sent": 1}
    assert len(provider.sent) == 3 and all(r["status"] == "sent" for r in _rows(engine) if r["channel"] == "sms")


def test_an_sms_whose_gateway_answer_was_lost_counts_against_the_hourly_limit(engine, new_uow, make_case_opened,
                                                                                fake_clock):
    """An ``unknown`` SMS (Kannel's answer lost after the request went out) most likely reached the owner."""
    tenant = str(uuid.uuid4())
    for _ in range(2):
        _open(new_uow, make_case_opened, tenant)
    first, _ = [r for r in _rows(engine) if r["channel"] == "sms"]
    with engine.begin() as conn:
        conn.execute(messages.update().where(messages.c.id == first["id"]).values(
            status="unknown", ambiguous_at=fake_clock.now() - dt.timedelta(minutes=10),
            next_attempt_at=fake_clock.now() + dt.timedelta(hours=2)))
    throttle = SmsThrottle(engine, 1)
    assert throttle.recent(first["recipient"], fake_clock.now()) == [fake_clock.now() - dt.timedelta(minutes=10)]
    assert throttle.until(first["recipient"], fake_clock.now(), []) == fake_clock.now() + dt.timedelta(minutes=50)
    assert throttle.until(first["recipient"], fake_clock.now() + dt.timedelta(minutes=51), []) is None
