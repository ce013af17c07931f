"""Ladder rungs and warning points in the full limit grammar; extension approval rungs as policy data."""
import datetime as dt

import pytest

from workflow import policies, presets
from workflow.domain.escalation import warning_at
from workflow.domain.sla import PolicyInvalid, build, parse
from workflow.domain.sla.approval import required

CST = dt.timezone(dt.timedelta(hours=8))
LADDER = """escalation:
  - {role: cs_supervisor, limit: 4bh}
  - {role: site_manager, limit: 1wd}
  - {role: head_office}
warning_at: "2h"
extensions:
  approval: [{max: "2wd", role: cs_supervisor}, {max: "5wd", role: site_manager}, {role: head_office}]
"""


def policy(override=LADDER):
    return build([("group", 1, parse(presets.text("seed002"))), ("estate:X", 1, parse(override, partial=True))])


def test_rung_limits_count_business_hours_and_working_days_like_stages():
    p = policy()
    friday_evening = dt.datetime(2026, 11, 27, 19, 0, tzinfo=CST)  # after hours: the 4bh start on Monday 08:30
    due, detail = p.ladder[0].acts_by(p.calendar, friday_evening)
    assert due == dt.datetime(2026, 11, 30, 14, 0, tzinfo=CST)  # 08:30-12:00 is 3.5 h, then 13:30-14:00
    assert detail["skipped_days"]  # the weekend
    due, _ = p.ladder[1].acts_by(p.calendar, friday_evening)
    assert due == dt.datetime(2026, 11, 30, 17, 30, tzinfo=CST)  # close of the next working day
    assert p.ladder[2].is_top and p.ladder[2].acts_by(p.calendar, friday_evening) is None


def test_a_warning_point_written_as_a_limit_counts_from_receipt_and_falls_back_when_past_due():
    p = policy()
    received = dt.datetime(2026, 11, 24, 10, 0, tzinfo=CST)
    point = p.warning_fraction("moderate")
    assert str(point) == "2h"
    assert warning_at(received, received + dt.timedelta(days=5), point) == received + dt.timedelta(hours=2)
    one_hour = received + dt.timedelta(hours=1)  # 2h is past a 1h stage: the default three quarters
    assert warning_at(received, one_hour, point) == received + dt.timedelta(minutes=45)


@pytest.mark.parametrize("new_due,role", [
    (dt.datetime(2026, 11, 26, 17, 30, tzinfo=CST), "cs_supervisor"),   # 2 working days after Tue 24th
    (dt.datetime(2026, 11, 26, 17, 31, tzinfo=CST), "site_manager"),
    (dt.datetime(2026, 12, 1, 17, 30, tzinfo=CST), "site_manager"),     # 5 working days (a weekend skipped)
    (dt.datetime(2026, 12, 2, 9, 0, tzinfo=CST), "head_office")])
def test_the_lowest_rung_whose_max_covers_the_extension_from_the_original_due_decides(new_due, role):
    p = policy()
    original = dt.datetime(2026, 11, 24, 17, 30, tzinfo=CST)
    assert required(p.extension_approval, p.calendar, original, new_due)[0].role == role


def test_without_the_key_a_supervisor_approves_any_length_as_before():
    p = build([("group", 1, parse(presets.text("seed002")))])
    original = dt.datetime(2026, 11, 24, 17, 30, tzinfo=CST)
    rung, bound = required(p.extension_approval, p.calendar, original, original + dt.timedelta(days=60))
    assert (rung.role, bound) == ("cs_supervisor", None) and len(p.extension_approval) == 1


@pytest.mark.parametrize("text, line, path, words", [
    ("extensions:\n  approval:\n    - {max: 2wd, role: janitor}\n    - {role: head_office}\n", 3,
     "extensions.approval[0].role", "unknown role 'janitor'"),
    ("extensions:\n  approval:\n    - {max: 5wd, role: cs_supervisor}\n    - {max: 2wd, role: site_manager}\n"
     "    - {role: head_office}\n", 4, "extensions.approval[1].max", "must be longer than"),
    ("extensions:\n  approval:\n    - {max: 2d, role: cs_supervisor}\n    - {max: 16h, role: site_manager}\n"
     "    - {role: head_office}\n", 4, "extensions.approval[1].max", "must be longer than"),
    ("extensions:\n  approval:\n    - {role: site_manager, max: 2wd}\n    - {role: cs_supervisor}\n", 4,
     "extensions.approval[1].role", "must come above site_manager"),
    ("extensions:\n  approval:\n    - {role: cs_supervisor}\n    - {role: head_office}\n", 3,
     "extensions.approval[0]", "has no 'max'"),
    ("extensions:\n  approval:\n    - {role: cs_supervisor, max: 2wd}\n", 3, "extensions.approval[0].max",
     "top approval rung has no max"),
    ("extensions:\n  approval:\n    - {role: cs_supervisor, max: 2xx}\n    - {role: head_office}\n", 3,
     "extensions.approval[0].max", "malformed limit"),
    ("extensions:\n  approvers: []\n", 2, "extensions.approvers", "unknown key"),
    ("extensions: []\n", 1, "extensions", "must be a mapping"),
])
def test_bad_approval_rungs_are_refused_naming_the_field_and_line(text, line, path, words):
    with pytest.raises(PolicyInvalid) as info:
        parse(text, partial=True)
    found = [(p["line"], p["path"], p["problem"]) for p in info.value.problems]
    assert any(ln == line and p == path and words in msg for ln, p, msg in found), found


def test_the_preview_shows_the_ladder_warning_points_and_approval_rungs():
    document = parse(presets.text("seed002"))
    document.update(parse(LADDER, partial=True))
    out = policies.preview(None, None, document, "2026-11-27T16:00:00+08:00", "moderate")
    first = min(out["stages"], key=lambda s: s["due_at"])
    assert out["warning_at"] == "2h"
    assert out["stages"][0]["warning_at"]
    rungs = out["escalation"]
    assert [r["role"] for r in rungs] == ["cs_supervisor", "site_manager", "head_office"]
    assert rungs[0]["reached_at"] == first["due_at"] and "营业小时" in rungs[0]["explanation"]
    assert rungs[1]["reached_at"] == rungs[0]["acts_by"] and "business hours" not in rungs[1]["explanation_en"]
    assert "working day 1" in rungs[1]["explanation_en"] and rungs[2]["limit"] is None
    approval = out["extension_approval"]
    assert [(a["role"], a["max"]) for a in approval] == [("cs_supervisor", "2wd"), ("site_manager", "5wd"),
                                                         ("head_office", None)]
    resolution = next(s for s in out["stages"] if s["name"] == "resolution")
    assert "原时限" in approval[0]["explanation"] and approval[0]["up_to"] > resolution["due_at"]
