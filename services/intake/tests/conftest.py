import datetime as dt
import os

import pytest

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations"))


class FixedClock:
    def __init__(self, now=None):
        self._now = now or dt.datetime(2026, 11, 24, 16, 30, tzinfo=dt.timezone.utc)  # 00:30 next day in Shanghai

    def now(self):
        return self._now


@pytest.fixture
def intake_db():
    with migrated_test_db("intake", MIGRATIONS) as target:
        yield target


@pytest.fixture
def intake_engine(intake_db):
    engine = make_engine(intake_db)
    yield engine
    engine.dispose()


@pytest.fixture
def clock():
    return FixedClock()
