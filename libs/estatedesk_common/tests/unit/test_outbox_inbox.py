"""Outbox relay and inbox on a real SQLite file, with an in-memory publisher (no broker)."""
from sqlalchemy import select

from estatedesk_common import outbox
from estatedesk_common.envelope import Envelope
from estatedesk_common.unit_of_work import UnitOfWork

TENANT = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"


def write_events(engine, tables, clock, n, commit=True):
    with UnitOfWork(engine, tables, clock, request_id="req-1") as uow:
        envs = [uow.publish("thing_happened", TENANT, {"n": i}) for i in range(n)]
        if commit:
            uow.commit()
    return envs


def test_events_are_only_stored_when_the_transaction_commits(store, clock):
    engine, tables = store
    write_events(engine, tables, clock, 2, commit=False)
    assert outbox.backlog(engine, tables.outbox) == 0
    write_events(engine, tables, clock, 2)
    assert outbox.backlog(engine, tables.outbox) == 2


def test_commit_wakes_the_relay_only_when_events_were_written(store, clock):
    engine, tables = store
    woken = []
    with UnitOfWork(engine, tables, clock, on_events=lambda: woken.append(1)) as uow:
        uow.commit()
    with UnitOfWork(engine, tables, clock, on_events=lambda: woken.append(1)) as uow:
        uow.publish("x", TENANT, {})
        uow.commit()
    assert woken == [1]


def test_relay_publishes_in_order_and_marks_sent(store, clock):
    engine, tables = store
    envs = write_events(engine, tables, clock, 3)
    published = []
    assert outbox.relay_once(engine, tables.outbox, published.append, now=clock.now) == (3, 0)
    assert [b["event_id"] for b in published] == [e.event_id for e in envs]
    assert published[0]["request_id"] == "req-1"
    assert Envelope.from_dict(published[0], "thing_happened").payload == {"n": 0}
    assert outbox.relay_once(engine, tables.outbox, published.append, now=clock.now) == (0, 0)
    assert outbox.backlog(engine, tables.outbox) == 0


def test_failed_publish_keeps_the_row_and_backs_off(store, clock):
    engine, tables = store
    write_events(engine, tables, clock, 1)

    def broker_down(_body):
        raise ConnectionRefusedError("broker down")

    assert outbox.relay_once(engine, tables.outbox, broker_down, now=clock.now) == (0, 1)
    with engine.connect() as conn:
        row = conn.execute(select(tables.outbox)).mappings().one()
    assert row["attempts"] == 1 and "broker down" in row["last_error"] and row["sent_at"] is None
    published = []
    assert outbox.relay_once(engine, tables.outbox, published.append, now=clock.now) == (0, 0)  # backing off
    clock.advance(seconds=3)
    assert outbox.relay_once(engine, tables.outbox, published.append, now=clock.now) == (1, 0)
    assert len(published) == 1


def test_one_unroutable_event_does_not_block_the_others(store, clock):
    engine, tables = store
    envs = write_events(engine, tables, clock, 3)
    published = []

    def publish(body):
        if body["event_id"] == envs[0].event_id:
            raise RuntimeError("unroutable")
        published.append(body["event_id"])

    assert outbox.relay_once(engine, tables.outbox, publish, now=clock.now) == (2, 1)
    assert published == [envs[1].event_id, envs[2].event_id]


def test_backoff_grows_and_is_capped():
    assert [outbox.backoff(n).total_seconds() for n in (1, 2, 3, 10)] == [2, 4, 8, 60]


def test_inbox_claims_each_event_once_per_consumer(store, clock):
    engine, tables = store
    env = Envelope("thing_happened", TENANT, {})
    with UnitOfWork(engine, tables, clock) as uow:
        assert uow.claim(env, "svc.a") is True
        uow.commit()
    with UnitOfWork(engine, tables, clock) as uow:
        assert uow.claim(env, "svc.a") is False
        assert uow.claim(env, "svc.b") is True
        uow.commit()


def test_inbox_claim_rolls_back_with_the_effect(store, clock):
    engine, tables = store
    env = Envelope("thing_happened", TENANT, {})
    with UnitOfWork(engine, tables, clock) as uow:
        assert uow.claim(env, "svc.a")
        # handler fails before commit
    with UnitOfWork(engine, tables, clock) as uow:
        assert uow.claim(env, "svc.a") is True


class FakeBatchPublisher:
    """Like publishing.ConfirmedPublisher: one call per batch, an error (or None) per envelope."""

    def __init__(self, fail_types=()):
        self.batches, self.fail_types = [], set(fail_types)

    def publish_batch(self, bodies):
        self.batches.append([b["event_id"] for b in bodies])
        return ["unroutable" if b["event_type"] in self.fail_types else None for b in bodies]


def test_batch_publisher_gets_one_call_per_batch_and_failures_stay_queued(store, clock):
    engine, tables = store
    envs = write_events(engine, tables, clock, 3)
    with UnitOfWork(engine, tables, clock) as uow:
        uow.publish("nobody_listens", TENANT, {})
        uow.commit()
    publisher = FakeBatchPublisher(fail_types={"nobody_listens"})
    assert outbox.relay_once(engine, tables.outbox, publisher, batch=10, now=clock.now) == (3, 1)
    assert publisher.batches == [[e.event_id for e in envs] + [publisher.batches[0][-1]]]
    assert outbox.backlog(engine, tables.outbox) == 1
    assert outbox.relay_once(engine, tables.outbox, publisher, batch=10, now=clock.now) == (0, 0)  # backing off
