"""Duplicates and repeats on a real database (SQLite, or Postgres via TEST_DATABASE_URL)."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import duplicates, handlers
from intake.seed import seed_demo
from intake.tables import complaint_notes, complaints, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
TEXT = "5栋2单元电梯今天早上又停了，住在高层的老人下不了楼，请马上派人维修"


class MovingClock:
    def __init__(self):
        self.at = dt.datetime(2026, 12, 1, 2, 0, tzinfo=dt.timezone.utc)

    def now(self):
        return self.at

    def advance(self, **delta):
        self.at += dt.timedelta(**delta)


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def moving():
    return MovingClock()


@pytest.fixture
def register(engine, moving):
    def call(data, tenant=TENANT, scope=None):
        return duplicates.register_once(handlers.register_complaint, data, tenant, "agent-1",
                                        UnitOfWork(engine, reliability, moving), scope=scope)
    return call


def body(text=TEXT, phone=None, **over):
    return {"estate": "DEMO-RES", "channel": "web", "description": text,
            "complainant": {"name": "周女士", "phone": phone or f"139{uuid.uuid4().int % 10**8:08d}",
                            "unit": "5栋2单元1801"}} | over


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def events(engine, event_type):
    with engine.connect() as conn:
        rows = conn.execute(select(reliability.outbox.c.body)).scalars()
        return [b for b in rows if b["event_type"] == event_type]


def test_the_same_channel_message_id_twice_is_one_complaint(engine, register, moving):
    first = register(body(external_id="wx-msg-1", channel="wechat"))
    moving.advance(minutes=1)
    again = register(body(text="完全不同的文字也一样", external_id="wx-msg-1", channel="wechat"))
    assert first["duplicate"] is False and again["duplicate"] is True and again["merged_into"] is None
    assert again["id"] == first["id"] and again["external_id"] == "wx-msg-1"
    assert count(engine, complaints) == 1 and len(events(engine, "complaint_received")) == 1
    assert events(engine, "complaint_updated") == []  # nothing new to tell
    # another channel, another tenant: another message
    assert register(body(text="别的渠道", external_id="wx-msg-1", channel="email"))["duplicate"] is False
    other = register(body(external_id="wx-msg-1", channel="wechat", estate="OTHER-RES"), tenant=OTHER_TENANT["id"])
    assert other["duplicate"] is False and other["id"] != first["id"]


def test_a_near_identical_complaint_from_the_same_owner_is_merged(engine, register, moving):
    first = register(body(phone="13912345678"))
    moving.advance(hours=3)
    merged = register(body("你好，" + TEXT + "！急！", phone="13912345678", channel="hotline"))
    assert merged["duplicate"] is True and merged["merged_into"] == first["id"] and merged["id"] == first["id"]
    assert count(engine, complaints) == 1
    note = [e for e in merged["timeline"] if e["kind"] == "duplicate_merged"]
    assert len(note) == 1 and note[0]["text"].startswith("你好，") and note[0]["actor"] == "agent-1"
    with engine.connect() as conn:
        data = conn.execute(select(complaint_notes.c.data)).scalar_one()
    assert data["channel"] == "hotline" and data["complainant"]["phone"] == "13912345678"  # nothing lost
    [updated] = events(engine, "complaint_updated")
    assert updated["payload"]["kind"] == "duplicate_merged" and updated["payload"]["complaint_id"] == first["id"]


@pytest.mark.parametrize("change", [
    dict(text="楼下商铺的油烟太大了，窗户都不敢开，请物业协调一下"),  # another issue
    dict(phone="13700000000"),                                      # another owner
    dict(estate="DEMO-OFFICE"),                                     # another estate
    dict(hours=25),                                                 # after the window
])
def test_no_merge_without_same_owner_estate_text_and_window(engine, register, moving, change):
    register(body(phone="13912345678"))
    moving.advance(hours=change.pop("hours", 1))
    over = {"phone": change.pop("phone", "13912345678"), **change}
    second = register(body(over.pop("text", TEXT), **over))
    assert second["duplicate"] is False and count(engine, complaints) == 2


def test_broken_input_is_refused_with_the_usual_error_not_matched(register):
    with pytest.raises(ValidationFailed) as err:
        register(body(external_id="x" * 200))
    assert err.value.details["field"] == "external_id"


def test_a_message_id_of_an_estate_outside_the_callers_scope_is_refused(register):
    register(body(external_id="m-9", estate="DEMO-OFFICE"))
    with pytest.raises(ValidationFailed) as err:
        register(body(external_id="m-9"), scope=frozenset({"DEMO-RES"}))
    assert err.value.details["field"] == "external_id"


def test_twins_racing_with_one_message_id_give_one_complaint(engine, register, monkeypatch):
    first = register(body(external_id="race-1"))
    real = duplicates.existing
    calls = []

    def late_check(*args, **kwargs):  # the twin's check ran before the first committed
        calls.append(1)
        return None if len(calls) == 1 else real(*args, **kwargs)

    monkeypatch.setattr(duplicates, "existing", late_check)
    twin = register(body(external_id="race-1"))
    assert twin["duplicate"] is True and twin["id"] == first["id"] and count(engine, complaints) == 1


def close(engine, moving, complaint_id, event_type="case_closed", status="closed"):
    env = Envelope(event_type, TENANT, {"case_id": complaint_id, "complaint_id": complaint_id, "status": status,
                                        "at": moving.now().isoformat()})
    return duplicates.on_case_closed(env, UnitOfWork(engine, reliability, moving)) if event_type != "case_reopened" \
        else duplicates.on_case_reopened(env, UnitOfWork(engine, reliability, moving))


def closed_at(engine, complaint_id):
    with engine.connect() as conn:
        return conn.execute(select(complaints.c.closed_at).where(complaints.c.id == complaint_id)).scalar_one()


def test_a_new_complaint_on_a_closed_issue_is_a_repeat(engine, register, moving):
    first = register(body(phone="13912345678", category="facilities_equipment"))
    moving.advance(days=2)
    assert close(engine, moving, first["id"]) is True
    moving.advance(days=10)
    again = register(body("5栋电梯又坏了，上次修完才十天，老人还是下不了楼", phone="13912345678",
                          category="facilities_equipment"))
    assert again["duplicate"] is False and again["id"] != first["id"]
    assert again["repeat_of"]["complaint_id"] == first["id"] and again["repeat_of"]["repeat_count"] == 1
    payload = events(engine, "complaint_received")[-1]["payload"]
    assert payload["repeat_of"]["reference"] == first["reference"]
    shown = handlers.get_complaint(again["id"], TENANT, engine)
    assert shown["repeat_of"]["reference"] == first["reference"]
    assert any(e["kind"] == "repeat_linked" and first["reference"] in e["text"] for e in shown["timeline"])
    # and a third time: the chain counts
    moving.advance(days=1)
    close(engine, moving, again["id"], "owner_accepted")
    moving.advance(days=1)
    third = register(body("5栋2单元电梯第三次停运了", phone="13912345678", category="facilities_equipment"))
    assert third["repeat_of"]["complaint_id"] == again["id"] and third["repeat_of"]["repeat_count"] == 2


def test_no_repeat_when_open_other_category_or_long_ago(engine, register, moving):
    first = register(body(phone="13912345678", category="facilities_equipment"))
    moving.advance(days=2)
    assert register(body("5栋电梯又坏了，老人下不了楼", phone="13912345678"))["repeat_of"] is None  # still open
    close(engine, moving, first["id"])
    moving.advance(days=1)
    assert register(body("5栋电梯又坏了，老人下不了楼", phone="13912345678",
                         category="sanitation"))["repeat_of"] is None
    moving.advance(days=91)
    assert register(body("5栋电梯又坏了，老人下不了楼", phone="13912345678",
                         category="facilities_equipment"))["repeat_of"] is None


def test_closure_follows_workflow_and_is_idempotent(engine, register, moving):
    first = register(body())
    env = Envelope("case_closed", TENANT, {"complaint_id": first["id"], "status": "closed",
                                           "at": moving.now().isoformat()})
    assert duplicates.on_case_closed(env, UnitOfWork(engine, reliability, moving)) is True
    assert duplicates.on_case_closed(env, UnitOfWork(engine, reliability, moving)) is False  # redelivered
    assert closed_at(engine, first["id"]) == moving.now()
    moving.advance(hours=1)
    close(engine, moving, first["id"], "case_reopened", status="in_progress")
    assert closed_at(engine, first["id"]) is None
    other = Envelope("owner_accepted", str(uuid.uuid4()), {"complaint_id": first["id"], "status": "closed",
                                                           "at": moving.now().isoformat()})
    duplicates.on_case_closed(other, UnitOfWork(engine, reliability, moving))  # another tenant's event
    assert closed_at(engine, first["id"]) is None
