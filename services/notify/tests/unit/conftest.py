"""Unit-test fixtures: a throwaway migrated SQLite database and units of work on a fake clock."""
import os

import pytest

from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.migrate import upgrade
from estatedesk_common.unit_of_work import UnitOfWork
from notify.tables import reliability

MIGRATIONS = os.path.join(os.path.dirname(__file__), "..", "..", "migrations")


@pytest.fixture
def engine(tmp_path):
    target = DbTarget(f"sqlite:///{tmp_path}/notify.sqlite3", None)
    upgrade("notify", MIGRATIONS, target)
    engine = make_engine(target)
    yield engine
    engine.dispose()


@pytest.fixture
def new_uow(engine, fake_clock):
    return lambda: UnitOfWork(engine, reliability, fake_clock)
