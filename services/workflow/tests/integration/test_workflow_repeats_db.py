"""A repeat complaint (intake's ``repeat_of``) opens its case one severity level up, with the reason on the
timeline (real database: SQLite, or Postgres via TEST_DATABASE_URL)."""
import uuid

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers, presets
from workflow.domain.sla import PolicyInvalid
from workflow.domain.sla import policy as sla_policy
from workflow.seed import seed_demo
from workflow.tables import reliability

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


def received(severity="minor", repeat_of=None, complaint_id=None):
    return Envelope("complaint_received", TENANT, {
        "complaint_id": complaint_id or str(uuid.uuid4()), "reference": f"TS20261124-{uuid.uuid4().hex[:6].upper()}",
        "estate": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": "web", "description": "5栋电梯又坏了", "complainant": {"name": "周", "phone": "13912345678",
                                                                    "email": "", "unit": "5栋1801"},
        "category": "facilities_equipment", "severity": severity, "urgent": False,
        "received_at": "2026-11-24T02:00:00+00:00", "received_by": None, "schema_version": 1,
        "repeat_of": repeat_of})


@pytest.fixture
def engine(workflow_engine):
    seed_demo(workflow_engine)
    return workflow_engine


def open_case(engine, clock, env):
    assert handlers.open_case(env, UnitOfWork(engine, reliability, clock)) is True
    return handlers.get_case(env.payload["complaint_id"], TENANT, engine)


def test_a_repeat_opens_one_level_up_with_the_reason_on_the_timeline(engine, clock):
    first = open_case(engine, clock, received("minor"))
    case = open_case(engine, clock, received("minor", {"complaint_id": first["complaint_id"],
                                                       "reference": first["reference"], "repeat_count": 1}))
    assert case["severity"] == "moderate"
    assert [d["stage"] for d in case["deadlines"]][:2] == ["first_contact", "assignment"]  # moderate's stages
    opened = case["timeline"][0]["text"]
    assert "重复投诉" in opened and first["reference"] in opened and "由「轻微」升为「中度」" in opened


def test_a_repeat_of_a_moderate_case_becomes_major_and_a_third_time_is_major(engine, clock):
    first = open_case(engine, clock, received("moderate"))
    second = open_case(engine, clock, received("minor", {"complaint_id": first["complaint_id"],
                                                         "reference": first["reference"], "repeat_count": 1}))
    assert second["severity"] == "major"
    third = open_case(engine, clock, received("minor", {"complaint_id": str(uuid.uuid4()),
                                                        "reference": "TS20261101-ZZZZZZ", "repeat_count": 2}))
    assert third["severity"] == "major" and "多次投诉" in third["timeline"][0]["text"]


def test_a_complaint_that_is_no_repeat_keeps_its_severity(engine, clock):
    assert open_case(engine, clock, received("minor"))["severity"] == "minor"


def test_severity_order_must_name_every_severity_once():
    document = presets.load("seed002")
    with pytest.raises(PolicyInvalid) as err:
        sla_policy.parse(document | {"severity_order": ["minor", "major"]})
    assert any(p["path"] == "severity_order" for p in err.value.problems)
    assert sla_policy.build([("group", 1, document)]).severity_order == ("minor", "moderate", "major")
