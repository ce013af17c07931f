"""Drill-down behind handling time, extensions, escalations by level and the quality figures (temp SQLite):
the list has exactly the cases the figure counts, scoped by tenant, role and estate like every drill-down."""
import uuid

import pytest

from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import NotFound

from reporting import handlers, reports
from reporting.domain.scope import scope_from_roles

from test_reporting_kpis_flow import ALL, DAY, NOW, case_event, open_case, record, story, tenant  # noqa: F401

PERIOD = ("2026-11-24", "2026-11-30")


def ids(page):
    return [i["complaint_id"] for i in page["items"]]


def test_handling_time_lists_the_measured_cases_slowest_first_and_the_unmeasured(engine, events, new_uow, tenant,
                                                                                 story):
    unmeasured = open_case(events, new_uow, tenant)
    record(new_uow, case_event("case_resolved", tenant, unmeasured, at="2026-11-25T02:00:00+00:00"))
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    page = reports.drilldown(tenant, ALL, engine, NOW, "handling_measured", DAY, DAY)
    assert ids(page) == [story["late"], story["on_time"]]  # 30 h before 10 h
    assert page["total"] == k["handling"]["measured"] == 2
    assert [i["handling_hours"] for i in page["items"]] == [30.0, 10.0]
    gap = reports.drilldown(tenant, ALL, engine, NOW, "handling_unmeasured", DAY, DAY)
    assert ids(gap) == [unmeasured] and gap["total"] == k["handling"]["unmeasured"] == 1


def test_escalations_by_level_each_list_the_cases_that_reached_that_level(engine, events, new_uow, tenant, story):
    top = open_case(events, new_uow, tenant)
    record(new_uow, case_event("case_escalated", tenant, top, level=4))  # above the ladder: counts as level 3
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    expected = {1: [story["late"]], 2: [story["late"]], 3: [top]}
    for row in k["escalations_by_level"]:
        page = reports.drilldown(tenant, ALL, engine, NOW, f"escalated_level_{row['level']}", DAY, DAY)
        assert ids(page) == expected[row["level"]] and page["total"] == row["cases"]
    (item,) = reports.drilldown(tenant, ALL, engine, NOW, "escalated_level_2", DAY, DAY)["items"]
    assert item["escalated_levels"] == [1, 2]


def test_extensions_requested_and_approved(engine, events, new_uow, tenant, story):
    asked, granted = open_case(events, new_uow, tenant), open_case(events, new_uow, tenant)
    for cid in (asked, granted):
        record(new_uow, case_event("extension_requested", tenant, cid, at="2026-11-25T02:00:00+00:00",
                                   stage="resolution", new_due_at="2026-12-02T09:30:00+00:00"))
    record(new_uow, case_event("extension_decided", tenant, granted, at="2026-11-25T03:00:00+00:00",
                               stage="resolution", approved=True, due_at="2026-12-02T09:30:00+00:00"))
    k = reports.kpis(tenant, ALL, engine, NOW, DAY, DAY)
    requested = reports.drilldown(tenant, ALL, engine, NOW, "extensions_requested", DAY, DAY)
    approved = reports.drilldown(tenant, ALL, engine, NOW, "extensions_approved", DAY, DAY)
    assert sorted(ids(requested)) == sorted([asked, granted]) and requested["total"] == k["extensions_requested"]
    assert ids(approved) == [granted] and approved["total"] == k["extensions_approved"] == 1
    assert approved["items"][0]["extension_approved"] is True


# --- quality records: the cases of the records a figure counts ------------------------------------------------

OFFICE = {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai",
          "region": "EAST"}


def _quality(new_uow, tenant, event_type, payload):
    handlers.record_quality_event(Envelope(event_type=event_type, tenant_id=tenant, payload=payload), new_uow())


def _nc(record_id, case_id, at, **over):
    return {"record_id": record_id, "case_id": case_id, "complaint_id": case_id, "reference": "TS1",
            "estate_code": "DEMO-RES", "cause": "staff_fault_with_loss", "loss_amount": 800, "at": at, **over}


def _capa(capa_id, cases, due, estate="DEMO-RES", **over):
    return {"capa_id": capa_id, "estate_code": estate, "cause": "facility_fault", "trigger": "cluster",
            "case_ids": cases, "owner": "工程部", "due_at": due, "at": "2026-11-24T04:00:00+00:00", **over}


@pytest.fixture
def quality_group(engine, new_uow, events):
    """DEMO-RES cases a, b, c (c received in October), DEMO-OFFICE case d. Nonconformity records: n1 on a
    (approved), n2 on b, n0 on c (opened before the period). CAPA k1 open and overdue (a, c), k2 closed (b),
    k3 at DEMO-OFFICE open (d)."""
    tenant = str(uuid.uuid4())
    case = {name: str(uuid.uuid4()) for name in "abcd"}
    for name in "ab":
        handlers.record_complaint_received(events.received(tenant, complaint_id=case[name]), new_uow())
    handlers.record_complaint_received(events.received(tenant, complaint_id=case["c"],
                                                       received_at="2026-10-01T02:00:00+00:00"), new_uow())
    handlers.record_complaint_received(events.received(tenant, complaint_id=case["d"], estate=OFFICE), new_uow())
    _quality(new_uow, tenant, "nonconformity_opened", _nc("n1", case["a"], "2026-11-24T04:00:00+00:00"))
    _quality(new_uow, tenant, "nonconformity_decided", _nc("n1", case["a"], "2026-11-25T04:00:00+00:00",
                                                           status="approved", by="u-1", note="同意"))
    _quality(new_uow, tenant, "nonconformity_opened", _nc("n2", case["b"], "2026-11-26T04:00:00+00:00"))
    _quality(new_uow, tenant, "nonconformity_opened", _nc("n0", case["c"], "2026-10-01T04:00:00+00:00"))
    _quality(new_uow, tenant, "capa_opened", _capa("k1", [case["a"], case["c"]], "2026-11-29T04:00:00+00:00"))
    _quality(new_uow, tenant, "capa_opened", _capa("k2", [case["b"]], "2026-12-24T04:00:00+00:00"))
    _quality(new_uow, tenant, "capa_checked", {"capa_id": "k2", "estate_code": "DEMO-RES", "cause": "facility_fault",
                                                "effective": True, "status": "closed", "due_at": "2026-12-24T04:00:00+00:00",
                                                "by": "u-1", "note": "", "at": "2026-11-28T04:00:00+00:00"})
    _quality(new_uow, tenant, "capa_opened", _capa("k3", [case["d"]], "2026-12-24T04:00:00+00:00", estate="DEMO-OFFICE"))
    return tenant, case


@pytest.mark.parametrize("metric, which", [
    ("nonconformity_records", "ab"), ("nonconformity_approved", "a"), ("nonconformity_rejected", ""),
    ("capa_open", "acd"), ("capa_overdue", "ac"), ("capa_opened", "abcd"), ("capa_closed", "b"),
])
def test_quality_figures_drill_into_their_records_cases(engine, quality_group, metric, which):
    tenant, case = quality_group
    page = reports.drilldown(tenant, ALL, engine, NOW, metric, *PERIOD)
    assert sorted(ids(page)) == sorted(case[w] for w in which) and page["total"] == len(which)


def test_quality_drilldown_is_scoped_by_role_estate_and_tenant(engine, quality_group):
    tenant, case = quality_group
    site = scope_from_roles([["site_manager", "DEMO-RES"]])
    assert sorted(ids(reports.drilldown(tenant, site, engine, NOW, "capa_open", *PERIOD))) == sorted(
        [case["a"], case["c"]])
    assert ids(reports.drilldown(tenant, ALL, engine, NOW, "capa_open", *PERIOD, estate="DEMO-OFFICE")) == [case["d"]]
    with pytest.raises(NotFound):
        reports.drilldown(tenant, site, engine, NOW, "capa_open", *PERIOD, estate="DEMO-OFFICE")
    nobody = scope_from_roles([["agent", None]])
    assert reports.drilldown(tenant, nobody, engine, NOW, "capa_open", *PERIOD)["total"] == 0
    assert reports.drilldown(str(uuid.uuid4()), ALL, engine, NOW, "capa_open", *PERIOD)["total"] == 0
    k = reports.kpis(tenant, ALL, engine, NOW, *PERIOD)
    assert (k["capa_open"], k["capa_overdue"], k["nonconformity_records"]) == (2, 1, 2)  # records, not cases
