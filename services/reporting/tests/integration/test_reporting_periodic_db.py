"""Periodic reports on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL): made once per period with
the dashboard's figures, announced in the outbox, visible only to the tenant's managers."""
import datetime as dt
import uuid

import pytest
from sqlalchemy import insert, select

from estatedesk_common.unit_of_work import UnitOfWork
from reporting import periodic_reports as pr
from reporting.tables import estate_names, reliability

pytestmark = pytest.mark.integration
HQ = [["head_office", None]]


class Clock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now


def test_made_once_per_period_with_the_figures_and_announced(engine):
    tenant, other = str(uuid.uuid4()), str(uuid.uuid4())
    clock = Clock(dt.datetime(2026, 12, 3, 2, tzinfo=dt.timezone.utc))
    with engine.begin() as conn:
        conn.execute(insert(estate_names), [{"tenant_id": tenant, "estate_code": "DEMO-RES", "name": "阳光花园",
                                             "kind": "residential", "region": None, "units": None,
                                             "as_of": clock.now()}])
    uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    group = pr.subscribe({"kind": "monthly", "recipients": ["hq@demo.example"]}, tenant, "u1", HQ, uow())
    estate = pr.subscribe({"kind": "weekly", "estate": "DEMO-RES", "recipients": ["mgr@demo.example"],
                           "locale": "en"}, tenant, "u1", HQ, uow())
    with pytest.raises(pr.ValidationFailed) as err:
        pr.subscribe({"kind": "weekly", "estate": "NOPE", "recipients": ["a@b.cn"]}, tenant, "u1", HQ, uow())
    assert err.value.field == "estate"
    with pytest.raises(pr.Forbidden):
        pr.subscribe({"kind": "weekly", "recipients": ["a@b.cn"]}, tenant, "u1", [["agent", "DEMO-RES"]], uow())

    assert pr.make_due(engine, clock) == 2
    assert pr.make_due(engine, clock) == 0  # the same periods again: nothing
    runs = pr.list_runs(tenant, HQ, engine)
    assert {(r["from"], r["to"]) for r in runs} == {("2026-11-01", "2026-11-30"), ("2026-11-23", "2026-11-29")}
    page = pr.get_run(next(r["id"] for r in runs if r["from"] == "2026-11-01"), tenant, HQ, engine)
    assert page["subject"] == "集团月报（2026-11-01 至 2026-11-30）" and "受理投诉" in page["html"]
    with engine.connect() as conn:
        events = [r.body for r in conn.execute(select(reliability.outbox.c.body))]
    ready = {e["payload"]["subscription_id"]: e["payload"] for e in events if e["event_type"] == "report_ready"}
    assert ready[estate["id"]]["recipients"] == ["mgr@demo.example"] and ready[estate["id"]]["locale"] == "en"
    assert ready[estate["id"]]["subject"] == "阳光花园 weekly report (2026-11-23 to 2026-11-29)"

    again = pr.run_now(group["id"], tenant, HQ, engine, clock)
    assert again["new"] is False and again["from"] == "2026-11-01"
    assert pr.list_runs(other, HQ, engine) == [] and pr.list_subscriptions(other, HQ, engine) == []
    with pytest.raises(pr.NotFound):
        pr.get_run(runs[0]["id"], other, HQ, engine)
    with pytest.raises(pr.SubscriptionNotFound):
        pr.unsubscribe(group["id"], other, HQ, uow())
    assert pr.unsubscribe(group["id"], tenant, HQ, uow())["active"] is False
    assert [s["id"] for s in pr.list_subscriptions(tenant, HQ, engine)] == [estate["id"]]


def test_a_run_downloads_as_csv_and_xlsx_with_its_figures_and_trend(engine):
    import csv
    import io

    from openpyxl import load_workbook

    from estatedesk_common.envelope import Envelope
    from reporting import handlers

    tenant = str(uuid.uuid4())
    clock = Clock(dt.datetime(2026, 12, 3, 2, tzinfo=dt.timezone.utc))
    uow = lambda: UnitOfWork(engine, reliability, clock)  # noqa: E731
    estate = {"code": "DEMO-RES", "name": "=阳光花园", "kind": "residential", "timezone": "Asia/Shanghai"}
    for day in ("2026-11-02", "2026-11-02", "2026-11-20"):
        handlers.record_complaint_received(Envelope(event_type="complaint_received", tenant_id=tenant, payload={
            "complaint_id": str(uuid.uuid4()), "reference": "TS1", "estate": estate, "channel": "hotline",
            "received_at": f"{day}T02:00:00+00:00", "category": None, "severity": None}), uow())
    sub = pr.subscribe({"kind": "monthly", "recipients": ["hq@demo.example"]}, tenant, "u1", HQ, uow())
    run = pr.run_now(sub["id"], tenant, HQ, engine, clock)
    page = pr.get_run(run["id"], tenant, HQ, engine)
    assert 'id="chart-trend"' in page["html"] and 'id="chart-sla"' in page["html"]

    out = pr.export_run(run["id"], "csv", tenant, HQ, engine, clock.now())
    assert out["filename"] == "monthly_report_2026-11-01_2026-11-30.csv" and out["content"][:3] == b"\xef\xbb\xbf"
    rows = list(csv.reader(io.StringIO(out["content"].decode("utf-8-sig"))))
    assert rows[0] == ["集团月报（2026-11-01 至 2026-11-30）"] and ["投诉关键指标"] in rows and ["投诉趋势"] in rows
    assert ["received", "3", ""] in rows and ["2026-11-02", "2026-11-02", "2"] in rows
    assert ["2026-11-20", "2026-11-20", "1"] in rows
    assert any(r[2:3] == ["'=阳光花园"] for r in rows)  # formula injection defused in the league table

    book = load_workbook(io.BytesIO(pr.export_run(run["id"], "xlsx", tenant, HQ, engine, clock.now(), "en")["content"]))
    assert book.sheetnames == ["Complaint KPIs", "Estate league table", "Trend"]
    trend = list(book["Trend"].iter_rows(values_only=True))
    assert trend[0] == ("From", "To", "Received") and len(trend) == 31 and ("2026-11-02", "2026-11-02", 2) in trend
    league = list(book["Estate league table"].iter_rows(values_only=True))
    assert league[1][2] == "=阳光花园" and book["Estate league table"].cell(2, 3).data_type == "s"

    with pytest.raises(pr.ValidationFailed):
        pr.export_run(run["id"], "pdf", tenant, HQ, engine, clock.now())
    with pytest.raises(pr.NotFound):
        pr.export_run(run["id"], "csv", str(uuid.uuid4()), HQ, engine, clock.now())
    with pytest.raises(pr.Forbidden):
        pr.export_run(run["id"], "csv", tenant, [["site_manager", "DEMO-RES"]], engine, clock.now())
