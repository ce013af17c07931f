"""Errors that cross RPC with a stable code and the field at fault.

nameko sends a remote exception as its type name and ``str(exc)``; ``str`` here is JSON, so the gateway can
render ``{"error": CODE, "message": ..., "details": ...}`` without knowing each service's exception classes.
"""
from __future__ import annotations

import json


class EstateDeskError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str = "", field: str | None = None, details: dict | None = None,
                 code: str | None = None):
        self.message = message or self.code
        self.field = field
        self.details = dict(details or {})
        if field:
            self.details.setdefault("field", field)
        if code:
            self.code = code
        super().__init__(self.message)

    def to_dict(self) -> dict:
        return {"error": self.code, "status": self.status, "message": self.message, "details": self.details}

    def __str__(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False)


class BadRequest(EstateDeskError):
    code, status = "bad_request", 400


class Unauthenticated(EstateDeskError):
    code, status = "unauthenticated", 401


class Forbidden(EstateDeskError):
    code, status = "forbidden", 403


class NotFound(EstateDeskError):
    code, status = "not_found", 404


class Conflict(EstateDeskError):
    code, status = "conflict", 409


class ValidationFailed(EstateDeskError):
    code, status = "validation_failed", 422


class TenantRequired(Forbidden):
    """An entrypoint that needs a tenant was called without one: refuse, never guess."""

    code = "tenant_required"


EXPECTED = (BadRequest, Unauthenticated, Forbidden, NotFound, Conflict, ValidationFailed, TenantRequired)


def parse_remote(value: str) -> dict | None:
    """The dict an ``EstateDeskError`` serialised to, or None for anything else."""
    try:
        data = json.loads(value)
    except (TypeError, ValueError):
        return None
    if isinstance(data, dict) and "error" in data and "status" in data:
        return data
    return None
