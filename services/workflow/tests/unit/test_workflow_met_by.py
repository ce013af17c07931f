"""Which actions meet which stage: ``met_by`` in the policy document, its defaults and its validation."""
import pytest

from workflow import presets
from workflow.domain.actions import ACTION_STAGES
from workflow.domain.sla import PolicyInvalid, build, parse
from workflow.domain.sla.meeting import lives_after_resolution, met_by, stages_met

DOCUMENT = """\
timezone: Asia/Shanghai
calendar: cn
business_hours: [{start: "08:30", end: "12:00"}, {start: "13:30", end: "17:30"}]
default_severity: moderate
severities:
  moderate:
    stages:
      - {name: first_contact, limit: "1h"}
      - {name: owner_briefed, limit: "4h", met_by: [progress, plan]}
      - {name: resolution, limit: "5wd"}
      - {name: survey, limit: "2wd", after: resolution}
"""


def stages(document, severity="moderate"):
    return {s.name: s.actions for s in build([("group", 1, parse(document))]).stages_for(severity)}


def test_a_stage_is_met_by_its_met_by_else_by_the_default_for_its_name_else_by_nothing():
    actions = stages(DOCUMENT)
    assert actions == {"first_contact": ("contact",), "owner_briefed": ("progress", "plan"),
                       "resolution": ("resolve",), "survey": ()}
    assert stages_met("progress", actions, ["first_contact", "owner_briefed", "survey"]) == ["owner_briefed"]
    assert stages_met("contact", {}, ["first_contact", "reply", "plan"]) == ["first_contact", "reply"]


@pytest.mark.parametrize("met, line, words", [
    ("[contact_logged]", 9, "met_by: unknown action 'contact_logged' (known: contact, assign"),
    ("[progress, phoned]", 9, "unknown action 'phoned'"),
    ("[]", 9, "met_by must be a non-empty list"),
    ("progress", 9, "met_by must be a non-empty list"),
])
def test_an_unknown_action_is_a_problem_with_its_line(met, line, words):
    with pytest.raises(PolicyInvalid) as info:
        parse(DOCUMENT.replace("met_by: [progress, plan]", f"met_by: {met}"))
    assert any(p["line"] == line and words in p["problem"] and p["path"].startswith(
        "severities.moderate.stages[1].met_by") for p in info.value.problems), info.value.problems


def test_an_override_may_set_met_by_on_a_group_stage():
    group = parse(DOCUMENT)
    override = parse({"severities": {"moderate": {"stages": [{"name": "survey", "limit": "3wd", "after": "resolution",
                                                              "met_by": ["callback"]}]}}}, partial=True)
    policy = build([("group", 1, group), ("estate:E1", 1, override)])
    assert {s.name: s.actions for s in policy.stages_for("moderate")}["survey"] == ("callback",)


def test_the_presets_stages_can_all_be_met():
    for name in ("seed000", "seed001", "seed002"):
        policy = build([("group", 1, presets.load(name))])
        for severity in policy.severities:
            for stage in policy.stages_for(severity, channel="committee"):
                assert stage.actions, (name, severity, stage.name)
    handover = build([("group", 1, presets.load("seed002")), ("estate:N", 1, presets.load("seed004_handover"))])
    assert {s.name: s.actions for s in handover.stages_for("major")}["owner_acceptance"] == ("accept",)


def test_stages_met_by_accept_or_callback_live_after_resolution():
    assert lives_after_resolution(met_by("callback")) and lives_after_resolution(met_by("owner_acceptance"))
    assert not lives_after_resolution(met_by("resolution")) and not lives_after_resolution(met_by("survey"))


def test_the_action_view_of_the_defaults_keeps_the_old_table():
    assert ACTION_STAGES["contact"][:2] == ("first_contact", "committee_forward")
    assert set(ACTION_STAGES["assign"]) == {"assignment", "start", "special_team", "committee_forward"}
    assert "on_site" in ACTION_STAGES["plan"] and "on_site" in ACTION_STAGES["progress"]
    assert ACTION_STAGES["accept"] == ("owner_acceptance",) and ACTION_STAGES["cancel"] == ()
