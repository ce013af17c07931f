"""Automatic upgrades (domain/upgrades.py): who gets the month timer, and how deadlines move on upgrade."""
import datetime as dt

from workflow.domain import upgrades

ORDER = ("minor", "moderate", "major")
T0 = dt.datetime(2026, 11, 1, 2, 0, tzinfo=dt.timezone.utc)


def test_only_cases_below_the_top_of_a_ranked_scheme_get_the_timer():
    assert upgrades.needs_upgrade_timer(ORDER, "moderate")
    assert not upgrades.needs_upgrade_timer(ORDER, "major")
    assert not upgrades.needs_upgrade_timer(None, "moderate")  # a scheme that cannot be ranked
    assert upgrades.is_major(ORDER, "major") and not upgrades.is_major(None, "major")
    assert upgrades.top(ORDER) == "major" and upgrades.top(None) is None
    assert upgrades.upgrade_at(T0) == T0 + dt.timedelta(days=30)


def test_plan_never_gives_more_time_and_keeps_met_stages():
    hour = dt.timedelta(hours=1)
    existing = {"first_contact": (T0, T0), "resolution": (T0 + 100 * hour, None), "plan": (T0 + hour, None)}
    computed = {"first_contact": T0 + 50 * hour, "resolution": T0 + 80 * hour, "plan": T0 + 90 * hour,
                "special_team": T0 + 2 * hour}
    plan = upgrades.plan(existing, computed)
    assert plan.moved == {"resolution": T0 + 80 * hour}
    assert plan.added == {"special_team": T0 + 2 * hour}
    assert set(plan.kept) == {"first_contact", "plan"}


def test_notes_say_why():
    assert "一个月仍未解决" in upgrades.upgrade_note("中度", "重大", "2026-11-01 10:00")
    assert "2026-12-01 12:00" in upgrades.major_note("2026-12-01 12:00")
    assert "专项" not in upgrades.major_note(None)
