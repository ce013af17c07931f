"""``python -m workflow.sla preview``: JSON with the site's offset, and problems with their lines."""
import json
import subprocess
import sys

from workflow import sla as cli

POLICY = """\
timezone: Asia/Shanghai
calendar: cn
business_hours: [{start: "08:30", end: "12:00"}, {start: "13:30", end: "17:30"}]
default_severity: moderate
severities:
  moderate:
    stages:
      - {name: first_contact, limit: "1h"}
      - {name: resolution, limit: "5wd"}
"""


def test_preview_prints_stages_with_the_sites_offset(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY, encoding="utf-8")
    assert cli.main(["preview", "--policy", str(path), "--received-at", "2026-02-13T08:00:00Z",
                     "--severity", "moderate"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(s["name"], s["due_at"]) for s in out["stages"]] == [
        ("first_contact", "2026-02-13T17:00:00+08:00"), ("resolution", "2026-02-27T17:30:00+08:00")]
    assert "春节" in out["stages"][1]["explanation"] and "Spring Festival" in out["stages"][1]["explanation_en"]


def test_preview_reports_a_bad_policy_with_its_line(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY.replace('"5wd"', '"-5wd"'), encoding="utf-8")
    assert cli.main(["preview", "--policy", str(path), "--received-at", "2026-02-13T08:00:00Z",
                     "--severity", "moderate"]) == 2
    err = json.loads(capsys.readouterr().err)
    assert err["error"] == "policy_invalid" and err["details"]["line"] == 9


def test_preview_refuses_a_year_the_calendar_does_not_know(capsys):
    assert cli.main(["preview", "--policy", "seed002", "--received-at", "2027-06-01T10:00:00+08:00",
                     "--severity", "moderate"]) == 2
    assert json.loads(capsys.readouterr().err)["error"] == "calendar_unavailable"


def test_preview_refuses_an_unknown_severity_and_a_naive_time(capsys):
    assert cli.main(["preview", "--policy", "seed002", "--received-at", "2026-06-01T10:00:00+08:00",
                     "--severity", "urgent"]) == 2
    assert json.loads(capsys.readouterr().err)["details"]["field"] == "severity"
    assert cli.main(["preview", "--policy", "seed002", "--received-at", "2026-06-01T10:00:00",
                     "--severity", "moderate"]) == 2
    assert json.loads(capsys.readouterr().err)["details"]["field"] == "received_at"


def test_module_runs_as_documented():
    done = subprocess.run([sys.executable, "-m", "workflow.sla", "preview", "--policy", "seed001",
                           "--received-at", "2026-10-01T09:00:00+08:00", "--severity", "important"],
                          capture_output=True, text=True, timeout=60, check=True)
    stages = json.loads(done.stdout)["stages"]
    assert [s["due_at"] for s in stages] == ["2026-10-01T12:00:00+08:00", "2026-10-04T09:00:00+08:00"]
