"""Integration fixtures: a migrated database (temp SQLite, or a fresh schema in TEST_DATABASE_URL) and a running
reporting container on nameko's per-test RabbitMQ vhost (``rabbit_config``, ``container_factory``).

Run with nameko's broker options, e.g.
``pytest -m integration services/reporting --amqp-uri amqp://guest:guest@127.0.0.1:5673/
--rabbit-ctl-uri http://guest:guest@127.0.0.1:15673``.
"""
from __future__ import annotations

import os

import pytest

from estatedesk_common import testing
from estatedesk_common.db import make_engine
from estatedesk_common.testing import migrated_test_db

from reporting.service import ReportingService

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


@pytest.fixture
def db_target():
    with migrated_test_db("reporting", MIGRATIONS) as target:
        yield target


@pytest.fixture
def engine(db_target):
    eng = make_engine(db_target)
    yield eng
    eng.dispose()


@pytest.fixture
def service_config(rabbit_config, db_target):
    return testing.service_config(rabbit_config, db_target)


@pytest.fixture
def reporting(container_factory, service_config):
    container = container_factory(ReportingService, service_config)
    container.start()
    return container
