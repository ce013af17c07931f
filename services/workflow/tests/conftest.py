import datetime as dt
import os

import pytest
from hypothesis import settings

from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db

# no .hypothesis/ example database in the working tree: every run draws fresh examples
settings.register_profile("estatedesk", database=None)
settings.load_profile("estatedesk")

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "migrations"))


class FixedClock:
    def __init__(self, now=None):
        self._now = now or dt.datetime(2026, 11, 24, 2, 0, tzinfo=dt.timezone.utc)

    def now(self):
        return self._now


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def workflow_db():
    with migrated_test_db("workflow", MIGRATIONS) as target:
        yield target


@pytest.fixture
def workflow_engine(workflow_db):
    engine = make_engine(workflow_db)
    yield engine
    engine.dispose()
