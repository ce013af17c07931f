"""Duplicate and repeat rules (domain/duplicates.py), without a database."""
import datetime as dt

import pytest

from intake.domain import duplicates as d
from intake.duplicates_eval import REPEAT_PAIRS, evaluate

NOW = dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.timezone.utc)
TEXT = "3号楼东侧电梯困人已经二十分钟了，里面有老人和小孩，按了警铃没人应答，赶紧派人来！"


def earlier(text=TEXT, hours_ago=1.0, closed_days_ago=None, category="facilities_equipment", ident="a",
            repeat_count=0):
    closed = NOW - dt.timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    return d.Earlier(ident, f"TS-{ident}", text, category, NOW - dt.timedelta(hours=hours_ago), closed,
                     repeat_count)


def test_normalise_ignores_punctuation_width_and_case():
    assert d.normalise("Ａ座 电梯，坏了！！") == d.normalise("a座电梯坏了")
    assert d.similarity("Ａ座电梯坏了。", "a座 电梯坏了") == 1.0


def test_similarity_of_unrelated_texts_is_low_and_of_retypings_high():
    assert d.similarity(TEXT, "小区绿化带里的树很久没修剪了，挡住了一楼的采光。") < 0.1
    assert d.similarity(TEXT, "你好，" + TEXT + "请尽快处理") >= d.DUPLICATE_THRESHOLD
    assert d.similarity("", TEXT) == 0.0


def test_a_near_identical_text_within_the_window_is_a_duplicate_of_the_oldest_open_one():
    first, second = earlier(hours_ago=5, ident="first"), earlier(hours_ago=2, ident="second")
    assert d.find_duplicate(TEXT + "急！", NOW, [second, first]) == first


@pytest.mark.parametrize("candidate", [
    earlier(hours_ago=25),                            # outside 24 h
    earlier(closed_days_ago=0.01),                    # already closed: a repeat, not a duplicate
    earlier(text="楼下商铺油烟太大，窗户都不敢开，请物业协调处理。"),  # another issue
])
def test_no_duplicate(candidate):
    assert d.find_duplicate(TEXT, NOW, [candidate]) is None


def test_a_repeat_is_the_same_issue_closed_within_90_days_in_the_same_category():
    old = earlier(text="3号楼电梯又困人了，上次修好没几天", hours_ago=24 * 30, closed_days_ago=20, ident="old")
    newer = earlier(text="3号楼电梯困人，按警铃没人应答", hours_ago=24 * 10, closed_days_ago=5, ident="new",
                    repeat_count=1)
    assert d.find_repeat(TEXT, "facilities_equipment", NOW, [old, newer]) == newer


@pytest.mark.parametrize("candidate, category", [
    (earlier(hours_ago=24 * 100, closed_days_ago=91), "facilities_equipment"),  # closed too long ago
    (earlier(hours_ago=48), "facilities_equipment"),                            # still open
    (earlier(hours_ago=48, closed_days_ago=1), "sanitation"),                   # another category
    (earlier(text="楼下商铺油烟太大", hours_ago=48, closed_days_ago=1), "facilities_equipment"),
])
def test_no_repeat(candidate, category):
    assert d.find_repeat(TEXT, category, NOW, [candidate]) is None


def test_the_owner_is_known_by_phone_else_by_e_mail():
    assert d.Contact.of("138-1234-5678", "A@x.cn") == d.Contact(phone="13812345678")
    assert d.Contact.of("", " A@X.cn ") == d.Contact(email="a@x.cn")
    assert not d.Contact.of(None, None)


@pytest.mark.parametrize("value, expected", [(None, None), ("", None), (" wx-123 ", "wx-123"), (42, "42")])
def test_external_id_is_cleaned(value, expected):
    assert d.clean_external_id(value) == expected


@pytest.mark.parametrize("value", ["x" * 129, "a\x00b", True, {"id": 1}, "   "])
def test_bad_external_ids_are_refused(value):
    with pytest.raises(ValueError):
        d.clean_external_id(value)


def test_thresholds_hold_on_the_shipped_labelled_set():
    """The measurement the thresholds come from: no two different complaints merge, re-typings do."""
    result = evaluate()
    pairs, positives = result["pairs"], result["positives"]
    assert max(s for s, _ in pairs) < d.DUPLICATE_THRESHOLD - 0.2
    every = [s for scores in positives.values() for s in scores]
    assert sum(s >= d.DUPLICATE_THRESHOLD for s in every) / len(every) >= 0.95
    same_category = [s for s, same in pairs if same]
    assert sum(s >= d.REPEAT_THRESHOLD for s in same_category) / len(same_category) < 0.01
    repeats = [d.similarity(a, b) for a, b in REPEAT_PAIRS]
    assert sum(s >= d.REPEAT_THRESHOLD for s in repeats) >= 6
