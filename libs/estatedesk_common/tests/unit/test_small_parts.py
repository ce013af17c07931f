import datetime as dt
import json

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, insert, select

from estatedesk_common import errors, i18n
from estatedesk_common.config import db_target
from estatedesk_common.db import UTCDateTime, make_engine
from estatedesk_common.tenant import TenantContext


def test_sqlite_by_default_one_file_per_package(tmp_path):
    t = db_target("intake", {"ESTATEDESK_VAR": str(tmp_path)})
    assert t.url == f"sqlite:///{tmp_path}/db/intake.sqlite3" and t.schema is None


def test_postgres_url_gives_each_package_its_schema_and_package_url_wins():
    env = {"DATABASE_URL": "postgres://u@h/db", "NOTIFY_DATABASE_URL": "postgresql://u@h/other"}
    assert db_target("intake", env).url == "postgresql+psycopg2://u@h/db"
    assert db_target("intake", env).schema == "intake"
    assert db_target("notify", env).url == "postgresql+psycopg2://u@h/other"


def test_utc_datetime_round_trips_aware_and_refuses_naive(tmp_path):
    from estatedesk_common.config import DbTarget

    md = MetaData()
    t = Table("t", md, Column("id", Integer, primary_key=True), Column("at", UTCDateTime))
    engine = make_engine(DbTarget(f"sqlite:///{tmp_path}/x.db", None))
    md.create_all(engine)
    shanghai = dt.timezone(dt.timedelta(hours=8))
    with engine.begin() as conn:
        conn.execute(insert(t).values(id=1, at=dt.datetime(2026, 1, 1, 8, 0, tzinfo=shanghai)))
        got = conn.execute(select(t.c.at)).scalar_one()
    assert got == dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.timezone.utc) and got.tzinfo is not None
    with pytest.raises(Exception, match="naive"):
        with engine.begin() as conn:
            conn.execute(insert(t).values(id=2, at=dt.datetime(2026, 1, 1)))


def test_errors_cross_rpc_as_json_with_code_and_field():
    exc = errors.NotFound("no estate 'X'", field="estate", code="estate_not_found")
    data = errors.parse_remote(str(exc))
    assert data == {"error": "estate_not_found", "status": 404, "message": "no estate 'X'",
                    "details": {"field": "estate"}}
    assert errors.parse_remote("plain text") is None
    assert errors.parse_remote(json.dumps({"x": 1})) is None


def test_tenant_context_fails_closed():
    with pytest.raises(errors.TenantRequired):
        TenantContext({}).id
    with pytest.raises(errors.TenantRequired):
        TenantContext({"tenant_id": "not-a-uuid"}).id
    tid = "6f1c2b0e-8d7a-4a52-9a35-3f0e2c1d9b70"
    assert TenantContext({"tenant_id": tid}).id == tid


@pytest.mark.parametrize("header, locale", [
    (None, "zh_CN"), ("", "zh_CN"), ("en-US,en;q=0.9", "en"), ("zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"),
    ("fr-FR, en;q=0.5", "en"), ("fr", "zh_CN"), ("en;q=0.2, zh;q=0.9", "zh_CN"),
])
def test_locale_negotiation_defaults_to_chinese(header, locale):
    assert i18n.negotiate(header) == locale


def test_catalogue_needs_both_locales_and_formats():
    i18n.register({"test.hello": {"zh_CN": "你好，{name}", "en": "Hello, {name}"}})
    assert i18n.t("test.hello", name="王") == "你好，王"
    assert i18n.t("test.hello", "en", name="Wang") == "Hello, Wang"
    assert i18n.t("test.unknown") == "test.unknown"
    with pytest.raises(ValueError):
        i18n.register({"test.bad": {"zh_CN": "只有中文"}})


def test_polling_loop_survives_a_failing_pass_and_runs_again_at_once_when_busy():
    import eventlet

    from estatedesk_common.loops import PollingLoop

    calls = []

    def step():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database away")
        if len(calls) < 5:
            return True  # a full batch: go again without waiting
        loop.stop()
        return False

    exited = []
    loop = PollingLoop(step, interval=0.01, name="test", on_exit=lambda: exited.append(1))
    eventlet.spawn(loop.run).wait()
    assert len(calls) == 5 and exited == [1]
