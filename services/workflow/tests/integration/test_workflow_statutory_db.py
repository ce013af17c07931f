"""The operator's command line stores a year; a workflow process picks it up (SQLite and PostgreSQL)."""
import datetime as dt
import json
import uuid

import pytest

from estatedesk_common.demo import DEMO_TENANT
from estatedesk_common.envelope import Envelope
from estatedesk_common.testing import env_for
from estatedesk_common.unit_of_work import UnitOfWork
from workflow import handlers
from workflow.seed import seed_demo
from workflow.tables import reliability
from workflow import statutory as cli
from workflow.domain.sla import statutory

pytestmark = pytest.mark.integration

YEAR = """\
calendar: cn
year: 2031
source: test arrangement
holidays:
  - {name: 元旦, from: 2031-01-01, to: 2031-01-03}
makeup_workdays:
  - {name: 元旦, date: 2031-01-05}
"""


@pytest.fixture(autouse=True)
def empty_registry():
    statutory.REGISTRY.install([])
    yield
    statutory.REGISTRY.install([])


def test_import_list_export_remove_and_refresh(workflow_db, workflow_engine, tmp_path, monkeypatch, capsys):
    for key, value in env_for("workflow", workflow_db).items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "2031.yaml"
    path.write_text(YEAR, encoding="utf-8")
    assert cli.main(["import", str(path), "--by", "ops@example"]) == 0
    assert "3 holiday days, 1 make-up" in capsys.readouterr().out
    assert cli.main(["list"]) == 0
    assert "2031  loaded: test arrangement" in capsys.readouterr().out
    assert cli.main(["export", "2031"]) == 0
    assert "from: '2031-01-01'" in capsys.readouterr().out

    assert cli.refresh(workflow_engine) == [2031]
    assert statutory.cn_day(statutory.dt.date(2031, 1, 5)) == (True, "元旦")
    assert cli.LAST_YEAR._value.get() == 2031

    path.write_text(YEAR.replace("makeup_workdays", "makeup_workdays_typo").replace("2031-01-05", "x"), "utf-8")
    assert cli.main(["import", str(path)]) == 2  # a typo is refused, not silently ignored
    assert "makeup_workdays_typo" in capsys.readouterr().err
    path.write_text(YEAR.replace("2031-01-05", "2031-01-06"), encoding="utf-8")  # a Monday
    assert cli.main(["import", str(path)]) == 2
    assert json.loads(capsys.readouterr().err)["problems"][0]["path"] == "makeup_workdays[0].date"

    assert cli.main(["remove", "2031"]) == 0
    assert cli.refresh(workflow_engine) == []
    with pytest.raises(statutory.CalendarUnavailable):
        statutory.cn_day(statutory.dt.date(2031, 1, 5))


def test_loading_a_year_backfills_the_deadlines_open_cases_lacked(workflow_db, workflow_engine, tmp_path,
                                                                   monkeypatch, capsys):
    seed_demo(workflow_engine)
    tenant = DEMO_TENANT["id"]
    complaint_id = str(uuid.uuid4())
    env = Envelope("complaint_received", tenant, {
        "complaint_id": complaint_id, "reference": "TS20310117-ABC123",
        "estate": {"code": "DEMO-RES", "name": "阳光花园", "kind": "residential", "timezone": "Asia/Shanghai",
                   "region": "EAST"},
        "channel": "web", "description": "电梯故障", "complainant": {"name": "赵", "phone": "13700137000",
                                                                 "email": "", "unit": "1-101"},
        "category": None, "severity": "moderate", "urgent": False, "received_at": "2031-01-17T02:00:00+00:00",
        "received_by": None, "schema_version": 1})
    clock = _Clock(dt.datetime(2031, 1, 17, 2, 5, tzinfo=dt.timezone.utc))
    assert handlers.open_case(env, UnitOfWork(workflow_engine, reliability, clock))
    stages = {d["stage"] for d in handlers.get_case(complaint_id, tenant, workflow_engine)["deadlines"]}
    assert "resolution" not in stages and "first_contact" in stages  # 5wd in an unknown year: not guessed

    for key, value in env_for("workflow", workflow_db).items():
        monkeypatch.setenv(key, value)
    path = tmp_path / "2031.yaml"
    path.write_text(YEAR, encoding="utf-8")
    assert cli.main(["import", str(path)]) == 0
    assert "case TS20310117-ABC123: deadlines added for resolution" in capsys.readouterr().out
    case = handlers.get_case(complaint_id, tenant, workflow_engine)
    resolution = next(d for d in case["deadlines"] if d["stage"] == "resolution")
    assert resolution["due_at"] == "2031-01-24T09:30:00+00:00"  # Fri 17th + 5 working days = Fri 24th 17:30
    assert case["timeline"][-1]["text"].startswith("补算时限")
    assert cli.main(["import", str(path)]) == 0  # again: nothing more to add
    assert "deadlines added" not in capsys.readouterr().out


class _Clock:
    def __init__(self, now):
        self._now = now

    def now(self):
        return self._now
