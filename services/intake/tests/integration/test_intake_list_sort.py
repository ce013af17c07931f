"""intake's complaint list sorted in the query (SQLite, and PostgreSQL with TEST_DATABASE_URL): each key both
ways, ties by newest received then id, pages cut after sorting, unknown keys refused with the field."""
import pytest
from sqlalchemy import update

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.sorting import InvalidSort

from intake import handlers
from intake.tables import complaints

from test_intake_list import engine, register  # noqa: F401 (fixtures)

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]


@pytest.fixture
def listed(engine, register):  # noqa: F811
    """a..d registered a minute apart: a RES minor, b OFFICE major, c RES moderate (open), d OFFICE major."""
    names = {}
    for key, estate, severity in [("a", "DEMO-RES", "minor"), ("b", "DEMO-OFFICE", "major"),
                                  ("c", "DEMO-RES", "moderate"), ("d", "DEMO-OFFICE", "major")]:
        created = register(estate=estate)
        names[created["id"]] = key
        with engine.begin() as conn:
            conn.execute(update(complaints).where(complaints.c.id == created["id"]).values(
                severity=severity, status="open" if key == "c" else "received"))

    def keys(**args):
        return "".join(names[i["id"]] for i in handlers.list_complaints(TENANT, None, engine, **args)["items"])
    return keys


@pytest.mark.parametrize("sort, order, expected", [
    (None, None, "dcba"), ("received_at", "asc", "abcd"), ("received_at", None, "dcba"),
    ("severity", "asc", "acdb"), ("severity", "desc", "dbca"),  # major: d before b (newer)
    ("estate", "asc", "dbca"), ("estate", "desc", "cadb"),  # 环球金融中心 before 锦绣花园
    ("status", "asc", "dba" + "c"), ("status", "desc", "cdba"),  # received before open
])
def test_each_key_both_ways(listed, sort, order, expected):
    assert listed(sort=sort, order=order) == expected


def test_pages_are_cut_after_sorting_and_filters_still_apply(listed):
    assert listed(sort="severity", order="asc", limit=2) + listed(sort="severity", order="asc", limit=2,
                                                                  offset=2) == "acdb"
    assert listed(sort="severity", order="desc", estate="DEMO-RES") == "ca"


@pytest.mark.parametrize("args, field", [({"sort": "due_at"}, "sort"), ({"sort": "complainant_name"}, "sort"),
                                         ({"order": "sideways"}, "order")])
def test_unknown_key_or_order_is_refused(engine, args, field):  # noqa: F811
    with pytest.raises(InvalidSort) as refused:
        handlers.list_complaints(TENANT, None, engine, **args)
    assert (refused.value.status, refused.value.code, refused.value.details["field"]) == (400, "invalid_sort",
                                                                                          field)
