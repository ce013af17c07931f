"""The event envelope every event between services carries.

Body on the wire: ``{"event_id","event_type","tenant_id","occurred_at","schema_version","request_id","payload"}``.
"""
from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import asdict, dataclass, field


class EnvelopeError(ValueError):
    """A message that is not a valid envelope: a poison message, dead-lettered with this reason."""


REQUIRED = ("event_id", "event_type", "tenant_id", "occurred_at", "schema_version", "payload")


@dataclass(frozen=True)
class Envelope:
    event_type: str
    tenant_id: str
    payload: dict
    schema_version: int = 1
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    occurred_at: str = field(default_factory=lambda: dt.datetime.now(dt.timezone.utc).isoformat())
    request_id: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, body, expected_type: str | None = None, versions=(1,)) -> "Envelope":
        if not isinstance(body, dict):
            raise EnvelopeError(f"body is {type(body).__name__}, not an object")
        missing = [k for k in REQUIRED if k not in body]
        if missing:
            raise EnvelopeError(f"missing fields: {', '.join(missing)}")
        if expected_type and body["event_type"] != expected_type:
            raise EnvelopeError(f"event_type {body['event_type']!r} != {expected_type!r}")
        if body["schema_version"] not in versions:
            raise EnvelopeError(f"unknown schema_version {body['schema_version']!r} (known: {list(versions)})")
        if not isinstance(body["payload"], dict):
            raise EnvelopeError("payload is not an object")
        if not body["tenant_id"] or not isinstance(body["tenant_id"], str):
            raise EnvelopeError("tenant_id is empty")
        try:
            uuid.UUID(str(body["event_id"]))
            dt.datetime.fromisoformat(body["occurred_at"])
        except (ValueError, TypeError) as exc:
            raise EnvelopeError(f"bad event_id or occurred_at: {exc}") from exc
        return cls(
            event_type=body["event_type"], tenant_id=body["tenant_id"], payload=body["payload"],
            schema_version=body["schema_version"], event_id=str(body["event_id"]),
            occurred_at=body["occurred_at"], request_id=body.get("request_id"),
        )
