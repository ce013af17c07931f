"""Policy files: the issue's format, the presets, layering, and problems reported with their lines."""
import datetime as dt
import json

import pytest

from workflow import presets
from workflow.domain.sla import PolicyInvalid, build, compute, parse, parse_limit, render

ISSUE_EXAMPLE = """\
timezone: Asia/Shanghai
calendar: cn                  # mainland statutory calendar incl. make-up working days
business_hours: [{start: "08:30", end: "12:00"}, {start: "13:30", end: "17:30"}]
closures: ["2026-12-31"]      # extra non-working dates for this site
extra_working_days: []        # extra working dates for this site
default_severity: moderate
severities:
  moderate:
    stages:
      - {name: first_contact, limit: "1h"}
      - {name: plan, limit: "24h"}
      - {name: resolution, limit: "5wd"}
"""


def problems(text, partial=False):
    with pytest.raises(PolicyInvalid) as info:
        parse(text, partial=partial)
    return info.value.problems


def test_the_issue_example_parses_and_computes():
    doc = parse(ISSUE_EXAMPLE)
    stages = compute(build([("group", 1, doc)]), dt.datetime.fromisoformat("2026-11-24T10:00+08:00"), "moderate")
    assert [s.stage for s in stages] == ["first_contact", "plan", "resolution"]


@pytest.mark.parametrize("text, ok", [("15m", True), ("2h", True), ("4bh", True), ("3wd", True), ("7d", True),
                                      ("-1h", False), ("0h", False), ("1.5h", False), ("2 hours", False),
                                      ("h", False), ("3w", False), ("", False), ("99999d", False)])
def test_limit_grammar(text, ok):
    if ok:
        assert str(parse_limit(text)) == text
    else:
        with pytest.raises(ValueError):
            parse_limit(text)
    with pytest.raises(ValueError, match="negative"):
        parse_limit("-2h")


@pytest.mark.parametrize("old, new, line, words", [
    ("limit: \"24h\"", "limit: \"-24h\"", 11, "negative"),
    ("limit: \"24h\"", "limit: \"24 hours\"", 11, "malformed"),
    ("default_severity: moderate", "default_severity: urgent", 6, "unknown severity 'urgent'"),
    ("calendar: cn ", "calendar: hk ", 2, "unknown calendar 'hk'"),
    ("timezone: Asia/Shanghai", "timezone: Mars/Olympus", 1, "unknown time zone"),
    ("{start: \"13:30\", end: \"17:30\"}", "{start: \"11:30\", end: \"17:30\"}", 3, "overlap"),
    ("{start: \"08:30\", end: \"12:00\"}", "{start: \"12:00\", end: \"08:30\"}", 3, "not after"),
    ("closures: [\"2026-12-31\"]", "closures: [\"2026-13-31\"]", 4, "not a date"),
    ("{name: plan, limit: \"24h\"}", "{name: plan, limit: \"24h\", after: triage}", 11, "after: unknown stage 'triage'"),
    ("{name: plan, limit: \"24h\"}", "{name: first_contact, limit: \"24h\"}", 11, "defined twice"),
    ("{name: plan, limit: \"24h\"}", "{name: plan, limt: \"24h\"}", 11, "unknown key 'limt'"),
])
def test_problems_name_the_line(old, new, line, words):
    assert old in ISSUE_EXAMPLE
    found = problems(ISSUE_EXAMPLE.replace(old, new))
    assert any(p["line"] == line and words in p["problem"] for p in found), found


def test_json_policies_get_line_numbers_too():
    doc = json.loads(json.dumps(parse(ISSUE_EXAMPLE)))
    doc["severities"]["moderate"]["stages"][2]["limit"] = "5 working days"
    text = json.dumps(doc, indent=2)
    [problem] = problems(text)
    assert problem["path"] == "severities.moderate.stages[2].limit"
    assert text.splitlines()[problem["line"] - 1].strip().startswith('"limit": "5 working days"')


def test_every_problem_is_reported_and_the_message_names_lines():
    text = ISSUE_EXAMPLE.replace('"1h"', '"-1h"').replace("calendar: cn ", "calendar: xx ")
    with pytest.raises(PolicyInvalid) as info:
        parse(text)
    assert [p["line"] for p in info.value.problems] == [2, 10]
    assert "line 10: severities.moderate.stages[0].limit: negative limit" in str(info.value)


def test_syntax_errors_and_duplicate_keys_name_the_line():
    [problem] = problems(ISSUE_EXAMPLE.replace("  moderate:\n", "  moderate: [\n", 1))
    assert problem["line"] is not None and "not valid YAML" in problem["problem"]
    [problem] = problems(ISSUE_EXAMPLE + "calendar: none\n")
    assert problem["line"] == 13 and "duplicate key" in problem["problem"]


def test_missing_keys_in_a_complete_policy_but_not_in_an_override():
    assert {p["problem"] for p in problems("severities: {}\n")} >= {"missing 'timezone'", "missing 'calendar'"}
    parse("severities: {moderate: {stages: [{name: first_contact, limit: 30m}]}}\n", partial=True)


def test_times_of_day_are_not_read_as_base_60_numbers():
    doc = parse(ISSUE_EXAMPLE.replace('"13:30"', "13:30").replace('"17:30"', "17:30"))
    assert doc["business_hours"][1] == {"start": "13:30", "end": "17:30"}


def test_overrides_replace_stages_by_name_and_say_whose_limit_applies():
    group = presets.load("seed002")
    office = parse({"severities": {"moderate": {"stages": [{"name": "first_contact", "limit": "30m"}]}}}, partial=True)
    policy = build([("group", 3, group), ("region:EAST", 1, {}), ("estate:DEMO-OFFICE", 2, office)])
    assert policy.version_label == "group@v3 + region:EAST@v1 + estate:DEMO-OFFICE@v2"
    stages = {s.name: s for s in policy.stages_for("moderate")}
    assert str(stages["first_contact"].limit) == "30m" and stages["first_contact"].source == "estate:DEMO-OFFICE"
    assert stages["plan"].source == "group" and "committee_forward" not in stages
    assert "committee_forward" in {s.name for s in policy.stages_for("moderate", channel="committee")}
    [first, *_] = compute(policy, dt.datetime.fromisoformat("2026-11-24T10:00+08:00"), "moderate")
    text = render(first.explanation)
    assert "项目自定时限" in text and "30 分钟" in text and "estate:DEMO-OFFICE@v2" in text


def test_an_override_may_not_invent_a_severity_or_point_after_to_nothing():
    group = presets.load("seed002")
    with pytest.raises(PolicyInvalid, match="unknown severity 'urgent'"):
        build([("group", 1, group), ("estate:X", 1, {"severities": {"urgent": {"stages": []}}})])
    bad = {"severities": {"minor": {"stages": [{"name": "x", "limit": "1h", "after": "nowhere"}]}}}
    with pytest.raises(PolicyInvalid, match="after: unknown stage 'nowhere'"):
        build([("group", 1, group), ("estate:X", 1, parse(bad, partial=True))])


def test_category_overrides_apply_only_to_their_category():
    doc = parse(ISSUE_EXAMPLE.replace("      - {name: resolution, limit: \"5wd\"}\n",
                                      "      - {name: resolution, limit: \"5wd\"}\n    categories:\n"
                                      "      facilities: {stages: [{name: resolution, limit: \"2wd\"}]}\n"))
    policy = build([("group", 1, doc)])
    received = dt.datetime.fromisoformat("2026-11-24T10:00+08:00")
    plain = {d.stage: d for d in compute(policy, received, "moderate")}
    lift = {d.stage: d for d in compute(policy, received, "moderate", category="facilities")}
    assert plain["resolution"].due_at < dt.datetime.fromisoformat("2026-12-02T00:00+08:00") < plain["resolution"].due_at + dt.timedelta(days=7)
    assert lift["resolution"].due_at.isoformat() == "2026-11-26T09:30:00+00:00"
    assert lift["resolution"].explanation["policy"]["category"] == "facilities"
    assert "类别「facilities」专项时限" in render(lift["resolution"].explanation)


SEED002 = {  # seed 002 §3.2 and §5.2, counted from receipt
    "minor": {"first_contact": "24h", "start": "1h", "resolution": "3wd"},
    "moderate": {"first_contact": "1h", "assignment": "2h", "department_plan": "2h", "progress_check": "12h",
                 "plan": "24h", "resolution": "5wd"},
    "major": {"first_contact": "15m", "special_team": "2h", "plan_told": "1wd", "resolution": "10wd"},
}


@pytest.mark.parametrize("name, default, limits", [
    ("seed002", "moderate", SEED002),
    ("seed001", "general", {"general": {"first_contact": "1h", "resolution": "2d"},
                            "important": {"first_contact": "3h", "resolution": "3d"},
                            "major": {"first_contact": "24h", "resolution": "7d"}}),
    ("seed000", "routine", None),
])
def test_presets(name, default, limits):
    policy = build([("group", 1, presets.load(name))])
    assert policy.default_severity == default
    if limits:
        assert {sev: {s.name: str(s.limit) for s in policy.stages_for(sev)} for sev in limits} == limits
    received = dt.datetime.fromisoformat("2026-11-24T10:00+08:00")
    for sev in policy.severities:
        assert compute(policy, received, sev)


def test_seed002_committee_forward_and_repeating_progress_check():
    policy = build([("group", 1, presets.load("seed002"))])
    stages = {s.name: s for s in policy.stages_for("moderate", channel="committee")}
    assert str(stages["committee_forward"].limit) == "2h"
    assert stages["progress_check"].repeat and stages["progress_check"].after == "assignment"


def test_handover_preset_adds_seed004_stages():
    policy = build([("group", 1, presets.load("seed002")), ("estate:DEMO-NEW", 1, presets.load("seed004_handover"))])
    stages = {s.name: str(s.limit) for s in policy.stages_for("moderate")}
    assert stages["simple_fix"] == "24h" and stages["site_investigation"] == "48h"
    assert stages["owner_acceptance"] == "3wd" and stages["first_contact"] == "1h"


@pytest.mark.parametrize("entry, words", [
    ('{date: "2026-13-31", reason: 停电}', "not a date (YYYY-MM-DD): '2026-13-31'"),
    ('{day: "2026-12-31"}', "unknown key 'day'"),
    ('{date: "2026-12-31", reason: [x]}', "reason must be text"),
])
def test_closures_with_a_reason_are_checked_by_line(entry, words):
    found = problems(ISSUE_EXAMPLE.replace('closures: ["2026-12-31"]', f"closures: [{entry}]"))
    assert any(p["line"] == 4 and words in p["problem"] for p in found), found


def test_a_closure_with_a_reason_parses():
    doc = parse(ISSUE_EXAMPLE.replace('closures: ["2026-12-31"]', 'closures: [{date: "2026-12-31", reason: 年终盘点}]'))
    assert build([("group", 1, doc)]).calendar.closures == frozenset({dt.date(2026, 12, 31)})
