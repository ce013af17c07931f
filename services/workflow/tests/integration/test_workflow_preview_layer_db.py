"""The settings page's live preview: ``preview_sla(..., scope=...)`` merges an override being edited with the
layers in force, so a partial estate document previews like the saved policy will compute."""
import pytest

from estatedesk_common.errors import ValidationFailed

from workflow import handlers
from workflow.seed import seed_demo

from estatedesk_common.demo import DEMO_TENANT

pytestmark = pytest.mark.integration
TENANT = DEMO_TENANT["id"]
RES = {"code": "DEMO-RES", "region": "EAST"}
AT = "2026-11-24T10:00:00+08:00"


def _stages(result):
    return {s["name"]: s["due_at"] for s in result["stages"]}


def test_an_override_of_first_contact_moves_only_that_stage(workflow_engine):
    seed_demo(workflow_engine)
    in_force = _stages(handlers.preview_sla(TENANT, workflow_engine, None, AT, "moderate", estate=RES))
    edited = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: \"30m\"}\n"
    result = handlers.preview_sla(TENANT, workflow_engine, edited, AT, "moderate", estate=RES,
                                  scope="estate:DEMO-RES")
    previewed = _stages(result)
    assert previewed["first_contact"] == "2026-11-24T10:30:00+08:00" != in_force["first_contact"]
    assert {k: v for k, v in previewed.items() if k != "first_contact"} == {
        k: v for k, v in in_force.items() if k != "first_contact"}
    assert "estate:DEMO-RES" in result["policy_version"]


def test_a_broken_override_names_its_line(workflow_engine):
    seed_demo(workflow_engine)
    broken = "severities:\n  moderate:\n    stages:\n      - {name: first_contact, limit: \"soon\"}\n"
    with pytest.raises(ValidationFailed) as info:
        handlers.preview_sla(TENANT, workflow_engine, broken, AT, "moderate", estate=RES, scope="estate:DEMO-RES")
    assert info.value.code == "policy_invalid"
    assert any(p["line"] == 4 for p in info.value.details["problems"])
    with pytest.raises(ValidationFailed):
        handlers.preview_sla(TENANT, workflow_engine, "severities: {}\n", AT, "moderate", estate=RES,
                             scope="nowhere")
