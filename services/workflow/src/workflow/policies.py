"""SLA use cases: the policy in force for an estate, deadlines for a case, preview and explanation.

Resolution: the group's document, then the estate's region, then the estate; for each scope the version whose
``effective_from`` is the latest not after the receipt time. A tenant that stored no group policy runs on the
built-in seed 002 preset (with its own region/estate overrides, if any, on top).
"""
from __future__ import annotations

import datetime as dt

from estatedesk_common.errors import ValidationFailed

from . import presets, repository
from .domain import sla
from .domain.sla import overview
from .exceptions import CalendarMissing, PolicyRejected

BUILTIN = "builtin"


def scopes_for(estate: dict | str | None) -> list[str]:
    """``["group", "region:<code>", "estate:<code>"]`` for an estate given as ``{"code", "region"}`` or a code."""
    if isinstance(estate, str):
        estate = {"code": estate}
    scopes = ["group"]
    if estate and estate.get("region"):
        scopes.append(f"region:{estate['region']}")
    if estate and estate.get("code"):
        scopes.append(f"estate:{estate['code']}")
    return scopes


def layers_in_force(conn, tenant_id: str, estate, at: dt.datetime) -> list[tuple]:
    """``[(scope, version, document, effective_from), ...]`` from the group down."""
    scopes = scopes_for(estate)
    rows = repository.effective_policies(conn, tenant_id, scopes, at)
    layers = [(s, rows[s]["version"], rows[s]["document"], rows[s]["effective_from"]) for s in scopes if s in rows]
    if not layers or layers[0][0] != "group":
        layers.insert(0, (BUILTIN, None, presets.load("seed002"), None))
    return layers


def effective_policy(conn, tenant_id: str, estate, at: dt.datetime) -> sla.Policy:
    return sla.build([(scope, version, doc) for scope, version, doc, _ in layers_in_force(conn, tenant_id, estate, at)])


def deadline_rows(deadlines: list, received_at: dt.datetime, version_label: str) -> list[dict]:
    """``case_deadlines`` rows for computed deadlines."""
    return [{"stage": d.stage, "due_at": d.due_at, "limit_spec": str(d.limit),
             "limit_minutes": int((d.due_at - received_at).total_seconds() // 60),
             "explanation": sla.render(d.explanation), "explanation_en": sla.render(d.explanation, "en"),
             "explanation_data": d.explanation, "policy_version": version_label} for d in deadlines]


def parse_instant(value, field: str = "received_at") -> dt.datetime:
    try:
        instant = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} is not an ISO 8601 date-time", field=field) from None
    if instant.tzinfo is None:
        raise ValidationFailed(f"{field} needs a UTC offset (e.g. 2026-02-13T16:00:00+08:00)", field=field)
    return instant


def preview(conn, tenant_id: str, document, received_at, severity: str, category: str | None = None,
            estate=None, channel: str | None = None, layers=None) -> dict:
    """Deadlines for a hypothetical complaint: under ``document`` (a complete policy, text or mapping), under
    ``layers`` ([(scope, version, document)], group first: an override being edited, policy_admin.preview_layer)
    or, when both are None, under the tenant's policy in force for ``estate`` at ``received_at``."""
    received = parse_instant(received_at)
    with errors_as_validation():
        if layers is not None:
            policy = sla.build(layers)
        elif document is not None:
            policy = sla.from_document(document)
        else:
            policy = effective_policy(conn, tenant_id, estate, received)
        if severity not in policy.severities:
            raise ValidationFailed(f"unknown severity {severity!r}; the policy defines "
                                   f"{', '.join(sorted(policy.severities))}", field="severity")
        deadlines = sla.compute(policy, received, severity, category, channel)
    zone = policy.calendar.zone
    resolution = next((d for d in deadlines if d.stage == "resolution"), deadlines[-1] if deadlines else None)
    return {"policy_version": policy.version_label, "timezone": policy.calendar.timezone, "severity": severity,
            "category": category, "warning_at": str(policy.warning_fraction(severity)),
            "stages": [{"name": d.stage, "due_at": d.due_at.astimezone(zone).isoformat(),
                        "warning_at": overview.warning(policy, severity, received, d.due_at),
                        "explanation": sla.render(d.explanation), "explanation_en": sla.render(d.explanation, "en"),
                        "details": d.explanation} for d in deadlines],
            # the ladder from the earliest breach, and who approves how long an extension of the resolution
            "escalation": overview.ladder(policy, min((d.due_at for d in deadlines), default=None)),
            "extension_approval": overview.approval(policy, resolution.due_at if resolution else None)}


def policy_in_force(conn, tenant_id: str, estate, at: dt.datetime) -> dict:
    """The layers in force for ``estate`` at ``at`` and the merged document they make."""
    layers = layers_in_force(conn, tenant_id, estate, at)
    with errors_as_validation():
        policy = sla.build([(scope, version, doc) for scope, version, doc, _ in layers])
    merged = sla.merge([(scope, version, doc) for scope, version, doc, _ in layers])
    for spec in merged.get("severities", {}).values():
        spec.pop("_source", None)
        for stage in spec["stages"] + [s for c in spec["categories"].values() for s in c["stages"]]:
            stage["source"] = stage.pop("_source")
            stage["source_version"] = stage.pop("_version")
    return {"policy_version": policy.version_label, "at": at.isoformat(),
            "levels": [{"scope": scope, "version": version, "document": doc,
                        "effective_from": eff.isoformat() if eff else None} for scope, version, doc, eff in layers],
            "document": merged}


class errors_as_validation:
    """Domain errors -> the service's caller errors (422 at the gateway), with the lines and paths at fault."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            return False
        if issubclass(exc_type, sla.PolicyInvalid):
            first = exc.problems[0] if exc.problems else {}
            raise PolicyRejected(str(exc), field="policy", details={
                "problems": exc.problems, "line": first.get("line"), "path": first.get("path")}) from None
        if issubclass(exc_type, sla.CalendarUnavailable):
            raise CalendarMissing(str(exc), field="received_at", details={"calendar": exc.calendar,
                                                                           "year": exc.year}) from None
        if issubclass(exc_type, sla.NoWorkingTime):
            raise PolicyRejected(str(exc), field="policy") from None
        return False
