"""Sort orders for list queries: a whitelist of keys per list, ascending or descending.

Each service declares the keys its list query can order by and turns them into ``ORDER BY`` columns itself (the
sort happens in the database, before ``LIMIT``/``OFFSET``, so pages stay consistent). This module only checks the
caller's choice: an unknown key or direction is the caller's error (``invalid_sort``, 400, with the field), which
the gateway's API passes on as JSON and its pages avoid by offering only known keys.

Severity keys are tenant data; :data:`SEVERITY_RANK` ranks the three preset schemes (workflow's
``domain/repeats.KNOWN_SCHEMES``: lowest 0, highest 2) so "by severity" means by weight, not alphabetically.
"""
from __future__ import annotations

from dataclasses import dataclass

from .errors import BadRequest

ORDERS = ("asc", "desc")
SEVERITY_RANK = {"minor": 0, "moderate": 1, "major": 2, "general": 0, "important": 1,
                 "suggestion": 0, "routine": 1, "urgent": 2}


class InvalidSort(BadRequest):
    code = "invalid_sort"


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @property
    def order(self) -> str:
        return "desc" if self.descending else "asc"


def parse_sort(sort, order, allowed, default: Sort) -> Sort:
    """``sort``/``order`` as sent (None or "" = the list's default) checked against ``allowed`` keys.

    Without ``order`` a key sorts ascending, except that the default key keeps the default direction."""
    if sort in (None, ""):
        key = default.key
    elif isinstance(sort, str) and sort in allowed:
        key = sort
    else:
        raise InvalidSort(f"sort must be one of {', '.join(allowed)}", field="sort",
                          details={"allowed": list(allowed)})
    if order in (None, ""):
        return Sort(key, default.descending if key == default.key else False)
    if order not in ORDERS:
        raise InvalidSort("order must be asc or desc", field="order", details={"allowed": list(ORDERS)})
    return Sort(key, order == "desc")
