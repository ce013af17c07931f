"""intake handlers on a real database (SQLite, or Postgres via TEST_DATABASE_URL): atomicity and tenant isolation."""
import uuid

import pytest
from sqlalchemy import func, select

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import NotFound, ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import handlers
from intake.seed import seed_demo
from intake.tables import complaints, reliability

pytestmark = pytest.mark.integration

TENANT = DEMO_TENANT["id"]
OTHER_TENANT = str(uuid.uuid4())
GOOD = {"estate": "DEMO-RES", "channel": "web", "description": "楼道灯坏了",
        "complainant": {"name": "李女士", "phone": "13900139000", "email": "li@example.com", "unit": "2栋201"}}


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def uow(clock):
    return lambda engine: UnitOfWork(engine, reliability, clock)


def count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_register_stores_the_complaint_and_its_event_together(engine, uow):
    result = handlers.register_complaint(GOOD, TENANT, "user-1", uow(engine))
    assert result["status"] == "received" and result["reference"].startswith("TS")
    assert result["estate"]["name"] == "锦绣花园"
    assert count(engine, complaints) == 1 and count(engine, reliability.outbox) == 1
    with engine.connect() as conn:
        body = conn.execute(select(reliability.outbox.c.body)).scalar_one()
    assert body["event_type"] == "complaint_received" and body["payload"]["complaint_id"] == result["id"]
    assert body["payload"]["estate"]["units"] == 8  # DEMO-RES's registered units (2 buildings x 4)
    again = handlers.get_complaint(result["id"], TENANT, engine)
    assert again["reference"] == result["reference"] and again["timeline"][0]["kind"] == "complaint_received"


@pytest.mark.parametrize("data, error, field", [
    (dict(GOOD, estate="NOPE"), NotFound, "estate"),
    (dict(GOOD, description=""), ValidationFailed, "description"),
    ({k: v for k, v in GOOD.items() if k != "estate"}, ValidationFailed, "estate"),
    (dict(GOOD, complainant={"name": "x"}), ValidationFailed, "complainant.phone"),
])
def test_bad_input_writes_nothing(engine, uow, data, error, field):
    with pytest.raises(error) as err:
        handlers.register_complaint(data, TENANT, None, uow(engine))
    assert err.value.details["field"] == field
    assert count(engine, complaints) == 0 and count(engine, reliability.outbox) == 0


def test_another_tenants_estates_and_complaints_are_invisible(engine, uow):
    mine = handlers.register_complaint(GOOD, TENANT, None, uow(engine))
    with pytest.raises(NotFound) as err:
        handlers.register_complaint(GOOD, OTHER_TENANT, None, uow(engine))
    assert err.value.code == "estate_not_found"
    with pytest.raises(NotFound):
        handlers.get_complaint(mine["id"], OTHER_TENANT, engine)
    assert handlers.list_estates(OTHER_TENANT, engine) == []
    assert [e["code"] for e in handlers.list_estates(TENANT, engine)] == ["DEMO-NEW", "DEMO-OFFICE", "DEMO-RES"]


def test_malformed_id_is_not_found(engine):
    with pytest.raises(NotFound):
        handlers.get_complaint("../../etc", TENANT, engine)
