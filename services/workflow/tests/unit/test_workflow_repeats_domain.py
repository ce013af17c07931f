"""Repeat complaints raise the severity (workflow/domain/repeats.py), per the tenant's scheme."""
import pytest

from workflow.domain import repeats

SEED002 = ("minor", "moderate", "major")
LABELS = {"minor": "轻微", "moderate": "中度", "major": "重大"}


@pytest.mark.parametrize("severity, earlier, count, expected", [
    ("minor", None, 1, "moderate"),        # one level up
    ("moderate", "minor", 1, "major"),
    ("minor", "moderate", 1, "major"),     # one above the earlier case when that was higher
    ("major", None, 1, "major"),           # already the top
    ("minor", None, 2, "major"),           # raised several times: major (seed 001 part 3 §4)
    ("minor", "unknown", 1, "moderate"),   # an earlier severity outside the scheme is ignored
])
def test_raise_for_repeat(severity, earlier, count, expected):
    raised = repeats.raise_for_repeat(SEED002, severity, earlier, count, "TS20261201-AAAAAA", LABELS)
    assert raised.severity == expected
    assert "TS20261201-AAAAAA" in raised.note and "重复投诉" in raised.note


def test_the_note_says_why_in_the_schemes_words():
    assert "由「轻微」升为「中度」" in repeats.raise_for_repeat(SEED002, "minor", None, 1, "TS1", LABELS).note
    assert "多次投诉" in repeats.raise_for_repeat(SEED002, "minor", None, 3, "TS1", LABELS).note


def test_ranking_comes_from_the_policy_or_a_known_preset():
    assert repeats.ranking(["c", "b", "a"], {"a": {}, "b": {}, "c": {}}) == ("c", "b", "a")
    assert repeats.ranking((), {"urgent": {}, "routine": {}, "suggestion": {}}) == ("suggestion", "routine", "urgent")
    assert repeats.ranking((), {"p1": {}, "p2": {}}) is None
    assert repeats.ranking(["p1"], {"p1": {}, "p2": {}}) is None  # incomplete: not trusted


def test_an_unranked_scheme_is_left_alone_and_says_so():
    raised = repeats.raise_for_repeat(None, "p2", None, 1, "TS1")
    assert raised.severity == "p2" and "severity_order" in raised.note
