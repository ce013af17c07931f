"""The operator's command line stores a year; a workflow process picks it up (SQLite and PostgreSQL)."""
import json

import pytest

from estatedesk_common.testing import env_for
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
