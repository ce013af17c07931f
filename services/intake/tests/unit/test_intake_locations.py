"""The building choice's order: digit runs compare as numbers, so 2栋 comes before 10栋."""
from intake.locations import natural_key


def test_buildings_sort_naturally():
    assert sorted(["10栋", "A座", "2栋", "1栋", "B1", "B10", "B2"], key=natural_key) == [
        "1栋", "2栋", "10栋", "A座", "B1", "B2", "B10"]
