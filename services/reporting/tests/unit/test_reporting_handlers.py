"""Handlers against a migrated temp SQLite: idempotent counting, upserts, tenant isolation, validation."""
import datetime as dt
import uuid

import pytest

from estatedesk_common.errors import ValidationFailed

from reporting import handlers, repository
from reporting.domain.facts import COUNTS
from reporting.tables import estate_names, reliability


def _daily(engine, tenant_id):
    with engine.connect() as conn:
        return repository.daily_rows(conn, tenant_id)


def test_same_event_twice_counts_once(engine, new_uow, make_event):
    event = make_event()
    assert handlers.record_complaint_received(event, new_uow()) is True
    assert handlers.record_complaint_received(event, new_uow()) is False
    assert [r["received"] for r in _daily(engine, event.tenant_id)] == [1]


def test_upsert_increments_one_daily_row(engine, new_uow, make_event):
    tenant = str(uuid.uuid4())
    for _ in range(3):
        handlers.record_complaint_received(make_event(tenant), new_uow())
    rows = _daily(engine, tenant)
    assert len(rows) == 1
    assert rows[0] == {"tenant_id": tenant, "day": dt.date(2026, 11, 24), "estate_code": "DEMO-RES",
                       "channel": "hotline", "category": "", "severity": "",
                       **dict.fromkeys(COUNTS, 0), "received": 3}


def test_a_complaint_resent_under_a_new_event_id_counts_once(engine, new_uow, make_event):
    first = make_event()
    again = make_event(first.tenant_id, **{"complaint_id": first.payload["complaint_id"]})
    assert handlers.record_complaint_received(first, new_uow()) is True
    assert handlers.record_complaint_received(again, new_uow()) is False
    assert [r["received"] for r in _daily(engine, first.tenant_id)] == [1]


def test_rollup_is_keyed_by_local_day_category_and_severity(engine, new_uow, make_event):
    tenant = str(uuid.uuid4())
    for received_at, category in [("2026-11-24T15:59:00+00:00", "leak"), ("2026-11-24T16:01:00+00:00", "leak"),
                                  ("2026-11-24T16:02:00+00:00", None)]:
        handlers.record_complaint_received(make_event(tenant, received_at=received_at, category=category,
                                                      severity="high"), new_uow())
    keys = [(r["day"], r["category"], r["severity"], r["received"]) for r in _daily(engine, tenant)]
    assert keys == [(dt.date(2026, 11, 24), "leak", "high", 1), (dt.date(2026, 11, 25), "", "high", 1),
                    (dt.date(2026, 11, 25), "leak", "high", 1)]


def test_counts_by_estate_and_channel_within_inclusive_range(engine, new_uow, make_event):
    tenant = str(uuid.uuid4())
    office = {"code": "DEMO-OFFICE", "name": "环球金融中心", "kind": "office", "timezone": "Asia/Shanghai",
              "region": "EAST"}
    for received_at, channel, estate in [
        ("2026-11-01T01:00:00+00:00", "hotline", None), ("2026-11-01T02:00:00+00:00", "hotline", None),
        ("2026-11-30T15:00:00+00:00", "wechat", None), ("2026-11-15T03:00:00+00:00", "web", office),
        ("2026-11-30T16:30:00+00:00", "hotline", None),  # 2026-12-01 in Shanghai: outside November
        ("2026-10-31T17:00:00+00:00", "hotline", None),  # 2026-11-01 01:00 in Shanghai: inside
    ]:
        extra = {"estate": office} if estate else {}
        handlers.record_complaint_received(make_event(tenant, received_at=received_at, channel=channel, **extra),
                                           new_uow())
    result = handlers.complaint_counts(tenant, "2026-11-01", "2026-11-30", engine)
    assert result == {"total": 5, "rows": [
        {"estate": "DEMO-OFFICE", "estate_name": "环球金融中心", "channel": "web", "count": 1},
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "hotline", "count": 3},
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "wechat", "count": 1},
    ]}
    assert handlers.complaint_counts(tenant, None, None, engine)["total"] == 6
    assert handlers.complaint_counts(tenant, "2026-12-01", None, engine)["total"] == 1


def test_another_tenants_rows_are_invisible(engine, new_uow, make_event):
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    handlers.record_complaint_received(make_event(mine), new_uow())
    for _ in range(2):
        handlers.record_complaint_received(make_event(theirs, estate={
            "code": "DEMO-RES", "name": "别家的花园", "kind": "residential", "timezone": "Asia/Shanghai",
            "region": None}), new_uow())
    mine_counts = handlers.complaint_counts(mine, None, None, engine)
    assert mine_counts == {"total": 1, "rows": [
        {"estate": "DEMO-RES", "estate_name": "锦绣花园", "channel": "hotline", "count": 1}]}
    assert handlers.complaint_counts(theirs, None, None, engine)["rows"][0]["estate_name"] == "别家的花园"
    assert handlers.complaint_counts(str(uuid.uuid4()), None, None, engine) == {"total": 0, "rows": []}


def test_the_same_event_id_in_two_tenants_is_two_events(engine, new_uow, make_event):
    event_id = str(uuid.uuid4())
    a, b = make_event(event_id=event_id), make_event(event_id=event_id)
    assert handlers.record_complaint_received(a, new_uow()) is True
    assert handlers.record_complaint_received(b, new_uow()) is True


def test_an_older_event_does_not_overwrite_a_newer_estate_name(engine, new_uow, make_event):
    tenant = str(uuid.uuid4())
    estate = {"code": "DEMO-RES", "kind": "residential", "timezone": "Asia/Shanghai", "region": "EAST"}
    handlers.record_complaint_received(make_event(tenant, estate=estate | {"name": "新名字"},
                                                  received_at="2026-11-24T02:00:00+00:00"), new_uow())
    handlers.record_complaint_received(make_event(tenant, estate=estate | {"name": "旧名字"},
                                                  received_at="2026-11-20T02:00:00+00:00"), new_uow())
    with engine.connect() as conn:
        names = conn.execute(estate_names.select().where(estate_names.c.tenant_id == tenant)).mappings().all()
    assert [n["name"] for n in names] == ["新名字"]


def test_a_failed_unit_of_work_leaves_nothing_behind(engine, new_uow, make_event, monkeypatch):
    event = make_event()

    def boom(*_args):
        raise RuntimeError("disk full")

    monkeypatch.setattr(repository, "add_delta", boom)
    with pytest.raises(RuntimeError):
        handlers.record_complaint_received(event, new_uow())
    monkeypatch.undo()
    assert handlers.record_complaint_received(event, new_uow()) is True  # the inbox row was rolled back too
    assert [r["received"] for r in _daily(engine, event.tenant_id)] == [1]


@pytest.mark.parametrize("date_from, date_to, field", [
    ("2026-13-01", None, "from"), (None, "soon", "to"), ("2026-11-30", "2026-11-01", "from"),
    ("2025-01-01", "2026-01-02", "to"),
])
def test_bad_ranges_are_validation_failures(engine, date_from, date_to, field):
    with pytest.raises(ValidationFailed) as info:
        handlers.complaint_counts(str(uuid.uuid4()), date_from, date_to, engine)
    assert info.value.field == field
    assert info.value.to_dict()["details"] == {"field": field}


def test_the_inbox_alone_stops_a_redelivery(engine, new_uow, make_event):
    """Same event_id, different complaint (cannot happen with intake's outbox): the inbox must refuse it."""
    first = make_event()
    twin = make_event(first.tenant_id, event_id=first.event_id)
    assert handlers.record_complaint_received(first, new_uow()) is True
    assert handlers.record_complaint_received(twin, new_uow()) is False
    assert [r["received"] for r in _daily(engine, first.tenant_id)] == [1]
    with engine.connect() as conn:
        inbox = conn.execute(reliability.inbox.select()).mappings().all()
    assert [(r["tenant_id"], r["consumer"], r["event_id"]) for r in inbox] == [
        (first.tenant_id, "reporting.on_complaint_received", first.event_id)]
