"""The tenant of the current worker, decided once at the gateway and carried as nameko context data.

Fails closed: reading ``tenant.id`` without a tenant in the context raises ``TenantRequired``.
"""
from __future__ import annotations

import uuid

from nameko.extensions import DependencyProvider

from .errors import TenantRequired


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
