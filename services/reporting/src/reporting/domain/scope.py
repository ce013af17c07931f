"""Which estates a caller may see, from the roles the gateway puts in the context (``[[role, estate|null]]``).

Group roles see every estate of the tenant; site roles see the estates they are bound to. A site role without an
estate, or an unknown role, grants nothing (fail closed).
"""
from __future__ import annotations

from dataclasses import dataclass

GROUP_ROLES = frozenset({"head_office", "group_admin"})
SITE_ROLES = frozenset({"site_manager", "cs_supervisor", "agent", "department_head", "committee_member"})


@dataclass(frozen=True)
class Scope:
    estates: frozenset[str] | None  # None = every estate of the tenant

    @property
    def everything(self) -> bool:
        return self.estates is None

    def allows(self, estate_code: str) -> bool:
        return self.estates is None or estate_code in self.estates

    def narrow(self, estate_code: str | None) -> "Scope":
        """The scope of a query for one estate (the caller must be allowed to see it)."""
        return self if estate_code is None else Scope(frozenset({estate_code}))


def scope_from_roles(roles) -> Scope:
    estates: set[str] = set()
    for item in roles or ():
        try:
            role, estate = item
        except (TypeError, ValueError):
            continue
        if role in GROUP_ROLES:
            return Scope(None)
        if role in SITE_ROLES and isinstance(estate, str) and estate:
            estates.add(estate)
    return Scope(frozenset(estates))
