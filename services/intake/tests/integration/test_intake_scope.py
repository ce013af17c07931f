"""A site role reaches only its estates: listing filters, registering or reclassifying elsewhere is 404."""
import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.errors import NotFound
from estatedesk_common.unit_of_work import UnitOfWork

from intake import classification, handlers
from estatedesk_common.tenant import estates_from_roles
from intake.seed import seed_demo
from intake.tables import reliability

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
AGENT = estates_from_roles([["agent", "DEMO-RES"], ["agent", "DEMO-OFFICE"]])


def body(estate):
    return {"estate": estate, "channel": "web", "description": "楼道灯坏了",
            "complainant": {"name": "李", "phone": "13900139000"}}


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


def test_scope_rules(engine, clock):
    cache = classification.default_cache()
    uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    mine = handlers.register_complaint(body("DEMO-RES"), TENANT, "u1", uow(), cache, scope=AGENT)
    other = handlers.register_complaint(body("DEMO-NEW"), TENANT, "u2", uow(), cache)  # unscoped service call
    with pytest.raises(NotFound) as err:
        handlers.register_complaint(body("DEMO-NEW"), TENANT, "u1", uow(), cache, scope=AGENT)
    assert err.value.code == "estate_not_found"

    listed = handlers.list_complaints(TENANT, "u1", engine, scope=AGENT)
    assert [i["id"] for i in listed["items"]] == [mine["id"]] and listed["total"] == 1
    assert handlers.list_complaints(TENANT, "u1", engine, scope=frozenset())["items"] == []
    assert handlers.list_complaints(TENANT, "u1", engine)["total"] == 2  # group role / service call

    with pytest.raises(NotFound):
        classification.correct_classification(other["id"], "greening", None, TENANT, "u1", uow(), cache, scope=AGENT)
    assert classification.correct_classification(mine["id"], "greening", None, TENANT, "u1", uow(), cache,
                                                 scope=AGENT)
