"""Callbacks (回访): rules (retry schedule, who may claim, outcomes) and the use cases on a throwaway SQLite."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from notify import callbacks, handlers
from notify.dependencies import SmsPolicy
from notify.domain import callbacks as rules
from notify.domain.quiet_hours import QuietHours
from notify.tables import messages, reliability

TENANT = str(uuid.uuid4())
AGENT = [["agent", "DEMO-RES"]]
SMS_ON = SmsPolicy(True, QuietHours())


def _cb(**overrides):
    row = {"id": str(uuid.uuid4()), "complaint_id": str(uuid.uuid4()), "reference": "TS1", "estate_code": "DEMO-RES",
           "resolved_by": "fixer", "status": "open", "claimed_by": None, "attempts": 0, "round": 1,
           "survey_sent_at": None}
    return row | overrides


# ---- rules ---------------------------------------------------------------------------------------------------

def test_retry_schedule_is_two_hours_then_a_day_then_the_survey():
    now = dt.datetime(2026, 11, 24, 6, 0, tzinfo=dt.timezone.utc)
    first = rules.apply_attempt(_cb(), rules.parse_attempt("no_answer"), now)
    assert (first.attempts, first.next_attempt_at, first.send_survey) == (1, now + dt.timedelta(hours=2), False)
    second = rules.apply_attempt(_cb(attempts=1), rules.parse_attempt("refused"), now)
    assert (second.next_attempt_at, second.send_survey) == (now + dt.timedelta(days=1), False)
    third = rules.apply_attempt(_cb(attempts=2), rules.parse_attempt("wrong_number"), now)
    assert (third.next_attempt_at, third.send_survey, third.event) == (None, True, None)
    fourth = rules.apply_attempt(_cb(attempts=3, survey_sent_at=now), rules.parse_attempt("no_answer"), now)
    assert fourth.send_survey is False  # one survey per callback


@pytest.mark.parametrize("satisfaction,event,status", [
    ("very_satisfied", "callback_completed", "done"), ("satisfied", "callback_completed", "done"),
    ("neutral", "callback_completed", "done"), ("dissatisfied", "callback_dissatisfied", "done")])
def test_outcome_rules(satisfaction, event, status):
    result = rules.apply_attempt(_cb(), rules.parse_attempt("reached", satisfaction, "好"), dt.datetime.now(dt.UTC))
    assert (result.event, result.status) == (event, status)


def test_third_dissatisfied_round_escalates():
    result = rules.apply_attempt(_cb(round=3), rules.parse_attempt("reached", "dissatisfied"), dt.datetime.now(dt.UTC))
    assert result.status == "escalated"
    payload = rules.outcome_payload(_cb(round=3), rules.parse_attempt("reached", "dissatisfied", "没修好"), "u", "phone")
    assert payload["escalate"] is True and payload["words"] == "没修好"


@pytest.mark.parametrize("fields,field", [
    ({"outcome": "hung_up"}, "outcome"), ({"outcome": "reached"}, "satisfaction"),
    ({"outcome": "reached", "satisfaction": "happy"}, "satisfaction"),
    ({"outcome": "no_answer", "satisfaction": "satisfied"}, "satisfaction"),
    ({"outcome": "reached", "satisfaction": "satisfied", "words": "x" * 2001}, "words"),
    ({"outcome": "reached", "satisfaction": "satisfied", "valid": "yes"}, "valid")])
def test_bad_attempts_name_the_field(fields, field):
    with pytest.raises(rules.CallbackError) as err:
        rules.parse_attempt(**fields)
    assert err.value.field == field


def test_the_resolver_cannot_claim_and_site_roles_stay_in_their_estates():
    with pytest.raises(rules.CallbackError) as err:
        rules.check_claim(_cb(), "fixer", AGENT)
    assert err.value.code == "resolver"
    with pytest.raises(rules.CallbackError) as err:
        rules.check_claim(_cb(), "cs-1", [["agent", "OTHER-ESTATE"]])
    assert err.value.code == "forbidden"
    rules.check_claim(_cb(), "cs-1", AGENT)
    rules.check_claim(_cb(), "cs-1", [["head_office", None]])
    with pytest.raises(rules.CallbackError):
        rules.check_claim(_cb(status="claimed", claimed_by="cs-2"), "cs-1", AGENT)


def test_survey_tokens_are_long_random_and_stored_hashed():
    a, b = rules.new_survey_token(), rules.new_survey_token()
    assert a != b and len(a) >= 32 and rules.hash_token(a) != a and len(rules.hash_token(a)) == 64


# ---- use cases -----------------------------------------------------------------------------------------------

def _resolved(complaint_id=None, by="fixer"):
    complaint_id = complaint_id or str(uuid.uuid4())
    return Envelope(event_type="case_resolved", tenant_id=TENANT, payload={
        "case_id": complaint_id, "complaint_id": complaint_id, "reference": "TS20261124-ABC123",
        "estate_code": "DEMO-RES", "by": by, "cause": "facility_fault", "remedy": "修好了",
        "at": "2026-11-24T06:00:00+00:00"})


def _events(engine):
    with engine.connect() as conn:
        return [r.body for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))]


def test_case_resolved_creates_one_callback_due_in_a_day(engine, new_uow):
    env = _resolved()
    callback_id = callbacks.on_case_resolved(env, new_uow())
    assert callbacks.on_case_resolved(env, new_uow()) is None  # redelivered
    [item] = callbacks.list_callbacks(TENANT, AGENT, engine)["items"]
    assert item["id"] == callback_id and item["status"] == "open" and item["round"] == 1
    assert item["due_at"] == "2026-11-25T06:00:00+00:00"
    assert callbacks.list_callbacks(str(uuid.uuid4()), AGENT, engine)["items"] == []  # other tenant
    assert callbacks.list_callbacks(TENANT, [["agent", "ELSEWHERE"]], engine)["items"] == []


def test_claim_by_resolver_is_refused_and_by_colleague_accepted(engine, new_uow):
    callback_id = callbacks.on_case_resolved(_resolved(), new_uow())
    with pytest.raises(Forbidden) as err:
        callbacks.claim_callback(callback_id, TENANT, "fixer", AGENT, new_uow())
    assert err.value.code == "resolver_cannot_claim"
    claimed = callbacks.claim_callback(callback_id, TENANT, "cs-1", AGENT, new_uow())
    assert (claimed["status"], claimed["claimed_by"]) == ("claimed", "cs-1")
    with pytest.raises(Conflict):
        callbacks.claim_callback(callback_id, TENANT, "cs-2", AGENT, new_uow())
    with pytest.raises(NotFound):
        callbacks.claim_callback(callback_id, str(uuid.uuid4()), "cs-1", AGENT, new_uow())


def test_reached_dissatisfied_emits_the_words_and_the_next_resolution_gets_round_two(engine, new_uow):
    env = _resolved()
    callback_id = callbacks.on_case_resolved(env, new_uow())
    done = callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(), {
        "outcome": "reached", "satisfaction": "dissatisfied", "words": "还在漏水", "valid": True, "solved": False})
    assert done["status"] == "done" and done["satisfaction"] == "dissatisfied"
    [event] = [e for e in _events(engine) if e["event_type"] == "callback_dissatisfied"]
    assert event["payload"]["words"] == "还在漏水" and event["payload"]["by"] == "cs-1"
    again = _resolved(env.payload["complaint_id"])
    callbacks.on_case_resolved(again, new_uow())
    rounds = sorted(i["round"] for i in callbacks.list_callbacks(TENANT, AGENT, engine)["items"])
    assert rounds == [1, 2]
    with pytest.raises(Conflict):
        callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(), {"outcome": "no_answer"})


def test_satisfied_emits_callback_completed(engine, new_uow):
    callback_id = callbacks.on_case_resolved(_resolved(), new_uow())
    callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(),
                                   {"outcome": "reached", "satisfaction": "neutral"})
    [event] = [e for e in _events(engine) if e["event_type"] == "callback_completed"]
    assert event["payload"]["satisfaction"] == "neutral"


def test_missing_satisfaction_is_a_422_on_the_field(engine, new_uow):
    callback_id = callbacks.on_case_resolved(_resolved(), new_uow())
    with pytest.raises(ValidationFailed) as err:
        callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(), {"outcome": "reached"})
    assert err.value.field == "satisfaction"


def _three_failed(engine, new_uow, make_case_opened, fake_clock):
    opened = make_case_opened()
    handlers.on_case_opened(Envelope(event_type="case_opened", tenant_id=TENANT, payload=opened), new_uow(),
                            sms=SMS_ON)
    callback_id = callbacks.on_case_resolved(_resolved(opened["complaint_id"]), new_uow())
    results = [callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(), {"outcome": "no_answer"},
                                              sms=SMS_ON, survey_url="https://ed.example/t/{tenant}/survey/{token}")
               for _ in range(3)]
    return callback_id, results


def test_three_failed_attempts_queue_an_sms_survey_then_the_owner_answers_once(engine, new_uow, make_case_opened,
                                                                                fake_clock):
    callback_id, results = _three_failed(engine, new_uow, make_case_opened, fake_clock)
    assert [r["survey_queued"] for r in results] == [False, False, True]
    assert results[0]["next_attempt_at"] == (fake_clock.now() + dt.timedelta(hours=2)).isoformat()
    with engine.connect() as conn:
        [survey] = conn.execute(select(messages).where(messages.c.kind == "callback_survey")).mappings().all()
    assert survey["channel"] == "sms" and survey["status"] == "queued" and survey["recipient"] == "13800138000"
    token = survey["body_text"].rsplit("/", 1)[1]
    assert f"https://ed.example/t/{TENANT}/survey/" in survey["body_text"]
    assert callbacks.get_survey(token, TENANT, engine)["reference"] == "TS20261124-ABC123"
    with pytest.raises(NotFound):
        callbacks.get_survey(token, str(uuid.uuid4()), engine)  # another tenant's slug
    assert callbacks.answer_survey(token, "satisfied", "谢谢", TENANT, new_uow())["status"] == "done"
    with pytest.raises(NotFound):
        callbacks.answer_survey(token, "satisfied", "", TENANT, new_uow())  # single use
    [event] = [e for e in _events(engine) if e["event_type"] == "callback_completed"]
    assert event["payload"]["by"] == "owner" and event["payload"]["via"] == "survey"


def test_survey_sms_respects_quiet_hours(engine, new_uow, make_case_opened, fake_clock):
    fake_clock.now_value = dt.datetime(2026, 11, 24, 15, 0, tzinfo=dt.timezone.utc)  # 23:00 in Shanghai
    _three_failed(engine, new_uow, make_case_opened, fake_clock)
    with engine.connect() as conn:
        survey = conn.execute(select(messages).where(messages.c.kind == "callback_survey")).mappings().one()
    assert survey["deferred_until"] == dt.datetime(2026, 11, 24, 23, 0, tzinfo=dt.timezone.utc)  # 07:00 local


def test_no_phone_records_a_skipped_survey(engine, new_uow):
    callback_id = callbacks.on_case_resolved(_resolved(), new_uow())
    for _ in range(3):
        result = callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(),
                                                {"outcome": "no_answer"}, sms=SMS_ON)
    assert result["survey_queued"] is False
    with engine.connect() as conn:
        survey = conn.execute(select(messages).where(messages.c.kind == "callback_survey")).mappings().one()
    assert (survey["status"], survey["last_error"]) == ("skipped", callbacks.NO_PHONE)


def test_survey_messages_appear_on_the_timeline_in_both_locales(engine, new_uow):
    env = _resolved()
    callback_id = callbacks.on_case_resolved(env, new_uow())
    for _ in range(3):
        callbacks.log_callback_attempt(callback_id, TENANT, "cs-1", AGENT, new_uow(), {"outcome": "no_answer"},
                                       sms=SMS_ON)
    [entry] = handlers.get_timeline(env.payload["complaint_id"], TENANT, engine)
    assert entry["text"].startswith("回访问卷短信未发送")
    [entry] = handlers.get_timeline(env.payload["complaint_id"], TENANT, engine, "en")
    assert entry["text"].startswith("Callback survey SMS not sent")
