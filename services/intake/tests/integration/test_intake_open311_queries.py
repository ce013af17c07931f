"""Open311 queries on a real database: categories as services, open311 complaints with only their public form."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.demo import DEMO_TENANT, OTHER_TENANT
from estatedesk_common.errors import ValidationFailed
from estatedesk_common.unit_of_work import UnitOfWork

from intake import handlers
from intake.classification import ClassifierCache
from intake.open311_requests import list_categories, list_open311_requests
from intake.seed import seed_demo
from intake.tables import reliability

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


class StepClock:
    def __init__(self):
        self._now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)

    def now(self):
        self._now += dt.timedelta(hours=1)
        return self._now


@pytest.fixture
def engine(intake_engine):
    seed_demo(intake_engine)
    return intake_engine


@pytest.fixture
def register(engine):
    clock = StepClock()

    def register(tenant=TENANT, channel="open311", estate="DEMO-RES", category="sanitation", **form):
        text = f"垃圾未清运 {uuid.uuid4().hex[:8]}"
        data = {"estate": estate, "channel": channel, "category": category, "description": text + "\n位置：1栋",
                "complainant": {"name": "王伟", "phone": "13800138000", "email": "wang@example.com"},
                "open311": {"jurisdiction_id": estate, "service_code": category, "description": text,
                            "address_string": "1栋", "lat": 31.2, "long": 121.4, "phone": "13800138000",
                            "email": "wang@example.com", "first_name": "伟", "device_id": "dev-1", **form}}
        return handlers.register_complaint(data, tenant, None, UnitOfWork(engine, reliability, clock))

    return register


def test_categories_are_the_tenants_with_keywords(engine):
    services = list_categories(TENANT, engine, ClassifierCache(samples=[]))
    assert services[0]["key"] == "facilities_equipment" and services[0]["name"] == "设施设备"
    assert services[0]["keywords"][0] in ("困人", "电梯") and len(services[0]["keywords"]) <= 8
    assert {"key", "name", "name_en", "keywords"} == set(services[1])


def test_only_open311_complaints_with_only_their_public_form(engine, register):
    mine = register()
    register(channel="hotline")
    register(tenant=OTHER_TENANT["id"], estate="OTHER-RES")
    page = list_open311_requests(TENANT, engine)
    assert [i["reference"] for i in page["items"]] == [mine["reference"]] and page["more"] is False
    item = page["items"][0]
    assert item["public"] == {"lat": 31.2, "long": 121.4, "address_string": "1栋",
                              "description": mine["description"].split("\n")[0]}
    assert item["timezone"] == "Asia/Shanghai" and item["estate_name"] == "锦绣花园"
    text = str(page)
    assert "13800138000" not in text and "wang@example.com" not in text and "dev-1" not in text and "王伟" not in text


def test_filters_paging_and_other_tenant(engine, register):
    first, second, third = register(), register(category="greening"), register(estate="DEMO-OFFICE")
    refs = [third["reference"], second["reference"], first["reference"]]
    assert [i["reference"] for i in list_open311_requests(TENANT, engine)["items"]] == refs
    page = list_open311_requests(TENANT, engine, limit=2)
    assert len(page["items"]) == 2 and page["more"] is True
    assert [i["reference"] for i in list_open311_requests(TENANT, engine, limit=2, offset=2)["items"]] == refs[2:]
    assert [i["reference"] for i in list_open311_requests(TENANT, engine, category="greening")["items"]] == refs[1:2]
    assert [i["reference"] for i in list_open311_requests(TENANT, engine, estate="DEMO-OFFICE")["items"]] == refs[:1]
    lower = [first["reference"].lower(), "TS-NOPE"]
    assert [i["reference"] for i in list_open311_requests(TENANT, engine, references=lower)["items"]] == refs[2:]
    assert list_open311_requests(OTHER_TENANT["id"], engine, references=refs)["items"] == []
    window = list_open311_requests(TENANT, engine, received_from=second["received_at"],
                                   received_to=third["received_at"])
    assert [i["reference"] for i in window["items"]] == refs[:2]
    assert list_open311_requests(TENANT, engine, references=[])["items"] == []


@pytest.mark.parametrize("bad", [{"limit": 0}, {"limit": 1001}, {"offset": -1}, {"received_from": "yesterday"},
                                 {"received_to": "2026-11-24T00:00:00"}, {"references": "TS1"}])
def test_bad_arguments_are_refused(engine, bad):
    with pytest.raises(ValidationFailed):
        list_open311_requests(TENANT, engine, **bad)
