"""Quality records (workflow's nonconformity and CAPA events) and complaints per 1,000 units: the merges in any
order (domain), the handler's claim and row on a temp SQLite, and the KPIs and league table figures."""
import datetime as dt
import itertools
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope

from reporting import handlers, reports
from reporting.domain import quality
from reporting.domain.rollup import InvalidEvent
from reporting.domain.scope import Scope, scope_from_roles
from reporting.tables import quality_capa, quality_nonconformities

UTC = dt.timezone.utc
NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
ALL = Scope(None)
OFFICE = {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai",
          "region": "EAST"}


def nc_opened(record_id="n1", estate="DEMO-RES", at="2026-11-24T04:00:00+00:00", **over):
    return {"record_id": record_id, "case_id": "c-1", "complaint_id": "c-1", "reference": "TS1",
            "estate_code": estate, "cause": "staff_fault_with_loss", "loss_amount": 800, "at": at, **over}


def nc_decided(record_id="n1", status="approved", at="2026-11-25T04:00:00+00:00", **over):
    return nc_opened(record_id, at=at, status=status, by="u-1", note="同意", **over)


def capa_opened(capa_id="k1", estate="DEMO-RES", at="2026-11-24T04:00:00+00:00", due="2026-12-24T04:00:00+00:00",
                cases=("c-1",)):
    return {"capa_id": capa_id, "estate_code": estate, "cause": "facility_fault", "trigger": "cluster",
            "case_ids": list(cases), "owner": "工程部", "due_at": due, "at": at}


def capa_added(capa_id="k1", case_id="c-2", at="2026-11-26T04:00:00+00:00"):
    return {"capa_id": capa_id, "estate_code": "DEMO-RES", "cause": "facility_fault", "case_id": case_id, "at": at}


def capa_checked(capa_id="k1", status="closed", at="2026-11-28T04:00:00+00:00", due="2026-12-24T04:00:00+00:00"):
    return {"capa_id": capa_id, "estate_code": "DEMO-RES", "cause": "facility_fault", "effective": status == "closed",
            "status": status, "due_at": due, "by": "u-1", "note": "", "at": at}


def _merge_all(kind, events):
    record = quality.empty(kind, "t", events[0][1]["record_id" if kind == "nonconformity" else "capa_id"])
    for event_type, payload in events:
        record = quality.MERGES[event_type](record, payload)
    return record


# --- domain ------------------------------------------------------------------------------------------------

def test_a_nonconformity_record_ends_the_same_in_any_order_and_on_redelivery():
    events = [("nonconformity_opened", nc_opened()), ("nonconformity_decided", nc_decided(status="rejected"))]
    results = {_merge_all("nonconformity", list(order)) for order in itertools.permutations(events + events)}
    assert len(results) == 1
    (record,) = results
    assert (record.status, record.estate_code, record.loss_amount, record.cause) == (
        "rejected", "DEMO-RES", 800, "staff_fault_with_loss")
    assert record.opened_at == dt.datetime(2026, 11, 24, 4, tzinfo=UTC)
    assert record.decided_at == dt.datetime(2026, 11, 25, 4, tzinfo=UTC)


def test_an_opened_record_is_open_until_decided():
    record = _merge_all("nonconformity", [("nonconformity_opened", nc_opened())])
    assert record.status == "open" and record.decided_at is None


def test_a_capa_record_ends_the_same_in_any_order():
    events = [("capa_opened", capa_opened()), ("capa_case_added", capa_added()),
              ("capa_checked", capa_checked(status="open", at="2026-11-27T04:00:00+00:00",
                                            due="2027-01-26T04:00:00+00:00")),
              ("capa_checked", capa_checked(status="closed"))]
    results = {_merge_all("capa", list(order)) for order in itertools.permutations(events)}
    assert len(results) == 1
    (record,) = results
    assert record.status == "closed" and record.case_ids == ("c-1", "c-2") and record.trigger == "cluster"
    assert record.closed_at == record.checked_at == dt.datetime(2026, 11, 28, 4, tzinfo=UTC)
    assert not record.overdue(dt.datetime(2027, 6, 1, tzinfo=UTC))  # closed is never overdue


def test_a_capa_checked_ineffective_stays_open_with_the_new_due_date():
    events = [("capa_checked", capa_checked(status="open", due="2027-01-26T04:00:00+00:00")),
              ("capa_opened", capa_opened())]  # the opening arrives late: the check's due date stays
    record = _merge_all("capa", events)
    assert record.status == "open" and record.due_at == dt.datetime(2027, 1, 26, 4, tzinfo=UTC)
    assert record.opened_at == dt.datetime(2026, 11, 24, 4, tzinfo=UTC) and record.closed_at is None
    assert not record.overdue(dt.datetime(2027, 1, 26, 4, tzinfo=UTC))
    assert record.overdue(dt.datetime(2027, 1, 26, 4, 1, tzinfo=UTC))


@pytest.mark.parametrize("event_type, payload", [
    ("nonconformity_opened", nc_opened(at="2026-11-24T04:00:00")),  # no offset
    ("nonconformity_opened", nc_opened(estate="")),
    ("nonconformity_opened", nc_opened(loss_amount="800")),
    ("nonconformity_decided", nc_decided(status="maybe")),
    ("capa_opened", dict(capa_opened(), case_ids="c-1")),
    ("capa_opened", dict(capa_opened(), due_at=None)),
    ("capa_checked", capa_checked(status="done")),
    ("capa_case_added", dict(capa_added(), case_id=None)),
])
def test_unusable_payloads_are_refused(event_type, payload):
    kind = "nonconformity" if event_type.startswith("nonconformity") else "capa"
    with pytest.raises(InvalidEvent):
        quality.MERGES[event_type](quality.empty(kind, "t", "x"), payload)


def test_period_bounds_are_the_group_zones_days():
    lo, hi = quality.period_bounds(dt.date(2026, 11, 24), dt.date(2026, 11, 30))
    assert lo == dt.datetime(2026, 11, 23, 16, tzinfo=UTC) and hi == dt.datetime(2026, 11, 30, 16, tzinfo=UTC)


def test_per_1000_units():
    assert quality.per_1000_units(3, 8) == 375.0 and quality.per_1000_units(1, 3) == 333.33
    assert quality.per_1000_units(5, None) is None and quality.per_1000_units(5, 0) is None


# --- handler and read model --------------------------------------------------------------------------------

def _env(event_type, tenant, payload, **kwargs):
    return Envelope(event_type=event_type, tenant_id=tenant, payload=payload, **kwargs)


def _rows(engine, table, tenant):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(table).where(table.c.tenant_id == tenant)).mappings()]


def test_the_handler_claims_each_event_once_and_keeps_one_row_per_record(engine, new_uow):
    tenant = str(uuid.uuid4())
    decided = _env("nonconformity_decided", tenant, nc_decided())
    assert handlers.record_quality_event(decided, new_uow()) is True  # the decision overtakes the opening
    assert handlers.record_quality_event(decided, new_uow()) is False  # redelivered
    assert handlers.record_quality_event(_env("nonconformity_opened", tenant, nc_opened()), new_uow()) is True
    (row,) = _rows(engine, quality_nonconformities, tenant)
    assert (row["status"], row["estate_code"], row["loss_amount"]) == ("approved", "DEMO-RES", 800)
    assert row["opened_at"] == dt.datetime(2026, 11, 24, 4, tzinfo=UTC)
    for event_type, payload in (("capa_case_added", capa_added()), ("capa_opened", capa_opened()),
                                ("capa_case_added", capa_added(case_id="c-0"))):
        handlers.record_quality_event(_env(event_type, tenant, payload), new_uow())
    (capa,) = _rows(engine, quality_capa, tenant)
    assert capa["case_ids"] == ["c-0", "c-1", "c-2"] and capa["status"] == "open"
    assert _rows(engine, quality_capa, str(uuid.uuid4())) == []  # another tenant's rows are invisible


def test_an_unusable_event_writes_nothing(engine, new_uow):
    tenant = str(uuid.uuid4())
    with pytest.raises(InvalidEvent):
        handlers.record_quality_event(_env("capa_opened", tenant, dict(capa_opened(), at=None)), new_uow())
    with pytest.raises(InvalidEvent):
        handlers.record_quality_event(_env("case_upgraded", tenant, {"capa_id": "x"}), new_uow())
    assert _rows(engine, quality_capa, tenant) == []


# --- KPIs, league table, per 1,000 units ---------------------------------------------------------------------

@pytest.fixture
def group(engine, new_uow, events):
    """DEMO-RES (8 units): 3 complaints, 2 nonconformity records (one approved, one rejected after the period),
    a CAPA open and overdue and one closed; DEMO-OFFICE (2 units): 1 complaint, a CAPA open, not yet due."""
    tenant = str(uuid.uuid4())
    res = dict(events.received(tenant).payload["estate"], units=8)
    for _ in range(3):
        handlers.record_complaint_received(events.received(tenant, estate=res), new_uow())
    handlers.record_complaint_received(events.received(tenant, estate=dict(OFFICE, units=2)), new_uow())
    quality_events = [
        ("nonconformity_opened", nc_opened("n1")), ("nonconformity_decided", nc_decided("n1")),
        ("nonconformity_opened", nc_opened("n2")),
        ("nonconformity_decided", nc_decided("n2", status="rejected", at="2026-12-02T04:00:00+00:00")),
        ("nonconformity_opened", nc_opened("n0", at="2026-10-01T04:00:00+00:00")),  # before the period
        ("capa_opened", capa_opened("k1", due="2026-11-29T04:00:00+00:00")),  # overdue at NOW
        ("capa_opened", capa_opened("k2")), ("capa_checked", capa_checked("k2")),
        ("capa_opened", capa_opened("k3", estate="DEMO-OFFICE")),
    ]
    for event_type, payload in quality_events:
        handlers.record_quality_event(_env(event_type, tenant, payload), new_uow())
    return tenant


def test_kpis_count_quality_records_and_complaints_per_1000_units(engine, group):
    k = reports.kpis(group, ALL, engine, NOW, "2026-11-24", "2026-11-30")
    assert k["nonconformity_records"] == 2 and k["nonconformity"] == {"opened": 2, "approved": 1, "rejected": 0}
    assert (k["capa_open"], k["capa_overdue"]) == (2, 1)
    assert k["capa"] == {"open_now": 2, "overdue_now": 1, "opened": 3, "closed": 1}
    assert k["received"] == 4 and k["units"] == 10 and k["per_1000_units"] == 400.0
    assert "per_1000_units" not in k["notes"] and "capa_open" not in k["notes"]
    later = reports.kpis(group, ALL, engine, NOW, "2026-12-01", "2026-12-31")
    assert later["nonconformity"] == {"opened": 0, "approved": 0, "rejected": 1}
    assert later["capa_open"] == 2  # open now, whatever the period


def test_quality_figures_follow_the_estate_and_the_callers_scope(engine, group):
    office = reports.kpis(group, ALL, engine, NOW, "2026-11-24", "2026-11-30", "DEMO-OFFICE")
    assert (office["nonconformity_records"], office["capa_open"], office["capa_overdue"]) == (0, 1, 0)
    assert office["per_1000_units"] == 500.0
    site = reports.kpis(group, scope_from_roles([["site_manager", "DEMO-RES"]]), engine, NOW, "2026-11-24",
                        "2026-11-30")
    assert (site["nonconformity_records"], site["capa_open"], site["capa_overdue"]) == (2, 1, 1)
    assert site["per_1000_units"] == 375.0
    assert reports.kpis(str(uuid.uuid4()), ALL, engine, NOW, "2026-11-24", "2026-11-30")["capa_open"] == 0


def test_league_table_rows_have_the_estates_quality_figures(engine, group):
    rows = {r["estate"]: r for r in reports.league_table(group, ALL, engine, NOW, "2026-11-24", "2026-11-30")["rows"]}
    assert {k: rows["DEMO-RES"][k] for k in ("units", "per_1000_units", "nonconformity_records", "capa_open",
                                             "capa_overdue")} == {"units": 8, "per_1000_units": 375.0,
                                                                  "nonconformity_records": 2, "capa_open": 1,
                                                                  "capa_overdue": 1}
    assert (rows["DEMO-OFFICE"]["per_1000_units"], rows["DEMO-OFFICE"]["capa_open"]) == (500.0, 1)


def test_one_estate_without_a_unit_count_leaves_the_group_figure_unknown(engine, new_uow, events, group):
    handlers.record_complaint_received(events.received(group, estate=dict(OFFICE, code="DEMO-NEW")), new_uow())
    k = reports.kpis(group, ALL, engine, NOW, "2026-11-24", "2026-11-30")
    assert k["per_1000_units"] is None and k["units"] is None
    assert k["notes"]["per_1000_units"].startswith("unit counts not known")
