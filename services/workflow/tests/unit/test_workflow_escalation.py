import datetime as dt

import pytest

from workflow.domain.escalation import DEFAULT_LADDER, next_rung, warning_at

T0 = dt.datetime(2026, 11, 24, 1, 0, tzinfo=dt.timezone.utc)


def test_warning_comes_at_three_quarters_of_the_stage():
    assert warning_at(T0, T0 + dt.timedelta(hours=4)) == T0 + dt.timedelta(hours=3)
    assert warning_at(T0, T0 + dt.timedelta(minutes=15), 0.5) == T0 + dt.timedelta(minutes=7, seconds=30)
    with pytest.raises(ValueError):
        warning_at(T0, T0, 1.5)


def test_ladder_climbs_supervisor_manager_head_office_then_stops():
    climbed = []
    level = 0
    while (rung := next_rung(level)) is not None:
        climbed.append(rung.role)
        level = rung.level
    assert climbed == ["cs_supervisor", "site_manager", "head_office"]
    assert DEFAULT_LADDER[-1].minutes_to_act is None
