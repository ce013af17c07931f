"""The tenant of the current worker, decided once at the gateway and carried as nameko context data.

Fails closed: reading ``tenant.id`` without a tenant in the context raises ``TenantRequired``.
"""
from __future__ import annotations

import uuid

from nameko.extensions import DependencyProvider

from .errors import TenantRequired


GROUP_ROLES = frozenset({"head_office", "group_admin"})
SITE_ROLES = frozenset({"site_manager", "cs_supervisor", "agent", "department_head", "committee_member"})


def estates_from_roles(roles) -> frozenset[str] | None:
    """Which estates roles ``[[role, estate|null], ...]`` reach: None = every estate of the tenant.

    Group roles (head office, group admin) reach every estate; site roles the estates they are bound to. A site
    role without an estate, or an unknown role, grants nothing (fail closed). Every package scopes with this
    one rule; outside the scope the answer is "not found", as for another tenant's id.
    """
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


class TenantContext:
    def __init__(self, data: dict):
        self._data = data

    @property
    def id(self) -> str:
        value = self._data.get("tenant_id")
        if not value:
            raise TenantRequired("no tenant in the call context")
        try:
            uuid.UUID(str(value))
        except ValueError as exc:
            raise TenantRequired("malformed tenant in the call context") from exc
        return str(value)

    @property
    def user_id(self) -> str | None:
        return self._data.get("user_id")

    @property
    def request_id(self) -> str | None:
        return self._data.get("request_id")

    @property
    def roles(self) -> list:
        return list(self._data.get("roles") or [])

    @property
    def caller_roles(self) -> list | None:
        """The roles of the person behind the call, or None for a trusted service-to-service call (the gateway
        always sends ``roles``; a service calling another, or its own background work, does not)."""
        return list(self._data.get("roles") or []) if "roles" in self._data else None


class Tenant(DependencyProvider):
    def get_dependency(self, worker_ctx):
        return TenantContext(worker_ctx.data)
