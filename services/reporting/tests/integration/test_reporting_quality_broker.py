"""Quality records through a real broker and database (SQLite, or PostgreSQL with TEST_DATABASE_URL): workflow's
nonconformity and CAPA events on ``workflow.events``, out of order and twice, become the KPIs' quality figures;
intake's unit count becomes complaints per 1,000 units; an unusable quality event is dead-lettered."""
import uuid

import pytest
from nameko.standalone.events import event_dispatcher
from nameko.testing.services import entrypoint_waiter

from estatedesk_common.envelope import Envelope

from test_reporting_events import ESTATE, complaint_received, dead_letters, rpc
from test_reporting_kpis_broker import wait_for

pytestmark = pytest.mark.integration
DAY = "2026-11-24"
AT = "2026-11-24T04:00:00+00:00"


def event(event_type, tenant, **payload):
    return Envelope(event_type=event_type, tenant_id=tenant, occurred_at=AT, payload=payload).to_dict()


def quality_events(tenant, case_id):
    record = {"record_id": str(uuid.uuid4()), "case_id": case_id, "complaint_id": case_id, "reference": "R",
              "estate_code": ESTATE["code"], "cause": "staff_fault_with_loss", "loss_amount": 800}
    overdue, fine = str(uuid.uuid4()), str(uuid.uuid4())
    capa = {"estate_code": ESTATE["code"], "cause": "staff_fault_with_loss", "trigger": "nonconformity",
            "case_ids": [case_id], "owner": "u-1", "at": AT}
    return [
        event("nonconformity_decided", tenant, **record, status="approved", by="u-1", note="", at=AT),
        event("capa_case_added", tenant, capa_id=overdue, estate_code=ESTATE["code"], cause="x", case_id="c-9",
              at=AT),
        event("nonconformity_opened", tenant, **record, at=AT),
        event("capa_opened", tenant, capa_id=overdue, due_at="2026-11-29T04:00:00+00:00", **capa),
        event("capa_opened", tenant, capa_id=fine, due_at="2099-01-01T00:00:00+00:00", **capa),
    ]


def test_workflow_quality_events_reach_the_kpis(reporting, service_config):
    tenant, case_id = str(uuid.uuid4()), str(uuid.uuid4())
    dispatch = event_dispatcher(service_config)
    received = complaint_received(tenant)
    received["payload"]["estate"] = dict(ESTATE, units=250)
    with entrypoint_waiter(reporting, "on_complaint_received", timeout=20):
        dispatch("intake", "complaint_received", received)
    events = quality_events(tenant, case_id)
    for body in events + events:  # out of order, and redelivered
        dispatch("workflow", body["event_type"], body)
    poison = event("capa_checked", tenant, capa_id=str(uuid.uuid4()), estate_code="DEMO-RES", status="done",
                   due_at=AT, at=AT)
    dispatch("workflow", "capa_checked", poison)

    with rpc(service_config, tenant) as reporting_rpc:
        k = wait_for(lambda: reporting_rpc.kpis(DAY, DAY),
                     lambda k: k["nonconformity"]["approved"] == 1 and k["nonconformity"]["opened"] == 1
                     and k["capa_open"] == 2)
        assert k["nonconformity"] == {"opened": 1, "approved": 1, "rejected": 0}
        assert k["nonconformity_records"] == 1 and (k["capa_open"], k["capa_overdue"]) == (2, 1)
        assert k["capa"]["opened"] == 2 and k["capa"]["closed"] == 0
        assert k["units"] == 250 and k["per_1000_units"] == 4.0 and "per_1000_units" not in k["notes"]
        [row] = reporting_rpc.league_table(DAY, DAY)["rows"]
        assert (row["per_1000_units"], row["nonconformity_records"], row["capa_open"], row["capa_overdue"]) == (
            4.0, 1, 2, 1)
    (letter,) = dead_letters(service_config["AMQP_URI"], 1)
    assert letter.payload["event_id"] == poison["event_id"] and "status" in letter.headers["x-estatedesk-reason"]
    assert letter.headers["x-original-exchange"] == "workflow.events"
