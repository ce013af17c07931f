"""Integration fixtures: a migrated database (temp SQLite, or a fresh schema in TEST_DATABASE_URL) and a running
reporting container on nameko's per-test RabbitMQ vhost (``rabbit_config``, ``container_factory``).

Run with nameko's broker options, e.g.
``pytest -m integration services/reporting --amqp-uri amqp://guest:guest@127.0.0.1:5673/
--rabbit-ctl-uri http://guest:guest@127.0.0.1:15673``.
"""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

import estatedesk_common.dependencies
import estatedesk_common.migrate
from estatedesk_common.config import DbTarget
from estatedesk_common.db import make_engine
from estatedesk_common.migrate import upgrade

from reporting.service import ReportingService

MIGRATIONS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "migrations"))


def psycopg2_url(url: str) -> str:
    """SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3, which is not installed; we ship psycopg2."""
    for bare in ("postgres://", "postgresql://"):
        if url.startswith(bare):
            return "postgresql+psycopg2://" + url[len(bare):]
    return url


@pytest.fixture
def db_target(tmp_path):
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        target = DbTarget(f"sqlite:///{tmp_path}/reporting.sqlite3", None)
        upgrade("reporting", MIGRATIONS, target)
        yield target
        return
    url = psycopg2_url(url)
    target = DbTarget(url, f"reporting_test_{uuid.uuid4().hex[:10]}")
    with pytest.MonkeyPatch.context() as mp:
        # estatedesk_common.migrate asks make_engine for NullPool, which make_engine rejects on Postgres
        # (it adds pool_size/max_overflow): migrate with the default pool until that is fixed.
        mp.setattr(estatedesk_common.migrate, "make_engine", lambda t, **_kw: make_engine(t))
        upgrade("reporting", MIGRATIONS, target)
    yield target
    engine = make_engine(DbTarget(url, None))
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{target.schema}" CASCADE'))
    engine.dispose()


@pytest.fixture
def engine(db_target):
    eng = make_engine(db_target)
    yield eng
    eng.dispose()


@pytest.fixture
def service_config(rabbit_config, db_target, monkeypatch):
    if db_target.schema:
        # Database() always puts a Postgres package in the schema named after it; point it at this run's schema.
        monkeypatch.setattr(estatedesk_common.dependencies, "db_target", lambda package, env=None: db_target)
    return {"AMQP_URI": rabbit_config["AMQP_URI"], "DATABASE_URL": db_target.url, "METRICS_PORT": 0}


@pytest.fixture
def reporting(container_factory, service_config):
    container = container_factory(ReportingService, service_config)
    container.start()
    return container
