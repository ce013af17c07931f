"""Estate scope: which of the tenant's estates a principal may see, and the 404 for anything outside it.

Group roles (head_office, group_admin) see every estate; site roles (agent, cs_supervisor, site_manager,
department_head, committee_member) the estates they hold the role for. A site role without an estate or an
unknown role grants nothing (fail closed) — the rule of workflow's ``list_cases`` and reporting's scope.
Outside the scope the answer is 404, as for another tenant's id, so ids cannot be probed.
"""
from __future__ import annotations

from estatedesk_common.tenant import estates_from_roles

from .errors import ApiError



def estates_of(principal) -> frozenset[str] | None:
    return estates_from_roles(principal.roles)


def allows(principal, estate_code: str | None) -> bool:
    estates = estates_of(principal)
    return estates is None or (estate_code is not None and estate_code in estates)


def estate_code_of(record: dict) -> str | None:
    """The estate of an intake complaint (``estate: {code}``) or a workflow case (``estate: code``)."""
    estate = record.get("estate")
    if isinstance(estate, dict):
        return estate.get("code")
    return estate if isinstance(estate, str) else record.get("estate_code")


def require(principal, record: dict, code: str = "complaint_not_found") -> dict:
    """``record`` if its estate is in the principal's scope; ``ApiError`` 404 otherwise."""
    if not allows(principal, estate_code_of(record)):
        raise ApiError(404, code, details={"field": "id"})
    return record
