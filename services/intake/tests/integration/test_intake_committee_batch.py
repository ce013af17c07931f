"""Committee batches and forwarded complaints on a real database (SQLite, or Postgres via TEST_DATABASE_URL)."""
import json
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import Conflict, NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import committee, handlers
from intake.seed import seed_demo
from intake.tables import committee_batches, complaints, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
MEMBER = str(uuid.uuid4())


def row(n, **over):
    data = {"estate": "DEMO-RES", "description": f"第{n}行：楼道堆放杂物 {uuid.uuid4().hex[:6]}",
            "complainant": {"name": f"业主{n}", "phone": f"1380000{n:04d}", "unit": "1栋101"},
            "reported_at": "2026-11-24T22:00:00+08:00"} | over
    return {"row": n, "data": data}


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def uow(clock):
    return lambda engine: UnitOfWork(engine, reliability, clock)


def count(engine, table, *where):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def test_a_good_batch_is_stored_in_one_transaction_with_its_events(engine, uow):
    result = committee.register_batch([row(2), row(3), row(4)], TENANT, MEMBER, uow(engine), file_sha256="a" * 64,
                                      filename="六月.xlsx", scope=frozenset({"DEMO-RES"}))
    assert result["count"] == 3 and [i["row"] for i in result["items"]] == [2, 3, 4]
    assert count(engine, complaints, complaints.c.channel == "committee", complaints.c.received_by == MEMBER) == 3
    with engine.connect() as conn:
        events = [json.loads(r.body) if isinstance(r.body, str) else r.body
                  for r in conn.execute(select(reliability.outbox))]
        batch = conn.execute(select(committee_batches)).mappings().one()
    received = [e["payload"] for e in events if e["event_type"] == "complaint_received"]
    assert len(received) == 3
    assert {p["committee_received_at"] for p in received} == {"2026-11-24T14:00:00+00:00"}
    assert batch["rows"] == 3 and batch["filename"] == "六月.xlsx" and sorted(batch["complaint_ids"]) == sorted(
        i["id"] for i in result["items"])
    mine = handlers.list_complaints(TENANT, MEMBER, engine, channel="committee", mine=True)
    assert mine["total"] == 3
    one = handlers.get_complaint(result["items"][0]["id"], TENANT, engine)
    assert one["committee_received_at"] == "2026-11-24T14:00:00+00:00"
    assert "业主于 2026-11-24 22:00 向居委会/业委会反映" in one["timeline"][0]["text"]


def test_one_bad_row_stores_nothing_and_every_problem_is_listed(engine, uow):
    rows = [row(2), row(3, complainant={"name": "无电话"}), row(4, estate="NOPE"),
            row(5, reported_at="2027-01-01T00:00:00+08:00"), row(6, category="no-such"), row(7)]
    rows.append({"row": 8, "data": dict(rows[0]["data"])})  # a copy of row 2
    with pytest.raises(ValidationFailed) as exc:
        committee.register_batch(rows, TENANT, MEMBER, uow(engine))
    details = exc.value.details
    assert details["field"] == "rows" and details["error_count"] == 5
    assert [(r["row"], r["field"]) for r in details["rows"]] == [
        (3, "complainant.phone"), (4, "estate"), (5, "reported_at"), (6, "category"), (8, "description")]
    assert count(engine, complaints) == 0 and count(engine, reliability.outbox) == 0
    assert count(engine, committee_batches) == 0


def test_rows_name_a_building_of_the_directory_or_are_refused_each_with_its_row(engine, uow):
    """DEMO-RES registers 1栋 and 2栋: a building by code (any case, spaces) is stored as the code; every row with
    a building the directory lacks is its own error on location.building, and nothing is stored then."""
    refused = [row(2, location={"building": "1栋", "facility": "电梯"}), row(3, location={"building": "9栋"}),
               row(4, location={"facility": "地下车库"}), row(5, location={"building": "A座", "facility": "大堂"})]
    with pytest.raises(ValidationFailed) as exc:
        committee.register_batch(refused, TENANT, MEMBER, uow(engine), scope=frozenset({"DEMO-RES"}),
                                 validate_only=True)
    assert [(r["row"], r["field"]) for r in exc.value.details["rows"]] == [(3, "location.building"),
                                                                          (5, "location.building")]
    assert "9栋" in exc.value.details["rows"][0]["message"]
    assert count(engine, complaints) == 0

    good = [row(2, location={"building": " 2栋 ", "facility": "电梯"}), row(3, location={"facility": "地下车库"}),
            row(4)]
    result = committee.register_batch(good, TENANT, MEMBER, uow(engine), scope=frozenset({"DEMO-RES"}))
    stored = [handlers.get_complaint(i["id"], TENANT, engine)["location"] for i in result["items"]]
    assert [(s or {}).get("building") for s in stored] == ["2栋", None, None]
    assert [(s or {}).get("facility") for s in stored] == ["电梯", "地下车库", None]


def test_estates_outside_the_members_scope_are_row_errors(engine, uow):
    with pytest.raises(ValidationFailed) as exc:
        committee.register_batch([row(2, estate="DEMO-OFFICE")], TENANT, MEMBER, uow(engine),
                                 scope=frozenset({"DEMO-RES"}))
    assert exc.value.details["rows"] == [{"row": 2, "field": "estate", "message": "no estate 'DEMO-OFFICE'"}]


def test_the_same_file_twice_is_refused(engine, uow):
    committee.register_batch([row(2)], TENANT, MEMBER, uow(engine), file_sha256="b" * 64)
    with pytest.raises(Conflict) as exc:
        committee.register_batch([row(2)], TENANT, MEMBER, uow(engine), file_sha256="b" * 64)
    assert exc.value.code == "batch_already_imported" and count(engine, complaints) == 1


def test_oversized_batches_are_refused_before_reading_rows(engine, uow):
    with pytest.raises(ValidationFailed) as exc:
        committee.register_batch([row(2)] * 501, TENANT, MEMBER, uow(engine))
    assert "at most 500 rows" in exc.value.details["rows"][0]["message"]


def test_head_office_forward_is_kept_and_announced(engine, uow):
    body = {"estate": "DEMO-RES", "channel": "head_office", "description": "集团转来：业主投诉电梯",
            "complainant": {"name": "周女士", "phone": "13912345678"},
            "forwarded_by": {"name": "陈总", "title": "客服总监", "email": "chen@example.com"},
            "instructions": "请三日内处理并回报"}
    created = handlers.register_complaint(body, TENANT, "agent-1", uow(engine))
    assert created["forwarded_by"]["name"] == "陈总" and created["instructions"] == "请三日内处理并回报"
    stored = handlers.get_complaint(created["id"], TENANT, engine)
    assert stored["forwarded_by"] == {"name": "陈总", "title": "客服总监", "phone": "", "email": "chen@example.com"}
    assert "陈总（客服总监）转办，指示：请三日内处理并回报" in stored["timeline"][0]["text"]
    with pytest.raises(NotFound):
        handlers.get_complaint(created["id"], str(uuid.uuid4()), engine)  # another tenant sees nothing


def test_committee_complaints_of_one_member_are_not_anothers(engine, uow):
    committee.register_batch([row(2)], TENANT, MEMBER, uow(engine))
    assert handlers.list_complaints(TENANT, str(uuid.uuid4()), engine, channel="committee", mine=True)["total"] == 0
    assert handlers.list_complaints(str(uuid.uuid4()), MEMBER, engine, channel="committee", mine=True)["total"] == 0
