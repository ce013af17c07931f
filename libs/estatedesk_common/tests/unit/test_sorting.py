"""parse_sort: the whitelist of keys, the directions, the list's default."""
import pytest

from estatedesk_common.errors import BadRequest
from estatedesk_common.sorting import SEVERITY_RANK, InvalidSort, Sort, parse_sort

ALLOWED = ("due_at", "received_at", "severity")
DEFAULT = Sort("received_at", descending=True)


@pytest.mark.parametrize("sort, order, expected", [
    (None, None, Sort("received_at", True)), ("", "", Sort("received_at", True)),
    ("received_at", None, Sort("received_at", True)),  # the default key keeps the default direction
    ("received_at", "asc", Sort("received_at", False)),
    ("severity", None, Sort("severity", False)), ("severity", "desc", Sort("severity", True)),
    (None, "asc", Sort("received_at", False)),
])
def test_known_keys_and_directions(sort, order, expected):
    assert parse_sort(sort, order, ALLOWED, DEFAULT) == expected
    assert expected.order == ("desc" if expected.descending else "asc")


@pytest.mark.parametrize("sort, order, field", [
    ("id", None, "sort"), ("Severity", None, "sort"), ("severity desc", None, "sort"), (["severity"], None, "sort"),
    (1, None, "sort"), ("severity", "descending", "order"), ("severity", "ASC", "order"), ("severity", 1, "order"),
])
def test_anything_else_is_a_400_invalid_sort_naming_the_field(sort, order, field):
    with pytest.raises(InvalidSort) as refused:
        parse_sort(sort, order, ALLOWED, DEFAULT)
    error = refused.value
    assert isinstance(error, BadRequest) and error.status == 400 and error.code == "invalid_sort"
    assert error.details["field"] == field and error.to_dict()["error"] == "invalid_sort"


def test_severity_rank_orders_each_preset_scheme_lowest_first():
    for scheme in (("minor", "moderate", "major"), ("general", "important", "major"),
                   ("suggestion", "routine", "urgent")):
        assert [SEVERITY_RANK[s] for s in scheme] == [0, 1, 2]
