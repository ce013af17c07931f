"""The event archive and ``rebuild --from-events`` on a temp SQLite: every event stored once, the replay table in
step with the service's handlers, and a rebuild from the archive giving back the same read models and KPIs."""
import datetime as dt
import uuid
from types import SimpleNamespace
from unittest import mock

import pytest
from sqlalchemy import func, select

from estatedesk_common.envelope import Envelope
from estatedesk_common.events import ArchiveEventHandler, ReliableEventHandler
from estatedesk_common.retention import Pruner, prune_older

from reporting import archive, cli, handlers, reports
from reporting.domain.scope import Scope
from reporting.service import ReportingService
from reporting.tables import (complaint_daily, complaint_facts, estate_names, event_archive, quality_capa,
                             quality_nonconformities, reliability)

NOW = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.timezone.utc)
DAY = "2026-11-24"


def _entrypoints(cls):
    for name in dir(ReportingService):
        for ext in getattr(getattr(ReportingService, name), "nameko_entrypoints", ()):
            if type(ext) is cls:
                yield name, ext


def test_the_replay_table_is_exactly_the_services_event_handlers():
    """Each @reliable_event_handler method: its (source, event type) is in REPLAY, it calls REPLAY's function,
    its consumer name is ``archive.consumer_of``; and REPLAY has nothing more."""
    seen = set()
    for name, ext in _entrypoints(ReliableEventHandler):
        key = (ext.source_service, ext.event_type)
        seen.add(key)
        assert key in archive.REPLAY, f"{name}: {key} missing from archive.REPLAY"
        assert tuple(ext.versions) == archive.VERSIONS
        assert f"reporting.{name}" == archive.consumer_of(ext.event_type)
        calls = {}
        with mock.patch.multiple(handlers, **{fn.__name__: mock.Mock(side_effect=lambda *a, _n=fn.__name__:
                                                                      calls.setdefault("fn", _n))
                                              for fn in set(archive.REPLAY.values())}):
            getattr(ReportingService, name)(SimpleNamespace(db=mock.Mock()), mock.sentinel.envelope)
        assert calls == {"fn": archive.REPLAY[key].__name__}, name
    assert seen == set(archive.REPLAY)


def test_one_archive_handler_per_source_service():
    assert sorted(ext.source_service for _, ext in _entrypoints(ArchiveEventHandler)) == sorted(archive.SOURCES)


def _count(engine, table):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


def test_an_event_is_archived_once_with_its_envelope(engine, new_uow):
    env = Envelope(event_type="capa_opened", tenant_id=str(uuid.uuid4()), payload={"capa_id": "c1"},
                   schema_version=2, occurred_at="2026-11-24T10:00:00+08:00")
    assert archive.archive_event(env, "workflow", new_uow()) is True
    assert archive.archive_event(env, "workflow", new_uow()) is False  # redelivered
    with engine.connect() as conn:
        (row,) = conn.execute(select(event_archive)).mappings().all()
    assert (row["source"], row["event_type"], row["schema_version"]) == ("workflow", "capa_opened", 2)
    assert row["occurred_at"] == dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
    assert Envelope.from_dict(row["body"], "capa_opened", (2,)) == env


def _case(tenant, cid, event_type, occurred_at, **payload):
    return Envelope(event_type=event_type, tenant_id=tenant, occurred_at=occurred_at,
                    payload={"case_id": cid, "complaint_id": cid, "reference": "R", "estate_code": "DEMO-RES",
                             **payload})


def _history(events, tenant):
    """(source, envelope, live handler) for two cases, a nonconformity record and its CAPA, an event nothing in
    reporting consumes, and a poison one."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    deadlines = [{"stage": "first_contact", "due_at": "2026-11-24T03:00:00+00:00"},
                 {"stage": "resolution", "due_at": "2026-11-27T09:30:00+00:00"}]
    bad = events.received(tenant)
    bad.payload["estate"] = dict(bad.payload["estate"], timezone="Mars/Olympus")
    return [
        ("workflow", _case(tenant, a, "case_resolved", "2026-11-26T02:00:00+00:00", at="2026-11-26T02:00:00+00:00",
                           handling_working_hours=10.0, nonconformity_required=False), handlers.record_case_event),
        ("intake", events.received(tenant, complaint_id=a), handlers.record_complaint_received),
        ("intake", events.received(tenant, complaint_id=b, channel="web"), handlers.record_complaint_received),
        ("workflow", events.opened(tenant, a, deadlines=deadlines), handlers.record_case_opened),
        ("workflow", events.opened(tenant, b, deadlines=deadlines), handlers.record_case_opened),
        ("notify", events.notification(tenant, b), handlers.record_notification),
        ("intake", events.reclassified(tenant, b, "facilities", "minor"), handlers.record_complaint_reclassified),
        ("workflow", _case(tenant, a, "case_contacted", "2026-11-24T02:30:00+00:00", at="2026-11-24T02:30:00+00:00"),
         handlers.record_case_event),
        ("notify", _case(tenant, a, "callback_completed", "2026-11-26T05:00:00+00:00", satisfaction="satisfied"),
         handlers.record_case_event),
        ("workflow", _case(tenant, b, "case_escalated", "2026-11-28T00:00:00+00:00", level=2),
         handlers.record_case_event),
        ("workflow", Envelope(event_type="nonconformity_opened", tenant_id=tenant, payload={
            "record_id": "n1", "case_id": a, "complaint_id": a, "estate_code": "DEMO-RES", "cause": "other",
            "loss_amount": 800, "at": "2026-11-24T04:00:00+00:00"}), handlers.record_quality_event),
        ("workflow", Envelope(event_type="capa_opened", tenant_id=tenant, payload={
            "capa_id": "c1", "estate_code": "DEMO-RES", "cause": "other", "trigger": "nonconformity",
            "case_ids": [a], "owner": "m", "due_at": "2026-12-24T04:00:00+00:00",
            "at": "2026-11-24T04:00:00+00:00"}), handlers.record_quality_event),
        ("workflow", Envelope(event_type="routing_rules_saved", tenant_id=tenant, payload={"scope": "x"}), None),
        ("intake", bad, handlers.record_complaint_received),
    ]


def _read_models(engine):
    """Facts, estates and the non-empty rollup rows (the live deltas may leave a bucket at zero)."""
    with engine.connect() as conn:
        out = {t.name: sorted(tuple(r) for r in conn.execute(select(t)))
               for t in (complaint_facts, estate_names, quality_nonconformities, quality_capa)}
        out["daily"] = sorted(tuple(r) for r in conn.execute(select(complaint_daily)
                                                              .where(complaint_daily.c.received != 0)))
    return out


def test_rebuild_from_events_gives_back_the_same_read_models_and_kpis(engine, new_uow, events):
    tenant = str(uuid.uuid4())
    for source, env, live in _history(events, tenant):
        archive.archive_event(env, source, new_uow())
        if live is not None:
            try:
                live(env, new_uow())
            except Exception:
                pass  # dead-lettered when it arrived
    before, kpis = _read_models(engine), reports.kpis(tenant, Scope(None), engine, NOW, DAY, DAY)
    assert kpis["received"] == 2 and kpis["escalated"] == 1 and kpis["reclassified"] == 1
    assert kpis["nonconformity_records"] == 1 and kpis["capa_open"] == 1 and kpis["capa_overdue"] == 0

    with engine.begin() as conn:  # damage: a fact lost, a rollup row off
        conn.execute(complaint_facts.delete().where(complaint_facts.c.channel == "web"))
        conn.execute(complaint_daily.update().values(received=99))
        conn.execute(quality_capa.delete())
    summary = archive.rebuild_from_events(engine, progress=False)

    assert _read_models(engine) == before
    assert reports.kpis(tenant, Scope(None), engine, NOW, DAY, DAY) == kpis
    assert summary["events"] == 14 and summary["facts"] == 2
    assert summary["skipped"] == {"routing_rules_saved": 1}
    assert summary["failed"] == {"complaint_received": 1}
    assert summary["replayed"]["complaint_received"] == 2 and sum(summary["replayed"].values()) == 12
    assert summary["replayed"]["capa_opened"] == 1
    # the claims are made again: a redelivery after the rebuild changes nothing
    env = events.received(tenant)
    archive.archive_event(env, "intake", new_uow())
    handlers.record_complaint_received(env, new_uow())
    archive.rebuild_from_events(engine, progress=False)
    assert handlers.record_complaint_received(env, new_uow()) is False
    text = cli.events_summary(summary)
    assert "replayed 12 of 14 archived events" in text and "routing_rules_saved" in text


def test_a_rebuild_leaves_other_consumers_claims_and_subscriptions_alone(engine, new_uow):
    env = Envelope(event_type="thing_happened", tenant_id=str(uuid.uuid4()), payload={})
    with new_uow() as uow:
        uow.claim(env, "reporting.something_else")
        uow.commit()
    archive.rebuild_from_events(engine, progress=False)
    assert _count(engine, reliability.inbox) == 1


def test_archive_retention_prunes_by_occurred_at(engine, new_uow):
    old = Envelope(event_type="x_happened", tenant_id=str(uuid.uuid4()), payload={},
                   occurred_at="2026-01-01T00:00:00+00:00")
    new = Envelope(event_type="x_happened", tenant_id=old.tenant_id, payload={},
                   occurred_at="2026-11-01T00:00:00+00:00")
    for env in (old, new):
        archive.archive_event(env, "workflow", new_uow())
    assert prune_older(engine, event_archive.c.occurred_at, NOW - dt.timedelta(days=90), batch=1) == 1
    with engine.connect() as conn:
        assert conn.execute(select(event_archive.c.event_id)).scalars().all() == [new.event_id]


@pytest.mark.parametrize("days,left", [(0, 2), (90, 1)])
def test_the_relays_pruner_applies_event_archive_retention_days(engine, new_uow, clock_at, days, left):
    """What ``Database(retention=...)`` hands the relay's pruner; 0 (the default) keeps everything."""
    for at in ("2026-01-01T00:00:00+00:00", "2026-11-01T00:00:00+00:00"):
        archive.archive_event(Envelope(event_type="x_happened", tenant_id=str(uuid.uuid4()), payload={},
                                       occurred_at=at), "intake", new_uow())
    pruner = Pruner(engine, reliability, "reporting", clock_at(NOW), 7, 90,
                    extra=[("event_archive", event_archive.c.occurred_at, days)])
    pruner._next = 0
    pruner.maybe_prune()
    assert _count(engine, event_archive) == left


def test_rebuild_refuses_unknown_options(capsys):
    assert cli.main(["rebuild", "--from-event"]) == 2
    assert "usage" in capsys.readouterr().err
