"""Nonconformity and CAPA rules (domain/quality.py)."""
import datetime as dt

import pytest

from workflow.domain import quality

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)
DAY = dt.timedelta(days=1)


def test_a_loss_of_500_yuan_or_more_needs_a_record():
    assert quality.needs_record(500) and quality.needs_record(1200.5)
    assert not quality.needs_record(499.99) and not quality.needs_record(None)


def test_three_of_one_cause_within_30_days_make_a_cluster():
    assert quality.cluster_reached("facility_fault", [NOW, NOW - DAY, NOW - 29 * DAY], NOW)
    assert not quality.cluster_reached("facility_fault", [NOW, NOW - DAY, NOW - 31 * DAY], NOW)
    assert not quality.cluster_reached("invalid_complaint", [NOW, NOW, NOW], NOW)


def test_who_decides():
    assert quality.may_decide([["site_manager", "DEMO-RES"]], "DEMO-RES")
    assert not quality.may_decide([["site_manager", "DEMO-NEW"]], "DEMO-RES")
    assert not quality.may_decide([["cs_supervisor", "DEMO-RES"], ["agent", "DEMO-RES"]], "DEMO-RES")
    assert quality.may_decide([["head_office", None]], "DEMO-RES")
    assert not quality.may_decide(["bogus"], "DEMO-RES")


def test_verdict_needs_a_boolean_and_a_note_to_reject():
    assert quality.parse_verdict({"approve": True}).approve is True
    with pytest.raises(quality.QualityInvalid) as err:
        quality.parse_verdict({"approve": "yes"})
    assert err.value.field == "approve"
    with pytest.raises(quality.QualityInvalid) as err:
        quality.parse_verdict({"approve": False, "note": "  "})
    assert err.value.field == "note"
    assert quality.parse_verdict({"effective": False, "note": "仍有复发"}, "effective").note == "仍有复发"


def test_capa_due_check_and_overdue():
    assert quality.capa_due(NOW) == NOW + 30 * DAY
    assert quality.after_check(True, NOW) == ("closed", None)
    assert quality.after_check(False, NOW) == ("open", NOW + 30 * DAY)
    assert quality.is_overdue("open", NOW - DAY, NOW) and not quality.is_overdue("closed", NOW - DAY, NOW)
