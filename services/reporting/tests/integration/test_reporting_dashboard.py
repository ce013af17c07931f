"""The dashboard read model in a real container on a real RabbitMQ and database (PostgreSQL with
TEST_DATABASE_URL): events from intake, workflow and notify in any order, redelivery, tenants and scopes."""
import base64
import io
import itertools
import uuid

import pytest
from nameko.exceptions import RemoteError
from nameko.standalone.events import event_dispatcher
from nameko.standalone.rpc import ServiceRpcProxy
from nameko.testing.services import entrypoint_waiter
from openpyxl import load_workbook
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.errors import parse_remote

from reporting.tables import complaint_daily, complaint_facts

pytestmark = pytest.mark.integration

ESTATES = {
    "DEMO-RES": {"code": "DEMO-RES", "name": "锦绣花园", "kind": "residential", "timezone": "Asia/Shanghai",
                 "region": "EAST"},
    "DEMO-OFFICE": {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai",
                    "region": "EAST"},
}
HQ = [["head_office", None]]


def envelopes(tenant, cid, estate="DEMO-RES", category="greening", ack="2026-11-24T02:20:00+00:00"):
    """(source, event_type, body) for one complaint's life: received, case opened, acknowledged, reclassified."""
    snapshot = {"complaint_id": cid, "reference": "TS20261124-" + cid[:6].upper(), "estate": ESTATES[estate],
                "channel": "hotline", "description": "草坪枯黄", "complainant": {"phone": "13800000000"},
                "category": category, "severity": "minor", "urgent": False,
                "received_at": "2026-11-24T02:00:00+00:00", "received_by": None, "schema_version": 1}
    opened = dict(snapshot, case_id=cid, opened_at="2026-11-24T02:00:03+00:00",
                  deadlines=[{"stage": "first_contact", "due_at": "2026-11-24T03:00:00+00:00"},
                             {"stage": "resolution", "due_at": "2026-11-27T10:00:00+00:00"}])
    sent = {"message_id": str(uuid.uuid4()), "complaint_id": cid, "case_id": cid, "kind": "acknowledgement",
            "channel": "email", "reference": snapshot["reference"], "recipient": "z***@example.com",
            "attempts": 1, "sent_at": ack, "smtp_message_id": "<m@x>"}
    reclass = {"complaint_id": cid, "old_category": category, "old_severity": "minor",
               "new_category": "facilities", "new_severity": "moderate",
               "reclassified_at": "2026-11-24T05:00:00+00:00"}
    out = []
    for source, kind, payload in (("intake", "complaint_received", snapshot), ("workflow", "case_opened", opened),
                                  ("notify", "notification_sent", sent),
                                  ("intake", "complaint_reclassified", reclass)):
        out.append((source, kind, Envelope(event_type=kind, tenant_id=tenant, payload=payload).to_dict()))
    return out


HANDLERS = {"complaint_received": "on_complaint_received", "case_opened": "on_case_opened",
            "notification_sent": "on_notification_sent", "complaint_reclassified": "on_complaint_reclassified"}


def deliver(container, config, bodies):
    """Dispatch each (source, type, body) and wait until its handler ran, one after the other (a fixed order)."""
    dispatch = event_dispatcher(config)
    for source, kind, body in bodies:
        with entrypoint_waiter(container, HANDLERS[kind], timeout=20):
            dispatch(source, kind, body)


def rpc(config, tenant_id, roles=HQ):
    return ServiceRpcProxy("reporting", config, context_data={"tenant_id": tenant_id, "roles": roles}, timeout=10)


def facts_and_rollup(engine, tenant):
    with engine.connect() as conn:
        facts = [dict(r) for r in conn.execute(select(complaint_facts).where(complaint_facts.c.tenant_id == tenant)
                                               .order_by(complaint_facts.c.complaint_id)).mappings()]
        daily = [dict(r) for r in conn.execute(select(complaint_daily).where(complaint_daily.c.tenant_id == tenant,
                                                                             complaint_daily.c.received != 0)
                                               .order_by(*complaint_daily.primary_key)).mappings()]
    for f in facts:
        f.pop("tenant_id")
    for d in daily:
        d.pop("tenant_id")
    return facts, daily


def test_events_in_any_order_end_in_the_same_facts(reporting, service_config, engine):
    cid = str(uuid.uuid4())
    results = []
    orders = list(itertools.permutations(range(4)))
    for order in (orders[0], orders[-1], orders[9], orders[14]):  # in order, reversed, and two shuffles
        tenant = str(uuid.uuid4())
        life = envelopes(tenant, cid)
        deliver(reporting, service_config, [life[i] for i in order])
        results.append(facts_and_rollup(engine, tenant))
    assert all(r == results[0] for r in results)
    (fact,), daily = results[0]
    assert (fact["category"], fact["severity"], fact["reclassified"]) == ("facilities", "moderate", True)
    assert fact["first_contact_due_at"].isoformat() == "2026-11-24T03:00:00+00:00"
    assert fact["resolution_due_at"].isoformat() == "2026-11-27T10:00:00+00:00"
    assert [(d["category"], d["received"], d["first_contact_due"], d["first_contact_on_time"], d["reclassified"])
            for d in daily] == [("facilities", 1, 1, 1, 1)]


def test_redelivery_is_harmless(reporting, service_config, engine):
    tenant = str(uuid.uuid4())
    life = envelopes(tenant, str(uuid.uuid4()))
    deliver(reporting, service_config, life)
    once = facts_and_rollup(engine, tenant)
    deliver(reporting, service_config, life + life[::-1])
    assert facts_and_rollup(engine, tenant) == once
    with rpc(service_config, tenant) as reporting_rpc:
        kpis = reporting_rpc.kpis("2026-11-24", "2026-11-24")
    assert kpis["received"] == 1 and kpis["acknowledged_within_first_contact_pct"] == 100.0


def test_another_tenants_data_is_invisible(reporting, service_config):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    deliver(reporting, service_config, envelopes(mine, str(uuid.uuid4()))[:2]
            + envelopes(theirs, str(uuid.uuid4()), estate="DEMO-OFFICE")[:2])
    with rpc(service_config, mine) as reporting_rpc:
        assert reporting_rpc.kpis("2026-11-24", "2026-11-24")["received"] == 1
        assert [r["estate"] for r in reporting_rpc.league_table("2026-11-24", "2026-11-24")["rows"]] == ["DEMO-RES"]
        page = reporting_rpc.drilldown("received", "2026-11-24", "2026-11-24")
        assert page["total"] == 1
        with pytest.raises(RemoteError) as info:
            reporting_rpc.kpis("2026-11-24", "2026-11-24", estate="DEMO-OFFICE")  # theirs
        assert info.value.exc_type == "NotFound"


def test_a_site_manager_asking_for_another_estate_gets_not_found(reporting, service_config):
    tenant = str(uuid.uuid4())
    deliver(reporting, service_config, envelopes(tenant, str(uuid.uuid4()))[:2]
            + envelopes(tenant, str(uuid.uuid4()), estate="DEMO-OFFICE")[:2])
    manager = [["site_manager", "DEMO-RES"]]
    with rpc(service_config, tenant, manager) as reporting_rpc:
        answers = []
        for estate in ("DEMO-OFFICE", "NO-SUCH-ESTATE"):
            with pytest.raises(RemoteError) as info:
                reporting_rpc.drilldown("received", "2026-11-24", "2026-11-24", estate=estate)
            answers.append((info.value.exc_type, parse_remote(info.value.value)))
        assert answers[0] == answers[1] == ("NotFound", {"error": "not_found", "status": 404,
                                                         "message": "no such estate",
                                                         "details": {"field": "estate"}})
        assert reporting_rpc.kpis("2026-11-24", "2026-11-24")["received"] == 1
        assert reporting_rpc.kpis("2026-11-24", "2026-11-24", estate="DEMO-RES")["received"] == 1
    with rpc(service_config, tenant) as head_office:
        assert head_office.kpis("2026-11-24", "2026-11-24")["received"] == 2


def test_validation_and_export_over_rpc(reporting, service_config):
    tenant = str(uuid.uuid4())
    deliver(reporting, service_config, envelopes(tenant, str(uuid.uuid4()))[:3])
    with rpc(service_config, tenant) as reporting_rpc:
        for call, field in ((lambda: reporting_rpc.kpis("2026-11-30", "2026-11-01"), "from"),
                            (lambda: reporting_rpc.league_table("2025-01-01", "2026-06-30"), "to"),
                            (lambda: reporting_rpc.league_table("2026-11-01", "2026-11-30", sort="x"), "sort"),
                            (lambda: reporting_rpc.drilldown("nope", "2026-11-01", "2026-11-30"), "metric")):
            with pytest.raises(RemoteError) as info:
                call()
            assert info.value.exc_type == "ValidationFailed"
            assert parse_remote(info.value.value)["details"] == {"field": field}
        out = reporting_rpc.export("league_table", "xlsx", "2026-11-24", "2026-11-24")
    ws = load_workbook(io.BytesIO(base64.b64decode(out["content_base64"]))).active
    assert [c.value for c in ws[2]][1:3] == ["DEMO-RES", "锦绣花园"]
    assert out["filename"] == "league_table_2026-11-24_2026-11-24.xlsx"
