"""CSV/XLSX exports: formula injection is neutralised, the XLSX opens with openpyxl and holds the rows."""
import csv
import datetime as dt
import io
import uuid

import pytest
from openpyxl import load_workbook

from reporting import exports, handlers, reports
from reporting.domain.scope import Scope

NOW = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.timezone.utc)
EVIL = {"code": "EVIL", "name": "=HYPERLINK(\"http://x\",\"y\")", "kind": "residential",
        "timezone": "Asia/Shanghai", "region": "@SUM(A1)"}


@pytest.mark.parametrize("text, expected", [
    ("=1+1", "'=1+1"), ("+86 138", "'+86 138"), ("-2", "'-2"), ("@cmd", "'@cmd"), ("\tx", "'\tx"),
    ("锦绣花园", "锦绣花园"), ("a=b", "a=b"), ("", ""),
])
def test_safe_text(text, expected):
    assert exports.safe_text(text) == expected


@pytest.fixture
def league(engine, new_uow, make_event):
    tenant = str(uuid.uuid4())
    for estate in (None, EVIL, EVIL):
        extra = {"estate": estate} if estate else {}
        handlers.record_complaint_received(make_event(tenant, **extra), new_uow())
    return tenant


def test_csv_quotes_formula_cells_and_keeps_numbers(engine, league):
    out = reports.export(league, Scope(None), engine, NOW, "league_table", "csv", "2026-11-24", "2026-11-24")
    assert out["content_type"].startswith("text/csv") and out["filename"] == "league_table_2026-11-24_2026-11-24.csv"
    text = out["content"].decode("utf-8")
    assert text.startswith("\ufeff排名,项目编码,项目名称")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    evil = next(r for r in rows if r[1] == "EVIL")
    assert evil[2] == "'=HYPERLINK(\"http://x\",\"y\")" and evil[3] == "'@SUM(A1)"
    assert evil[5] == "2" and evil[4] == "—"  # received; units unknown
    assert [r[1] for r in rows[1:]] == ["EVIL", "DEMO-RES"]
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def test_xlsx_opens_and_has_the_rows_as_text_not_formulas(engine, league):
    out = reports.export(league, Scope(None), engine, NOW, "league_table", "xlsx", "2026-11-24", "2026-11-24",
                         locale="en")
    ws = load_workbook(io.BytesIO(out["content"])).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert ws.title == "Estate league table"
    assert rows[0][:3] == ["Rank", "Estate code", "Estate"]
    assert [r[1] for r in rows[1:]] == ["EVIL", "DEMO-RES"]
    assert rows[1][5] == 2 and isinstance(rows[1][5], int)
    evil_name = ws.cell(row=2, column=3)
    assert evil_name.value == "=HYPERLINK(\"http://x\",\"y\")" and evil_name.data_type == "s"


def test_kpis_export_lists_every_figure_with_its_note(engine, league):
    out = reports.export(league, Scope(None), engine, NOW, "kpis", "csv", "2026-11-24", "2026-11-24", locale="en")
    rows = list(csv.reader(io.StringIO(out["content"].decode("utf-8").lstrip("\ufeff"))))
    measures = {r[0]: r[1:] for r in rows[1:]}
    assert rows[0] == ["Measure", "Value", "Note"]
    assert measures["received"][0] == "3"
    assert measures["satisfaction_pct"] == ["—", ""]  # measured, nothing to divide by yet
    assert measures["capa_open"] == ["0", ""] and measures["capa.overdue_now"][0] == "0"
    assert measures["nonconformity.approved"][0] == "0"
    assert measures["per_1000_units"] == ["—", "unit counts not known"]
    assert measures["callbacks.not_called_back"][0] == "0" and measures["escalations_by_level.1"][0] == "0"
    assert measures["by_channel.hotline"][0] == "3"
    zh = reports.export(league, Scope(None), engine, NOW, "kpis", "csv", "2026-11-24", "2026-11-24")
    zh_rows = {r[0]: r[1:] for r in csv.reader(io.StringIO(zh["content"].decode("utf-8").lstrip("\ufeff")))}
    assert zh_rows["per_1000_units"] == ["—", "户数未知：范围内尚有项目未提供户数"]



def test_xlsx_writes_control_characters_as_a_replacement():
    data = exports.to_xlsx("t", ["estate"], [["锦绣\x02花园"]])
    rows = list(load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True))
    assert rows == [("estate",), ("锦绣\ufffd花园",)]
