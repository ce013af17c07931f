"""An SMS whose send reached Kannel but whose answer was lost is ``unknown``, not failed: it waits for Kannel's
delivery report (the proof) before it is sent again (``domain.lost_answers``). State machine on its own, then
through the delivery loop and the DLR handler on a throwaway SQLite database, a fake provider and a fixed clock."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from notify import delivery, handlers, opt_outs, owner_updates, repository
from notify.dependencies import SmsPolicy
from notify.domain import lost_answers
from notify.domain.lost_answers import UNKNOWN, after_lost_answer, is_ambiguous_retry, on_report, when_due
from notify.domain.quiet_hours import QuietHours
from notify.sms import AnswerLost, SmsChannel, TemporaryFailure, dlr_url
from notify.tables import messages, reliability

POLICY = SmsPolicy(True, QuietHours(dt.time(22), dt.time(7)))  # fake clock: 06:30 UTC = 14:30 Shanghai
WAIT = dt.timedelta(minutes=10)
LOST = "Kannel did not answer (the request was sent): ReadTimeout: Read timed out. (read timeout=10)"
T0 = dt.datetime(2026, 11, 24, 6, 30, tzinfo=dt.timezone.utc)


# --- the state machine alone ---------------------------------------------------------------------------------
def test_a_lost_answer_waits_for_a_report_unless_one_already_came():
    assert after_lost_answer(T0, WAIT, report_seen=False) == lost_answers.AfterLostAnswer(UNKNOWN, T0 + WAIT)
    assert after_lost_answer(T0, WAIT, report_seen=True) == lost_answers.AfterLostAnswer("sent", None)


def test_a_due_unknown_row_is_sent_again_until_its_attempts_are_used_up():
    assert when_due(UNKNOWN, 1, 8) == "send"
    assert when_due(UNKNOWN, 8, 8) == "give_up"
    assert when_due("queued", 8, 8) == "send"  # an ordinary row never reaches 8 queued: failed at the 8th try


def test_only_a_repeat_of_an_unknown_row_that_reached_the_gateway_is_an_ambiguous_retry():
    assert is_ambiguous_retry(UNKNOWN, reached_gateway=True)
    assert not is_ambiguous_retry(UNKNOWN, reached_gateway=False)  # refused: nothing went out
    assert not is_ambiguous_retry("queued", reached_gateway=True)


@pytest.mark.parametrize("status, final, action", [
    (UNKNOWN, False, "confirm"), (UNKNOWN, True, "confirm"), ("sent", True, "settle"), ("sent", False, "note"),
    ("queued", True, "note"), ("delivered", True, "note"), ("failed", True, "note"), ("skipped", True, "note")])
def test_what_a_report_does(status, final, action):
    assert on_report(status, final) == action


# --- through the delivery loop and the DLR endpoint -----------------------------------------------------------
class Provider:
    """Sends, or raises the next scripted error; ``during(dlr_url)`` runs inside the send (Kannel calling back
    before we have its answer)."""
    name = "fake"

    def __init__(self, *errors, during=None):
        self.errors, self.during, self.sent, self.tried = list(errors), during, [], []

    def send(self, to, text, dlr_url=None):
        self.tried.append(dlr_url)
        if self.during:
            self.during(dlr_url)
        error = self.errors.pop(0) if self.errors else None
        if error:
            raise error
        self.sent.append(dlr_url)
        return None


def _lost():
    return AnswerLost(LOST, unreachable=True)


def _open(new_uow, make_case_opened, tenant=None, phone="13800138000"):
    env = Envelope(event_type="case_opened", tenant_id=tenant or str(uuid.uuid4()),
                   payload=make_case_opened(complainant={"phone": phone, "email": "z@example.com"}))
    handlers.on_case_opened(env, new_uow(), sms=POLICY)
    return env


def _pass(engine, new_uow, provider, clock, max_attempts=8):
    channel = SmsChannel(provider, POLICY.quiet_hours, lambda row: dlr_url("http://127.0.0.1:9203", row),
                         dlr_wait=WAIT)
    return delivery.deliver_once(engine, new_uow, channel, clock, max_attempts=max_attempts)


def _sms(engine):
    with engine.connect() as conn:
        return conn.execute(select(messages).where(messages.c.channel == "sms")
                            .order_by(messages.c.created_at, messages.c.id)).mappings().all()


def _events(engine):
    with engine.connect() as conn:
        return [r.body for r in conn.execute(select(reliability.outbox).order_by(reliability.outbox.c.id))]


def _report(row, dlr_type, attempt=1, **extra):
    return {"t": row["tenant_id"], "m": row["id"], "k": row["dlr_token"], "a": str(attempt), "type": str(dlr_type),
            "reply": "", "to": "+8613800138000", "ts": "1795527233"} | extra


def test_a_lost_answer_makes_the_sms_unknown_and_its_report_makes_it_sent_never_sent_again(
        engine, new_uow, fake_clock, make_case_opened):
    env = _open(new_uow, make_case_opened)
    started = fake_clock.now()
    assert _pass(engine, new_uow, Provider(_lost()), fake_clock) == {"unknown": 1}
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.last_error) == (UNKNOWN, 1, LOST)
    assert row.ambiguous_at == started and row.next_attempt_at == started + WAIT and not row.ambiguous_retries
    assert _events(engine) == []  # neither sent nor failed yet
    [entry] = [e for e in handlers.get_timeline(env.payload["complaint_id"], env.tenant_id, engine)
               if "短信" in e["text"]]
    assert entry == {"at": row.created_at.isoformat(), "kind": "notification_queued", "actor": "notify",
                     "text": "受理短信已交给短信网关但未收到应答，等待状态报告至 11-24 14:40"}

    idle = Provider()
    fake_clock.advance(minutes=5)
    assert _pass(engine, new_uow, idle, fake_clock) == {}  # inside the wait: not sent again
    assert handlers.on_kannel_dlr(_report(row, 8, reply="ACK/"), new_uow()) == (200, "sent\n")  # SMSC took it
    [row] = _sms(engine)
    assert (row.status, row.sent_at, row.attempts, row.dlr_attempt) == ("sent", started, 1, 1)
    [event] = _events(engine)
    assert event["event_type"] == "notification_sent"
    assert event["payload"]["confirmed_by"] == "delivery_report" and event["payload"]["sent_at"] == started.isoformat()
    assert handlers.on_kannel_dlr(_report(row, 1), new_uow()) == (200, "delivered\n")
    fake_clock.advance(hours=1)
    assert _pass(engine, new_uow, idle, fake_clock) == {} and idle.tried == []  # never sent again
    [row] = _sms(engine)
    assert (row.status, row.dlr_type, row.ambiguous_retries) == ("delivered", 1, None)
    assert [e["event_type"] for e in _events(engine)] == ["notification_sent"]
    [view] = [d for d in handlers.get_deliveries(env.payload["complaint_id"], env.tenant_id, engine)
              if d["channel"] == "sms"]
    assert (view["status"], view["ambiguous_retries"], view["dlr_attempt"]) == ("delivered", 0, 1)


def test_a_final_report_on_an_unknown_sms_confirms_and_settles_it_at_once(engine, new_uow, fake_clock,
                                                                          make_case_opened):
    _open(new_uow, make_case_opened)
    _pass(engine, new_uow, Provider(_lost()), fake_clock)
    [row] = _sms(engine)
    assert handlers.on_kannel_dlr(_report(row, 2, reply="NACK/0x0b"), new_uow()) == (200, "failed\n")
    [row] = _sms(engine)
    assert (row.status, row.last_error) == ("failed", "DLR 2: not delivered to the phone (NACK/0x0b)")
    assert [e["event_type"] for e in _events(engine)] == ["notification_sent", "notification_failed"]


def test_a_report_that_overtakes_the_lost_answer_makes_it_sent_at_once(engine, new_uow, fake_clock,
                                                                        make_case_opened):
    _open(new_uow, make_case_opened)
    [row] = _sms(engine)
    calls = []

    def kannel_reports(url):  # Kannel has the SMS and reports before our read times out
        calls.append(handlers.on_kannel_dlr(_report(row, 1), new_uow()))

    assert _pass(engine, new_uow, Provider(_lost(), during=kannel_reports), fake_clock) == {"sent": 1}
    assert calls == [(200, "noted\n")]
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.next_attempt_at, row.ambiguous_retries) == ("delivered", 1, None, None)
    assert (row.ambiguous_at, row.last_error) == (fake_clock.now(), LOST)  # the answer was lost all the same
    fake_clock.advance(hours=1)
    assert _pass(engine, new_uow, Provider(), fake_clock) == {}
    [event] = _events(engine)
    assert event["event_type"] == "notification_sent" and event["payload"]["confirmed_by"] == "delivery_report"


def test_no_report_within_the_wait_sends_it_again_once_and_records_the_ambiguous_retry(
        engine, new_uow, fake_clock, make_case_opened):
    _open(new_uow, make_case_opened)
    assert _pass(engine, new_uow, Provider(_lost()), fake_clock) == {"unknown": 1}
    fake_clock.advance(seconds=WAIT.total_seconds() - 1)
    provider = Provider()
    assert _pass(engine, new_uow, provider, fake_clock) == {}
    fake_clock.advance(seconds=1)
    assert _pass(engine, new_uow, provider, fake_clock) == {"sent": 1}
    assert len(provider.sent) == 1 and "&a=2&" in provider.sent[0]  # the repeat, as attempt 2
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.ambiguous_retries) == ("sent", 2, 1)
    [event] = _events(engine)
    assert event["event_type"] == "notification_sent" and event["payload"]["ambiguous_retries"] == 1
    # the first attempt's report arrives late after all: it still finds the row (same message and token)
    assert handlers.on_kannel_dlr(_report(row, 1, attempt=1), new_uow()) == (200, "delivered\n")
    [row] = _sms(engine)
    assert (row.status, row.dlr_attempt) == ("delivered", 1)
    fake_clock.advance(hours=1)
    assert _pass(engine, new_uow, provider, fake_clock) == {} and len(provider.sent) == 1


def test_a_refused_connection_is_an_ordinary_retry_with_backoff(engine, new_uow, fake_clock, make_case_opened):
    _open(new_uow, make_case_opened)
    refused = TemporaryFailure("Kannel unreachable: ConnectionError: Connection refused", unreachable=True)
    assert _pass(engine, new_uow, Provider(refused), fake_clock) == {"retry": 1}
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.ambiguous_at) == ("queued", 1, None)
    assert row.next_attempt_at - fake_clock.now() < WAIT  # the usual backoff, not the DLR wait
    fake_clock.advance(minutes=1)
    assert _pass(engine, new_uow, Provider(), fake_clock) == {"sent": 1}
    assert _sms(engine)[0].ambiguous_retries is None


def test_only_the_sms_whose_answer_was_lost_is_unknown_the_rest_of_the_pass_retries(
        engine, new_uow, fake_clock, make_case_opened):
    for phone in ("13800138001", "13800138002", "13800138003"):
        _open(new_uow, make_case_opened, phone=phone)
    provider = Provider(_lost())
    assert _pass(engine, new_uow, provider, fake_clock) == {"unknown": 1, "retry": 2}
    [tried] = provider.tried  # Kannel is not answering: the others were not sent
    rows = _sms(engine)
    [lost] = [r for r in rows if r.status == UNKNOWN]
    assert f"m={lost.id}&" in tried and lost.last_error == LOST
    waiting = [r for r in rows if r.id != lost.id]
    assert {(r.status, r.attempts) for r in waiting} == {("queued", 1)}
    assert all(r.last_error.startswith("not sent: Kannel did not answer the SMS before it") for r in waiting)


def test_an_unknown_sms_whose_repeat_is_refused_stays_unknown_and_a_late_report_still_confirms_it(
        engine, new_uow, fake_clock, make_case_opened):
    _open(new_uow, make_case_opened)
    _pass(engine, new_uow, Provider(_lost()), fake_clock)
    fake_clock.advance(minutes=10)
    refused = TemporaryFailure("Kannel unreachable: ConnectionError: Connection refused", unreachable=True)
    assert _pass(engine, new_uow, Provider(refused), fake_clock) == {"retry": 1}
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.ambiguous_retries) == (UNKNOWN, 2, None)  # nothing went out this time
    assert handlers.on_kannel_dlr(_report(row, 8, attempt=1), new_uow()) == (200, "sent\n")
    fake_clock.advance(hours=1)
    assert _pass(engine, new_uow, Provider(), fake_clock) == {}
    assert _sms(engine)[0].status == "sent"


def test_lost_answers_until_the_attempts_are_used_up_fail_the_sms_without_another_send(
        engine, new_uow, fake_clock, make_case_opened):
    _open(new_uow, make_case_opened)
    assert _pass(engine, new_uow, Provider(_lost()), fake_clock, max_attempts=2) == {"unknown": 1}
    fake_clock.advance(minutes=10)
    assert _pass(engine, new_uow, Provider(_lost()), fake_clock, max_attempts=2) == {"unknown": 1}
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.ambiguous_retries) == (UNKNOWN, 2, 1)  # the repeat reached Kannel
    provider = Provider()
    fake_clock.advance(minutes=10)
    assert _pass(engine, new_uow, provider, fake_clock, max_attempts=2) == {"failed": 1}
    assert provider.tried == []
    [row] = _sms(engine)
    assert (row.status, row.attempts) == ("failed", 2)
    assert row.last_error == lost_answers.GAVE_UP.format(attempts=2)
    [event] = _events(engine)
    assert event["event_type"] == "notification_failed" and event["payload"]["attempts"] == 2


def test_a_report_for_another_tenant_or_with_a_wrong_token_does_not_confirm_an_unknown_sms(
        engine, new_uow, fake_clock, make_case_opened):
    _open(new_uow, make_case_opened)
    _pass(engine, new_uow, Provider(_lost()), fake_clock)
    [row] = _sms(engine)
    assert handlers.on_kannel_dlr(_report(row, 8, k="0" * 32), new_uow())[0] == 403
    assert handlers.on_kannel_dlr(_report(row, 8, t=str(uuid.uuid4())), new_uow())[0] == 403
    assert handlers.on_kannel_dlr(_report(row, 8, a="x"), new_uow())[0] == 400
    assert _sms(engine)[0].status == UNKNOWN and _events(engine) == []


def test_an_opt_out_skips_an_unknown_update_sms_so_it_is_not_sent_again(engine, new_uow, fake_clock,
                                                                         make_case_opened):
    tenant = str(uuid.uuid4())
    env = _open(new_uow, make_case_opened, tenant)
    owner_updates.remember_contacts(env, new_uow())
    _pass(engine, new_uow, Provider(), fake_clock)  # the acknowledgement goes
    owner_updates.on_case_event(Envelope(event_type="case_progress_recorded", tenant_id=tenant, payload={
        "complaint_id": env.payload["complaint_id"], "reference": env.payload["reference"], "note": "明早维修"}),
        new_uow(), POLICY)
    assert _pass(engine, new_uow, Provider(_lost()), fake_clock) == {"unknown": 1}
    assert opt_outs.on_kannel_mo({"from": "+8613800138000", "text": "TD"}, new_uow()) == (200, "")
    progress = [r for r in _sms(engine) if r.kind == "owner_progress"][0]
    assert progress.status == "skipped"
    fake_clock.advance(hours=1)
    assert _pass(engine, new_uow, Provider(), fake_clock) == {}


def test_the_repository_never_moves_a_row_read_as_unknown_once_a_report_confirmed_it(engine, new_uow, fake_clock,
                                                                                      make_case_opened):
    """SQLite: the loop reads a due unknown row, a late report confirms it, then the repeat's mark finds it moved."""
    _open(new_uow, make_case_opened)
    _pass(engine, new_uow, Provider(_lost()), fake_clock)
    [stale] = _sms(engine)
    assert handlers.on_kannel_dlr(_report(stale, 8), new_uow()) == (200, "sent\n")
    with engine.begin() as conn:
        assert not repository.mark_sent(conn, stale, fake_clock.now())
        assert not repository.mark_unknown(conn, stale, 2, fake_clock.now() + WAIT, LOST, fake_clock.now())
        assert not repository.mark_retry(conn, stale, 2, fake_clock.now(), "x", fake_clock.now())
    assert (_sms(engine)[0].status, _sms(engine)[0].attempts) == ("sent", 1)


def test_a_report_that_confirms_the_row_while_its_repeat_is_out_still_leaves_the_repeat_on_it(
        engine, new_uow, fake_clock, make_case_opened):
    """SQLite holds no lock during the send: Kannel reports on the repeat (attempt 2) before the loop marks it."""
    _open(new_uow, make_case_opened)
    _pass(engine, new_uow, Provider(_lost()), fake_clock)
    [row] = _sms(engine)
    calls = []

    def kannel_reports(url):
        assert "&a=2&" in url
        calls.append(handlers.on_kannel_dlr(_report(row, 8, attempt=2), new_uow()))

    fake_clock.advance(minutes=10)
    assert _pass(engine, new_uow, Provider(during=kannel_reports), fake_clock) == {"sent": 1}
    assert calls == [(200, "sent\n")]  # the report confirmed the unknown row first
    [row] = _sms(engine)
    assert (row.status, row.attempts, row.ambiguous_retries, row.dlr_attempt) == ("sent", 2, 1, 2)
    assert [e["event_type"] for e in _events(engine)] == ["notification_sent"]  # once
