"""While the delivery pass holds its claim, the channels' own reads use the claim's connection (``notify.reads``):
on PostgreSQL, Kannel's delivery reports wait on the claimed rows' locks holding pooled connections, and a second
connection for the SMS throttle or a tenant's mail server could not be had (the pass stalled 30 s at a time)."""
import datetime as dt

import pytest
from sqlalchemy import create_engine

from notify import reads
from notify.opt_outs import SmsThrottle
from notify.tables import metadata
from notify.tenant_smtp import TenantRoutes


class NoPool:
    """An engine whose pool is exhausted."""

    def connect(self):
        raise AssertionError("asked the pool for a second connection")


@pytest.fixture
def conn():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.connect() as conn:
        yield conn
    engine.dispose()


def test_inside_the_claim_the_throttle_and_the_mail_routes_read_on_the_claims_connection(conn):
    now = dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)
    with reads.claimed(conn):
        assert SmsThrottle(NoPool(), 3).recent("13812345678", now) == []
        assert TenantRoutes(NoPool(), policy=None)(["t1"]) == {}
    with pytest.raises(AssertionError, match="second connection"):  # outside the claim: a connection of its own
        SmsThrottle(NoPool(), 3).recent("13812345678", now)


def test_the_claim_is_per_green_thread():
    import eventlet

    seen = []
    with reads.claimed("claim of this pass"):
        eventlet.spawn(lambda: seen.append(reads._claim.get())).wait()
    assert seen == [None], "another worker's reads never borrow this pass's transaction"
