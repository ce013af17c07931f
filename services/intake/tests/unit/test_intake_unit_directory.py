"""The unit directory's values and an import's plan, without a database (domain/unit_directory.py)."""
import pytest

from intake.domain import unit_directory as ud


def test_codes_floors_and_areas_are_checked_and_normalised():
    assert ud.code("  1栋 ", "building") == "1栋" and ud.code(1001, "unit") == "1001"
    assert ud.code(1001.0, "unit") == "1001"
    assert ud.floor("") is None and ud.floor(" -2 ") == -2 and ud.floor(12.0) == 12
    assert ud.area("89.456") == 89.46 and ud.area("1,200") == 1200.0 and ud.area(None) is None
    for bad in ("", "x" * 41, "a\x00b", None):
        with pytest.raises(ud.InvalidValue) as caught:
            ud.code(bad, "unit")
        assert caught.value.column == "unit"
    for bad in ("3F", 301, -11, True, "1.5"):
        with pytest.raises(ud.InvalidValue):
            ud.floor(bad)
    for bad in ("0", "-5", "nan", "inf", "100001", "大"):
        with pytest.raises(ud.InvalidValue):
            ud.area(bad)


def test_a_row_reports_every_bad_column_with_its_line():
    row, errors = ud.check_row({"line": 7, "building": "", "unit": "101", "floor": "x", "area": "-1"})
    assert row is None
    assert [(e["line"], e["column"]) for e in errors] == [(7, "building"), (7, "floor"), (7, "area")]


def test_the_plan_adds_updates_and_keeps_and_flags_repeated_units():
    existing = {("1栋", "101"): {"floor": 1, "area": 80.0}, ("1栋", "102"): {"floor": 1, "area": None}}
    rows = [{"line": 2, "building": "1栋", "unit": "101", "floor": "1", "area": ""},       # unchanged
            {"line": 3, "building": "1栋", "unit": "102", "floor": "", "area": "90"},      # area added
            {"line": 4, "building": "2栋", "unit": "201", "floor": "2", "area": "70.5"},   # new building + unit
            {"line": 5, "building": "2栋", "unit": "201"},                                  # repeated
            {"line": 6, "building": "2栋", "unit": "", "floor": "2"}]                       # bad
    plan = ud.plan_import(rows, {"1栋"}, existing)
    assert plan.buildings == ["2栋"] and plan.unchanged == 1
    assert [(r.building, r.unit, r.floor, r.area) for r in plan.added] == [("2栋", "201", 2, 70.5)]
    assert [(r.unit, r.area, before) for r, before in plan.updated] == [("102", 90.0, {"floor": 1, "area": None})]
    assert [(e["line"], e["column"]) for e in plan.errors] == [(5, "unit"), (6, "unit")]
    assert "line 4" in plan.errors[0]["message"]


def test_an_empty_or_oversized_file_is_one_error():
    assert ud.plan_import([], set(), {}).errors[0]["line"] == 0
    many = [{"line": n, "building": "A", "unit": str(n)} for n in range(ud.MAX_IMPORT_ROWS + 1)]
    assert len(ud.plan_import(many, set(), {}).errors) == 1
