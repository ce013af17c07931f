"""The new KPIs through the handlers on a temp SQLite: events in, figures and drill-down out, rebuild agrees."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.envelope import Envelope

from reporting import handlers, reports, repository
from reporting.domain.scope import Scope
from reporting.rebuild import rebuild

ALL = Scope(None)
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
DAY = "2026-11-24"
RESOLUTION_DUE = "2026-11-27T09:30:00+00:00"


def case_event(event_type, tenant, cid, occurred_at="2026-11-25T00:00:00+00:00", **payload):
    return Envelope(event_type=event_type, tenant_id=tenant, occurred_at=occurred_at,
                    payload={"case_id": cid, "complaint_id": cid, "reference": "R", "estate_code": "DEMO-RES",
                             **payload})


@pytest.fixture
def tenant():
    return str(uuid.uuid4())


def open_case(events, new_uow, tenant, **received):
    cid = str(uuid.uuid4())
    handlers.record_complaint_received(events.received(tenant, complaint_id=cid, **received), new_uow())
    handlers.record_case_opened(events.opened(tenant, cid, deadlines=[
        {"stage": "first_contact", "due_at": "2026-11-24T03:00:00+00:00"},
        {"stage": "resolution", "due_at": RESOLUTION_DUE}]), new_uow())
    return cid


def record(new_uow, *envelopes):
    return [handlers.record_case_event(e, new_uow()) for e in envelopes]


@pytest.fixture
def story(events, new_uow, tenant):
    """Four cases: on time and satisfied; late, reopened, escalated; overdue unresolved; cancelled."""
    a = open_case(events, new_uow, tenant, repeat_of={"complaint_id": str(uuid.uuid4()), "repeat_count": 1})
    record(new_uow, case_event("case_contacted", tenant, a, at="2026-11-24T02:30:00+00:00"),
           case_event("case_resolved", tenant, a, at="2026-11-26T02:00:00+00:00", handling_working_hours=10.0,
                      nonconformity_required=False),
           case_event("callback_completed", tenant, a, "2026-11-26T05:00:00+00:00", satisfaction="very_satisfied"))
    b = open_case(events, new_uow, tenant, channel="web")
    handlers.record_notification(events.notification(tenant, b, sent_at="2026-11-24T02:10:00+00:00"), new_uow())
    record(new_uow, case_event("case_resolved", tenant, b, at="2026-11-28T02:00:00+00:00",
                               handling_working_hours=30.0, nonconformity_required=True),
           case_event("callback_dissatisfied", tenant, b, "2026-11-28T05:00:00+00:00", satisfaction="dissatisfied"),
           case_event("case_reopened", tenant, b, at="2026-11-28T05:00:01+00:00"),
           case_event("sla_breached", tenant, b, due_at=RESOLUTION_DUE, stage="resolution"),
           case_event("case_escalated", tenant, b, level=1), case_event("case_escalated", tenant, b, level=2))
    c = open_case(events, new_uow, tenant)
    d = open_case(events, new_uow, tenant)
    record(new_uow, case_event("case_cancelled", tenant, d, at="2026-11-24T05:00:00+00:00"))
    return {"on_time": a, "late": b, "overdue": c, "cancelled": d}


def test_kpis_from_the_case_lives(engine, tenant, story):
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    assert k["received"] == 4
    assert k["first_contact"]["on_time"] == 2 and k["first_contact"]["by_proxy"] == 1  # b: acknowledgement only
    assert k["resolution"] == {"with_deadline": 3, "resolved": 2, "on_time": 1, "late": 1, "overdue_now": 1,
                               "pending": 0, "on_time_pct": 33.3}
    assert k["resolved_within_limit_pct"] == 33.3
    assert (k["handling_hours_avg"], k["handling_hours_p90"]) == (20.0, 28.0)  # 10 h and 30 h
    assert (k["callback_coverage_pct"], k["satisfaction_pct"], k["reopen_rate_pct"]) == (100.0, 50.0, 50.0)
    assert k["escalations_by_level"] == [{"level": 1, "cases": 1}, {"level": 2, "cases": 1},
                                         {"level": 3, "cases": 0}]
    assert (k["breaches"], k["escalated"], k["repeat_complaints"], k["nonconformity_required"]) == (1, 1, 1, 1)
    assert "handling_hours_avg" not in k["notes"]
    row = reports.league_table(tenant, ALL, engine, NOW, DAY, DAY, "resolved_within_limit_pct")["rows"][0]
    assert row["resolved_within_limit_pct"] == 33.3


@pytest.mark.parametrize("metric, which", [
    ("resolved_on_time", ["on_time"]), ("resolved_late", ["late"]), ("resolution_overdue_now", ["overdue"]),
    ("reopened", ["late"]), ("dissatisfied", ["late"]), ("satisfied", ["on_time"]), ("escalated", ["late"]),
    ("breached", ["late"]), ("repeat", ["on_time"]), ("called_back", ["on_time", "late"]),
    ("not_called_back", []), ("first_contact_by_proxy", ["late"]), ("nonconformity_required", ["late"]),
])
def test_drilldown_lists_the_cases_behind_each_figure(engine, tenant, story, metric, which):
    page = reports.drilldown(tenant, ALL, engine, NOW, metric, DAY, DAY)
    assert sorted(i["complaint_id"] for i in page["items"]) == sorted(story[w] for w in which)
    assert page["total"] == len(which)


def test_drilldown_item_has_the_case_life(engine, tenant, story):
    (item,) = reports.drilldown(tenant, ALL, engine, NOW, "reopened", DAY, DAY)["items"]
    assert item["resolution_status"] == "late" and item["handling_hours"] == 30.0
    assert (item["satisfaction"], item["reopened"], item["escalation_level"], item["breached"]) == (
        "dissatisfied", True, 2, True)


def test_redelivery_and_rebuild_leave_the_figures_alone(engine, new_uow, tenant, story):
    before = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    again = case_event("case_escalated", tenant, story["late"], level=3)
    assert record(new_uow, again, again) == [True, False]  # the same event id twice
    assert reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)["escalations_by_level"][2] == {"level": 3, "cases": 1}
    with engine.connect() as conn:
        daily = repository.daily_rows(conn, tenant)
    rebuild(engine, progress=False)
    with engine.connect() as conn:
        assert repository.daily_rows(conn, tenant) == daily
    after = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    assert {k: v for k, v in after.items() if k != "escalations_by_level"} == {
        k: v for k, v in before.items() if k not in ("escalations_by_level", "escalated")} | {"escalated": 1}


def test_events_before_the_complaint_count_once_it_arrives(engine, events, new_uow, tenant):
    cid = str(uuid.uuid4())
    record(new_uow, case_event("case_resolved", tenant, cid, at="2026-11-25T02:00:00+00:00",
                               handling_working_hours=4.0))
    assert reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)["received"] == 0
    handlers.record_complaint_received(events.received(tenant, complaint_id=cid), new_uow())
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    assert (k["received"], k["resolution"]["resolved"], k["handling_hours_avg"]) == (1, 1, 4.0)
    assert k["callbacks"]["not_called_back"] == 1 and k["callback_coverage_pct"] == 0.0


def test_an_unknown_event_type_is_invalid(new_uow, tenant):
    with pytest.raises(handlers.InvalidEvent):
        handlers.record_case_event(case_event("case_exploded", tenant, str(uuid.uuid4())), new_uow())


def test_a_case_late_against_its_original_due_counts_as_a_breach_in_figures_and_drilldown(
        engine, events, new_uow, tenant):
    """Resolved after the original due but inside an approved extension: workflow sent no sla_breached, yet the
    on-time figures say late, so the breaches count and its drill-down say breached too."""
    e = open_case(events, new_uow, tenant)
    record(new_uow, case_event("case_contacted", tenant, e, at="2026-11-24T02:30:00+00:00"),
           case_event("extension_decided", tenant, e, stage="resolution", approved=True,
                      at="2026-11-25T03:00:00+00:00", due_at="2026-12-02T09:30:00+00:00",
                      original_due_at=RESOLUTION_DUE),
           case_event("case_resolved", tenant, e, at="2026-11-29T02:00:00+00:00", handling_working_hours=30.0))
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    assert (k["resolution"]["late"], k["breaches"]) == (1, 1)
    page = reports.drilldown(tenant, ALL, engine, NOW, "breached", DAY, DAY)
    assert [i["complaint_id"] for i in page["items"]] == [e] and page["items"][0]["breached"] is True
