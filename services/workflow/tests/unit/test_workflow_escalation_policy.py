"""The escalation ladder and the warning point as policy data: parsing, validation with lines, layering."""
import pytest

from workflow import presets
from workflow.domain.escalation import DEFAULT_LADDER, WARNING_FRACTION, next_rung, rung_at_least
from workflow.domain.sla import PolicyInvalid, build, parse

GROUP = presets.load("seed002")
LADDER_TEXT = """\
warning_at: 0.6
escalation:
  - {role: cs_supervisor, limit: "1h"}
  - {role: site_manager, limit: "3h"}
  - {role: regional_manager, limit: "1d"}
  - {role: head_office}
severities:
  major: {warning_at: 0.5}
"""


def problems(text, partial=True):
    with pytest.raises(PolicyInvalid) as info:
        parse(text, partial=partial)
    return [(p["line"], p["path"], p["problem"]) for p in info.value.problems]


def climb(ladder):
    level, out = 0, []
    while (rung := next_rung(level, ladder)) is not None:
        out.append((rung.role, rung.minutes_to_act))
        level = rung.level
    return out


def test_a_policy_without_the_keys_keeps_todays_ladder_and_warning_point():
    policy = build([("group", 1, GROUP)])
    assert policy.ladder == DEFAULT_LADDER
    assert climb(policy.ladder) == [("cs_supervisor", 120), ("site_manager", 240), ("head_office", None)]
    assert policy.warning_fraction("moderate") == WARNING_FRACTION == 0.75


def test_an_estate_override_replaces_the_ladder_and_a_severity_warns_at_its_own_fraction():
    estate = parse(LADDER_TEXT, partial=True)
    policy = build([("group", 1, GROUP), ("region:EAST", 1, {}), ("estate:DEMO-OFFICE", 2, estate)])
    assert climb(policy.ladder) == [("cs_supervisor", 60), ("site_manager", 180), ("regional_manager", 1440),
                                    ("head_office", None)]
    regional = policy.ladder[2]
    assert (regional.level, regional.alert_role, regional.title_zh, regional.limit) == \
        (3, "head_office", "区域经理", "1d")
    assert policy.warning_fraction("moderate") == 0.6 and policy.warning_fraction("major") == 0.5
    # the major stages came through the override untouched: it only set the warning point
    assert [s.name for s in policy.severities["major"]["stages"]] == \
        [s.name for s in build([("group", 1, GROUP)]).severities["major"]["stages"]]


def test_lower_layers_win_and_the_group_severity_warning_point_survives_a_new_top_level_one():
    group = dict(GROUP, warning_at=0.8, severities=dict(GROUP["severities"],
                                                        major=dict(GROUP["severities"]["major"], warning_at=0.4)))
    region = {"escalation": [{"role": "site_manager", "limit": "2h"}, {"role": "head_office"}]}
    policy = build([("group", 1, parse(group)), ("region:EAST", 1, parse(region, partial=True)),
                    ("estate:X", 1, {"warning_at": 0.9})])
    assert climb(policy.ladder) == [("site_manager", 120), ("head_office", None)]
    assert policy.warning_fraction("moderate") == 0.9 and policy.warning_fraction("major") == 0.4
    assert rung_at_least("cs_supervisor", policy.ladder).role == "site_manager"  # a skipped rung: the next one up
    assert rung_at_least("site_manager", DEFAULT_LADDER).level == 2


@pytest.mark.parametrize("text, line, path, words", [
    ("warning_at: 1.5\n", 1, "warning_at", "between 0 and 1"),
    ("warning_at: true\n", 1, "warning_at", "between 0 and 1"),
    ("severities:\n  major: {warning_at: 0}\n", 2, "severities.major.warning_at", "between 0 and 1"),
    ("escalation: []\n", 1, "escalation", "non-empty list"),
    ("escalation:\n  - {role: cs_supervisor, limit: 2h}\n  - {role: janitor}\n", 3, "escalation[1].role",
     "unknown role 'janitor'"),
    ("escalation:\n  - {role: site_manager, limit: 2h}\n  - {role: cs_supervisor, limit: 1h}\n"
     "  - {role: head_office}\n", 3, "escalation[1].role", "must come above site_manager"),
    ("escalation:\n  - {role: cs_supervisor}\n  - {role: head_office}\n", 2, "escalation[0]", "has no 'limit'"),
    ("escalation:\n  - {role: cs_supervisor, limit: 2h}\n  - {role: head_office, limit: 1h}\n", 3,
     "escalation[1].limit", "top rung has no limit"),
    ("escalation:\n  - {role: cs_supervisor, limit: -2h}\n  - {role: head_office}\n", 2, "escalation[0].limit",
     "negative limit"),
    ("escalation:\n  - {role: cs_supervisor, limit: 4x}\n  - {role: head_office}\n", 2, "escalation[0].limit",
     "malformed limit"),
    ("warning_at: 2q\n", 1, "warning_at", "malformed limit"),
    ("escalation:\n  - {role: cs_supervisor, limit: 2h, after: 1h}\n  - {role: head_office}\n", 2,
     "escalation[0].after", "unknown key 'after'"),
])
def test_bad_ladders_and_fractions_are_rejected_naming_the_line(text, line, path, words):
    found = problems(text)
    assert any(ln == line and p == path and words in msg for ln, p, msg in found), found


def test_a_complete_policy_is_checked_the_same_way():
    text = presets.text("seed002") + "escalation: [{role: head_office, limit: 2h}]\n"
    assert [(p, "top rung" in m) for _l, p, m in problems(text, partial=False)] == [("escalation[0].limit", True)]
