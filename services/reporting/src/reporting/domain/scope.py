"""Which estates a caller may see, from the roles the gateway puts in the context (``[[role, estate|null]]``).

Group roles see every estate of the tenant; site roles see the estates they are bound to. A site role without an
estate, or an unknown role, grants nothing (fail closed).
"""
from __future__ import annotations

from dataclasses import dataclass

from estatedesk_common.tenant import estates_from_roles


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
    return Scope(estates_from_roles(roles))
