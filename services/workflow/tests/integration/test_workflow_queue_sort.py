"""list_cases sorting on a real database (SQLite, and PostgreSQL with TEST_DATABASE_URL): each key in both
directions, the stable secondary order (newest received, then id), pages cut after sorting, unknown keys refused."""
import datetime as dt

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.sorting import InvalidSort
from estatedesk_common.unit_of_work import UnitOfWork

from workflow import handlers
from workflow.seed import seed_demo
from workflow.tables import case_extensions
from workflow.tables import cases as cases_table
from workflow.tables import reliability

from test_workflow_handlers import received

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
HQ = [["head_office", None]]
NAMES = {"DEMO-RES": "锦绣花园", "DEMO-OFFICE": "环球金融中心"}  # 环 (U+73AF) sorts before 锦 (U+9526)


@pytest.fixture
def opened(workflow_engine, clock):
    """a: RES minor 02:00 (contacted), b: OFFICE major 01:00, c: RES moderate 03:00, d: OFFICE major 04:00,
    e: RES minor 00:30 (resolved: no pending deadline)."""
    seed_demo(workflow_engine)
    ids = {}
    for key, estate, severity, hour in [("a", "DEMO-RES", "minor", "02:00"), ("b", "DEMO-OFFICE", "major", "01:00"),
                                        ("c", "DEMO-RES", "moderate", "03:00"),
                                        ("d", "DEMO-OFFICE", "major", "04:00"), ("e", "DEMO-RES", "minor", "00:30")]:
        env = received(estate=estate)
        env.payload["estate"]["name"] = NAMES[estate]
        env.payload["severity"] = severity
        env.payload["received_at"] = f"2026-11-24T{hour}:00+00:00"
        handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
        ids[key] = env.payload["complaint_id"]
    with workflow_engine.begin() as conn:
        conn.execute(cases_table.update().where(cases_table.c.id == ids["a"]).values(status="contacted"))
        conn.execute(cases_table.update().where(cases_table.c.id == ids["e"]).values(status="resolved"))
    return workflow_engine, {v: k for k, v in ids.items()}


def keys(opened, clock, **args):
    engine, names = opened
    found = handlers.list_cases(TENANT, HQ, "user-1", engine, clock.now(), **args)
    return "".join(names[i["complaint_id"]] for i in found["items"])


@pytest.mark.parametrize("sort, order, expected", [
    ("received_at", "desc", "dcabe"), ("received_at", "asc", "ebacd"),
    ("severity", "asc", "aecdb"),  # minor (a, e newest first), moderate, major (d before b: newer)
    ("severity", "desc", "dbcae"),
    ("estate", "asc", "dbcae"), ("estate", "desc", "cae" + "db"),
    ("status", "asc", "dcbae"),  # open (newest first), contacted, resolved
    ("status", "desc", "eadcb"),
])
def test_each_key_sorts_in_the_query_with_newest_received_as_the_tie_break(opened, clock, sort, order, expected):
    assert keys(opened, clock, sort=sort, order=order) == expected


def test_extension_inbox_sorts_by_the_oldest_pending_request(opened, clock):
    engine, names = opened
    ids = {v: k for k, v in names.items()}
    with engine.begin() as conn:
        for seq, (key, asked) in enumerate([("c", "2026-11-24T05:00"), ("b", "2026-11-24T06:00"),
                                            ("c", "2026-11-24T07:00"), ("d", "2026-11-24T04:30")]):
            at = dt.datetime.fromisoformat(asked + "+00:00")
            conn.execute(case_extensions.insert().values(
                tenant_id=TENANT, case_id=ids[key], seq=seq + 1, stage=f"s{seq}", status="pending", due_at=at,
                new_due_at=at + dt.timedelta(days=2), reason="等待配件", requested_by="agent", requested_rank=0,
                requested_at=at))
    asked = dict(extension_pending=True, sort="extension_requested_at")
    assert keys(opened, clock, order="asc", **asked) == "dcb"  # d 04:30, c 05:00 (its oldest), b 06:00
    assert keys(opened, clock, order="desc", **asked) == "bcd"


def test_due_at_sorts_by_the_next_pending_deadline_and_cases_without_one_stay_last(opened, clock):
    engine, _ = opened
    for order in ("asc", "desc"):
        items = handlers.list_cases(TENANT, HQ, "user-1", engine, clock.now(), sort="due_at", order=order)["items"]
        due = [i["next_deadline"]["due_at"] for i in items if i["next_deadline"]]
        assert len(due) == 4 and due == sorted(due, reverse=order == "desc"), due
        assert items[-1]["next_deadline"] is None and items[-1]["status"] == "resolved"
    # the default is the queue's: soonest deadline first
    assert keys(opened, clock) == keys(opened, clock, sort="due_at", order="asc")
    assert keys(opened, clock, sort="due_at") == keys(opened, clock, sort="due_at", order="asc")


def test_pages_are_cut_after_sorting(opened, clock):
    whole = keys(opened, clock, sort="severity", order="desc")
    pages = [keys(opened, clock, sort="severity", order="desc", limit=2, offset=o) for o in (0, 2, 4)]
    assert "".join(pages) == whole
    assert keys(opened, clock, sort="estate", order="asc", status="active") == "dbca"  # filters still apply


@pytest.mark.parametrize("args, field", [({"sort": "reference"}, "sort"), ({"sort": "received_at; DROP"}, "sort"),
                                         ({"sort": ["severity"]}, "sort"), ({"order": "up"}, "order"),
                                         ({"sort": "severity", "order": "DESC"}, "order")])
def test_unknown_sort_key_or_order_is_refused_with_the_field(opened, clock, args, field):
    engine, _ = opened
    with pytest.raises(InvalidSort) as refused:
        handlers.list_cases(TENANT, HQ, "user-1", engine, clock.now(), **args)
    assert refused.value.status == 400 and refused.value.code == "invalid_sort"
    assert refused.value.details["field"] == field


def test_sort_over_rpc_and_its_refusal(opened, container_factory, rabbit_config, workflow_db):
    from nameko.exceptions import RemoteError
    from nameko.standalone.rpc import ServiceRpcProxy

    from estatedesk_common.testing import service_config
    from workflow.service import WorkflowService

    _, names = opened
    container_factory(WorkflowService, service_config(rabbit_config, workflow_db)).start()
    context = {"tenant_id": TENANT, "user_id": "hq-1", "roles": HQ}
    with ServiceRpcProxy("workflow", rabbit_config, context_data=context, timeout=10) as rpc:
        found = rpc.list_cases(sort="received_at", order="asc")
        assert "".join(names[i["complaint_id"]] for i in found["items"]) == "ebacd"
        with pytest.raises(RemoteError, match="invalid_sort"):
            rpc.list_cases(sort="reference")
