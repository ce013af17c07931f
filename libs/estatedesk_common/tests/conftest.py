import datetime as dt

import pytest
from sqlalchemy import MetaData

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.unit_of_work import ReliabilityTables


class FakeClock:
    def __init__(self, now=None):
        self._now = now or dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)

    def now(self):
        return self._now

    def advance(self, **kw):
        self._now += dt.timedelta(**kw)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def store(tmp_path):
    """A SQLite database with just the outbox and inbox tables."""
    metadata = MetaData()
    tables = ReliabilityTables(metadata)
    engine = make_engine(DbTarget(f"sqlite:///{tmp_path}/lib.sqlite3", None))
    metadata.create_all(engine)
    yield engine, tables
    engine.dispose()
