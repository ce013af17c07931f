"""Sortable lists on the console: the keys each list offers and the query string's choice.

The services own the sort (``estatedesk_common.sorting``: the whitelist is checked and the ``ORDER BY`` built in the
service's query, before paging). The API passes ``sort``/``order`` through, so an unknown key is the service's
400 ``invalid_sort`` with the field. A page must never fail on a hand-edited link: an unknown key or direction is
ignored and the list keeps its default order. ``aria_sort`` and ``next_order`` serve the header macro
(``templates/_sort.html``).
"""
from __future__ import annotations

from estatedesk_common.sorting import InvalidSort, Sort, parse_sort

QUEUE = (("due_at", "received_at", "severity", "estate", "status"), Sort("due_at", descending=False))
COMPLAINTS = (("received_at", "severity", "estate", "status"), Sort("received_at", descending=True))
# the console's /complaints: intake's keys, status included (intake keeps each complaint's case status,
# intake.case_status, and filters, sorts and shows that one)
COMPLAINT_PAGE = COMPLAINTS
CALLBACKS = (("due_at", "resolved_at", "estate", "status"), Sort("due_at", descending=False))


def page_sort(args, spec) -> Sort:
    """The list's sort from ``args`` (``sort``, ``order``), or its default when either is unknown."""
    allowed, default = spec
    try:
        return parse_sort(args.get("sort") or None, args.get("order") or None, allowed, default)
    except InvalidSort:
        return default


def aria_sort(current: Sort, key: str) -> str:
    if current.key != key:
        return "none"
    return "descending" if current.descending else "ascending"


def next_order(current: Sort, key: str) -> str:
    """A header's link: the other direction when the list is sorted by it, else ascending."""
    if current.key == key:
        return "asc" if current.descending else "desc"
    return "asc"
