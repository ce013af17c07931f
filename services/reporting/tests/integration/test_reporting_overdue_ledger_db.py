"""The overdue ledger (revision r19o1v2e3r4d) on a real database (SQLite, or PostgreSQL via TEST_DATABASE_URL):
events handled by concurrent workers while the merger's advance moves the watermark leave a ledger equal to the
one ``rebuild`` computes from the facts, and "overdue now" of the league table and the KPIs (ledger months, edge
days, the deadlines between the watermark and now) equals the count straight from the facts, for a clock before,
at and after the watermark, over whole quarters, rolling ranges and single days."""
import datetime as dt
import random
import uuid

import pytest
from sqlalchemy import select

from estatedesk_common.envelope import Envelope
from estatedesk_common.testing import drain
from estatedesk_common.unit_of_work import UnitOfWork

from reporting import handlers, queries, repository, rollup_merge
from reporting.domain import quality
from reporting.domain.scope import Scope
from reporting.rebuild import rebuild
from reporting.tables import overdue_monthly, reliability

pytestmark = pytest.mark.integration
UTC = dt.timezone.utc
START = dt.datetime(2026, 9, 20, 2, tzinfo=UTC)  # receipts from here, one every ~26 hours, into late November
ESTATES = ("OD-A", "OD-B", "OD-C")
WATERMARK = dt.datetime(2026, 11, 30, tzinfo=UTC)  # where the fixture leaves it


class Clock:
    def now(self):
        return dt.datetime(2026, 12, 1, tzinfo=UTC)


def _iso(at):
    return at.isoformat()


def _complaint(tenant, i, rng):
    """The events of complaint ``i``: received, opened (first contact due in 1 hour, resolution in 3 days) and,
    at random, its acknowledgement, contact, resolution, cancellation, or a pause moving its resolution deadline."""
    cid, at = str(uuid.uuid4()), START + dt.timedelta(hours=26 * i)
    code = ESTATES[i % 3]
    snap = dict(complaint_id=cid, reference=f"OD{i}", channel="hotline", category="greening", severity="minor",
                received_at=_iso(at), estate={"code": code, "name": code, "kind": "residential",
                                              "timezone": "Asia/Shanghai", "units": 100})
    fc_due, res_due = at + dt.timedelta(hours=1), at + dt.timedelta(days=3)
    opened = dict(snap, case_id=cid, opened_at=_iso(at), deadlines=[
        {"stage": "first_contact", "due_at": _iso(fc_due)}, {"stage": "resolution", "due_at": _iso(res_due)}])
    out = [("complaint_received", snap), ("case_opened", opened)]
    roll = rng.random()
    if roll < 0.3:
        out.append(("case_contacted", {"complaint_id": cid, "case_id": cid,
                                       "at": _iso(at + dt.timedelta(minutes=rng.choice((20, 200))))}))
    elif roll < 0.45:
        out.append(("notification_sent", {"message_id": str(uuid.uuid4()), "complaint_id": cid, "case_id": cid,
                                          "kind": "acknowledgement", "channel": "email", "attempts": 1,
                                          "sent_at": _iso(at + dt.timedelta(minutes=5))}))
    roll = rng.random()
    if roll < 0.35:
        out.append(("case_resolved", {"complaint_id": cid, "case_id": cid,
                                      "at": _iso(at + dt.timedelta(days=rng.choice((1, 6))))}))
    elif roll < 0.45:
        out.append(("case_cancelled", {"complaint_id": cid, "case_id": cid, "at": _iso(at + dt.timedelta(days=2))}))
    elif roll < 0.6:
        out.append(("case_resumed", {"complaint_id": cid, "case_id": cid, "deadlines": [
            {"stage": "resolution", "due_at": _iso(res_due), "new_due_at": _iso(res_due + dt.timedelta(days=9))}]}))
    return [Envelope(event_type=t, tenant_id=tenant, payload=p) for t, p in out]


HANDLER = {"complaint_received": handlers.record_complaint_received, "case_opened": handlers.record_case_opened,
           "notification_sent": handlers.record_notification}


def _handle(engine, env):
    HANDLER.get(env.event_type, handlers.record_case_event)(env, UnitOfWork(engine, reliability, Clock()))


def _ledger(engine, tenant):
    with engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(
            select(overdue_monthly.c.stage, overdue_monthly.c.month, overdue_monthly.c.estate_code,
                   overdue_monthly.c.cases).where(overdue_monthly.c.tenant_id == tenant, overdue_monthly.c.cases != 0)))


def _deliver(engine, events, steps):
    """``events`` by 3 workers while a fourth moves the watermark through ``steps`` (a ``merge_backlog`` pass each,
    as the merger loop runs it)."""
    def advance():
        for at in steps:
            rollup_merge.merge_backlog(engine, now=at)
    assert drain(events, lambda env: _handle(engine, env), 3, alongside=[advance]) == []


@pytest.fixture
def loaded(engine):
    """60 complaints' events in random order: the first half while the watermark moves from September to
    2026-11-25, the rest (closing cases the ledger holds, opening cases already past their deadline: the handlers'
    side of the ledger) while it moves on to 2026-11-30."""
    tenant, rng = str(uuid.uuid4()), random.Random(19)
    events = [env for i in range(60) for env in _complaint(tenant, i, rng)]
    rng.shuffle(events)
    with engine.begin() as conn:
        repository.set_watermark(conn, dt.datetime(2026, 9, 1, tzinfo=UTC))
    day = dt.timedelta(days=1)
    _deliver(engine, events[:len(events) // 2],
             [dt.datetime(2026, 9, 15, tzinfo=UTC) + k * 1.5 * day for k in range(48)] + [WATERMARK - 5 * day])
    with engine.connect() as conn:
        assert queries.watermark(conn) == WATERMARK - 5 * day
    _deliver(engine, events[len(events) // 2:],
             [WATERMARK - 5 * day + k * dt.timedelta(hours=6) for k in range(1, 21)])
    rollup_merge.merge_backlog(engine, now=WATERMARK)
    with engine.connect() as conn:
        assert queries.watermark(conn) == WATERMARK
    return tenant


def test_the_ledger_kept_by_events_and_advances_equals_rebuild(engine, loaded):
    kept = _ledger(engine, loaded)
    assert kept and {stage for stage, *_ in kept} == {"first_contact", "resolution"}
    rebuild(engine, progress=False)
    assert _ledger(engine, loaded) == kept


@pytest.mark.parametrize("now", ["2026-11-21T09:30:00+00:00", "2026-11-30T00:00:00+00:00",
                                 "2026-12-03T12:00:00+00:00"], ids=["before-watermark", "at", "after"])
@pytest.mark.parametrize("period", [("2026-10-01", "2026-12-31"), ("2026-09-24", "2026-11-22"),
                                    ("2026-11-03", "2026-11-03"), ("2026-08-01", "2026-10-14")],
                         ids=["quarter", "rolling", "one-day", "month-and-days"])
def test_overdue_now_equals_the_count_from_the_facts(engine, loaded, now, period):
    now = dt.datetime.fromisoformat(now)
    start, end = (dt.date.fromisoformat(d) for d in period)
    everyone, two = Scope(None), Scope(frozenset(ESTATES[:2]))
    earlier = (start - (end - start) - dt.timedelta(days=1), start - dt.timedelta(days=1))
    with engine.connect() as conn:
        def facts(stage, lo=start, hi=end, scope=everyone, by_estate=False):
            return queries.overdue(conn, loaded, lo, hi, scope, now, by_estate=by_estate, stage=stage)

        for scope in (everyone, two):
            context = queries.kpi_context(conn, loaded, start, end, scope, now, quality.period_bounds(start, end))
            assert (context["overdue"], context["resolution_overdue"]) == (
                facts("first_contact", scope=scope), facts("resolution", scope=scope))
            rows = queries.league(conn, loaded, [(start, end), earlier], scope, None, now,
                                  quality.period_bounds(start, end))
            expected = [facts("first_contact", scope=scope, by_estate=True),
                        facts("first_contact", *earlier, scope=scope, by_estate=True),
                        facts("resolution", scope=scope, by_estate=True)]
            assert {r["estate_code"]: r["overdue"] for r in rows} == {
                code: [part.get(code, 0) for part in expected] for code in sorted(scope.estates or ESTATES)}


def test_a_watermark_that_moves_after_it_was_read_is_read_again(engine, loaded, monkeypatch):
    """The statement reports whether the watermark is still the one read; if not, the caller reads it again."""
    now, start, end = dt.datetime(2026, 12, 3, tzinfo=UTC), dt.date(2026, 10, 1), dt.date(2026, 12, 31)
    reads = []
    real = queries.watermark

    def stale_first(conn):  # the first read is a watermark an advance has since moved on from
        reads.append(1)
        return dt.datetime(2026, 11, 1, tzinfo=UTC) if len(reads) == 1 else real(conn)
    monkeypatch.setattr(queries.league_table, "watermark", stale_first)  # where kpi_context / league look it up
    with engine.connect() as conn:
        context = queries.kpi_context(conn, loaded, start, end, Scope(None), now, quality.period_bounds(start, end))
        expected = queries.overdue(conn, loaded, start, end, Scope(None), now, stage="first_contact")
    assert len(reads) == 2 and context["overdue"] == expected
