"""preview_sla and get_sla_policy over RPC on a real broker: results, caller errors as JSON, tenant fails closed."""
import json

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.rpc import ServiceRpcProxy

from estatedesk_common.db import make_engine
from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.testing import service_config

import workflow.seed
from workflow.service import WorkflowService

pytestmark = pytest.mark.integration
CONTEXT = {"tenant_id": DEMO_TENANT["id"], "user_id": "admin-1", "request_id": "req-sla"}


@pytest.fixture
def running(container_factory, rabbit_config, workflow_db):
    engine = make_engine(workflow_db)
    workflow.seed.seed_demo(engine)
    engine.dispose()
    container_factory(WorkflowService, service_config(rabbit_config, workflow_db)).start()
    return rabbit_config


def test_preview_and_policy_over_rpc(running):
    with ServiceRpcProxy("workflow", running, context_data=CONTEXT, timeout=10) as rpc:
        result = rpc.preview_sla(None, "2026-09-30T10:00:00+08:00", "moderate", None,
                                 {"code": "DEMO-RES", "region": "EAST"})
        resolution = next(s for s in result["stages"] if s["name"] == "resolution")
        assert resolution["due_at"] == "2026-10-13T17:30:00+08:00" and "国庆节" in resolution["explanation"]
        assert rpc.get_sla_policy("DEMO-OFFICE")["policy_version"] == "group@v1 + estate:DEMO-OFFICE@v1"
        with pytest.raises(RemoteError) as info:
            rpc.preview_sla("timezone: Asia/Shanghai\nbusiness_hours: 9-5\n", "2026-09-30T10:00:00+08:00", "x")
        error = json.loads(info.value.value)
        assert error["error"] == "policy_invalid" and error["status"] == 422
        assert any(p["line"] == 2 for p in error["details"]["problems"])
    with ServiceRpcProxy("workflow", running, timeout=10) as anonymous:
        with pytest.raises(RemoteError, match="tenant_required"):
            anonymous.preview_sla(None, "2026-09-30T10:00:00+08:00", "moderate")


def test_a_group_picks_a_shipped_preset_by_name(running):
    with ServiceRpcProxy("workflow", running, context_data=CONTEXT, timeout=10) as rpc:
        items = {p["name"]: p for p in rpc.list_sla_presets()["items"]}
        assert [n for n, p in items.items() if p["kind"] == "group"] == ["seed002", "seed001", "seed000"]
        assert items["seed004_handover"]["kind"] == "override"
        assert items["seed001"]["default_severity"] == "general" and "resolution" in items["seed001"]["text"]
        report = rpc.save_sla_policy("group", None, None, False, [{"code": "DEMO-RES", "region": "EAST"}],
                                     preset="seed001")
        assert (report["scope"], report["version"]) == ("group", 2)
        assert rpc.get_sla_policy("DEMO-RES")["document"]["default_severity"] == "general"
        for scope, preset in [("estate:DEMO-RES", "seed002"), ("group", "seed004_handover"), ("group", "seed999")]:
            with pytest.raises(RemoteError) as info:
                rpc.save_sla_policy(scope, None, None, False, [{"code": "DEMO-RES", "region": "EAST"}],
                                    preset=preset)
            error = json.loads(info.value.value)
            assert (error["status"], error["error"], error["details"]["field"]) == (422, "validation_failed", "preset")



def test_the_calendar_years_a_form_may_use(container_factory, rabbit_config, workflow_db):
    """``list_calendar_years``: the package's years plus one an operator loaded; ``none`` counts any year."""
    import datetime as dt

    import yaml

    from workflow import statutory as loader
    from workflow.domain.sla import statutory

    engine = make_engine(workflow_db)
    year = statutory.parse_year(yaml.safe_load(
        "calendar: cn\nyear: 2031\nsource: test\nholidays: [{name: 元旦, from: 2031-01-01, to: 2031-01-01}]\n"))
    with engine.begin() as conn:
        loader.save_year(conn, year, "ops@example", dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    engine.dispose()
    container_factory(WorkflowService, service_config(rabbit_config, workflow_db)).start()
    try:
        with ServiceRpcProxy("workflow", rabbit_config, context_data=CONTEXT, timeout=10) as rpc:
            years = rpc.list_calendar_years()["calendars"]
        assert years["none"] is None and {2004, 2026, 2031} <= set(years["cn"]) and 2030 not in years["cn"]
    finally:
        statutory.REGISTRY.install([])
