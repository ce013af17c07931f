"""Which estates a caller may see, from the roles the gateway puts in the context (``[[role, estate|null]]``).

Group roles (head office, group admin) see every estate of the tenant; site roles see the estates they are
bound to. A site role without an estate, or an unknown role, grants nothing (fail closed). The same rule as
reporting's ``domain.scope`` and the gateway's ``scope``; each package keeps its own copy (no shared domain).
"""
from __future__ import annotations

GROUP_ROLES = frozenset({"head_office", "group_admin"})
SITE_ROLES = frozenset({"site_manager", "cs_supervisor", "agent", "department_head", "committee_member"})


def estates_from_roles(roles) -> frozenset[str] | None:
    """None = every estate of the tenant; otherwise the estate codes the roles are bound to (maybe none)."""
    estates: set[str] = set()
    for item in roles or ():
        try:
            role, estate = item
        except (TypeError, ValueError):
            continue
        if role in GROUP_ROLES:
            return None
        if role in SITE_ROLES and isinstance(estate, str) and estate:
            estates.add(estate)
    return frozenset(estates)
