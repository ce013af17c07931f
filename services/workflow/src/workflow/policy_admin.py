"""Saving a new SLA policy version (``save_sla_policy``) and listing versions (``list_sla_policy_versions``).

``save`` checks before it stores, so a refused document leaves the version in force untouched:
- the scope is ``group``, ``region:<code>`` or ``estate:<code>``; group documents are complete, region/estate
  documents override parts of the group's (``partial``);
- the document validates (``PolicyRejected`` -> 422 ``policy_invalid`` with path and line of every problem);
- layered with the versions in force for every estate the scope covers (``directory``: intake's estates
  ``[{code, region}]``), the merged policy builds, and every severity's deadlines can be counted from
  ``effective_from`` (a year the statutory calendar does not know -> 422 ``calendar_unavailable``);
- ``effective_from`` is not more than a minute in the past.
Then it is stored as the scope's next version. A case keeps the version it was opened under; with
``recompute_open`` the open cases of the scope get the new version now (workflow.recompute: stages added,
dropped and moved, in batches of cases, each batch its own transaction, resumable). The save commits first,
with the record of the run, so an interrupted run finishes on its own (the run's safety timer).
"""
from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from estatedesk_common.errors import ValidationFailed

from . import policies, recompute, repository
from .domain import sla
from .exceptions import CalendarMissing
from .tables import sla_policies

SCOPE = re.compile(r"^(group|region:[A-Za-z0-9_\-]{1,40}|estate:[A-Za-z0-9_\-]{1,40})$")
PAST_TOLERANCE = dt.timedelta(minutes=1)
ORDER = {"builtin": 0, "group": 0, "region": 1, "estate": 2}


def save(uow, tenant_id: str, user_id: str | None, scope: str, document, effective_from=None,
         recompute_open: bool = False, directory=None, batch_size: int = recompute.BATCH_SIZE) -> dict:
    if not isinstance(scope, str) or not SCOPE.match(scope):
        raise ValidationFailed("scope must be group, region:<code> or estate:<code>", field="scope")
    estates = covered(scope, directory or [])
    with uow:
        now = uow.clock.now()
        effective = policies.parse_instant(effective_from, "effective_from") if effective_from else now
        if effective < now - PAST_TOLERANCE:
            raise ValidationFailed("effective_from is more than a minute in the past", field="effective_from")
        with policies.errors_as_validation():
            doc = sla.parse(document, partial=scope != "group")
        version = _next_version(uow.conn, tenant_id, scope)
        _check(uow.conn, tenant_id, scope, version, doc, effective, estates)
        repository.add_policy(uow.conn, tenant_id, scope, doc, effective, now, user_id)
        report = {"scope": scope, "version": version, "effective_from": effective.isoformat(),
                  "recomputed": [], "unchanged": 0, "failed": []}
        if recompute_open:
            recompute.start(uow.conn, tenant_id, scope, version, estates, user_id, now, batch_size)
        uow.commit()
    if recompute_open:  # batches of cases, each its own transaction (workflow.recompute)
        run = recompute.run(uow, tenant_id, scope, version)
        report.update(recomputed=run["recomputed"], unchanged=run["totals"]["unchanged"], failed=run["failed"],
                      recompute=run)
    return report


def preview_layer(conn, tenant_id: str, scope: str, document, received_at, severity: str, category=None,
                  estate=None, channel=None) -> dict:
    """Deadlines for ``estate`` as they would be with ``document`` as ``scope``'s layer on top of (or instead of)
    what is in force at ``received_at``: the live preview of an override being edited, before it is saved."""
    if not isinstance(scope, str) or not SCOPE.match(scope):
        raise ValidationFailed("scope must be group, region:<code> or estate:<code>", field="scope")
    received = policies.parse_instant(received_at)
    with policies.errors_as_validation():
        doc = sla.parse(document, partial=scope != "group")
    layers = [(s, v, d) for s, v, d, _ in policies.layers_in_force(conn, tenant_id, estate, received)]
    return policies.preview(conn, tenant_id, None, received_at, severity, category, estate, channel,
                            layers=_with_layer(layers, scope, None, doc))


def covered(scope: str, directory) -> list[dict]:
    """The estates ``[{code, region}]`` a scope reaches (an estate scope reaches its estate even if the
    directory lacks it)."""
    kind, _, code = scope.partition(":")
    if kind == "group":
        return [{"code": e["code"], "region": e.get("region")} for e in directory]
    if kind == "region":
        return [{"code": e["code"], "region": e.get("region")} for e in directory if e.get("region") == code]
    region = next((e.get("region") for e in directory if e.get("code") == code), None)
    return [{"code": code, "region": region}]


def _next_version(conn, tenant_id: str, scope: str) -> int:
    found = conn.execute(select(sla_policies.c.version).where(
        sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == scope)
        .order_by(sla_policies.c.version.desc()).limit(1)).scalar()
    return (found or 0) + 1


def _check(conn, tenant_id, scope, version, doc, effective, estates) -> None:
    """The new layer merged with what is in force at ``effective`` for each covered estate (or alone)."""
    targets = estates or [None if scope == "group" else {"code": None, "region": scope.partition(":")[2]}]
    for estate in targets:
        layers = [(s, v, d) for s, v, d, _ in policies.layers_in_force(conn, tenant_id, estate, effective)]
        layers = _with_layer(layers, scope, version, doc)
        with policies.errors_as_validation():
            try:
                policy = sla.build(layers)
                for severity in policy.severities:
                    sla.compute(policy, effective, severity)
            except sla.CalendarUnavailable as exc:
                raise CalendarMissing(str(exc), field="effective_from",
                                      details={"calendar": exc.calendar, "year": exc.year}) from None


def _with_layer(layers: list[tuple], scope: str, version: int, doc: dict) -> list[tuple]:
    """``layers`` with ``scope``'s layer replaced (the group's replaces the built-in preset), in layer order."""
    kept = [layer for layer in layers
            if layer[0] != scope and not (scope == "group" and layer[0] == policies.BUILTIN)]
    kept.append((scope, version, doc))
    return sorted(kept, key=lambda layer: ORDER[layer[0].partition(":")[0]])


def versions(conn, tenant_id: str, scope: str | None = None) -> dict:
    """``{"items": [{scope, version, effective_from, created_by, created_at}]}``, newest first."""
    q = select(sla_policies.c.scope, sla_policies.c.version, sla_policies.c.effective_from,
               sla_policies.c.created_by, sla_policies.c.created_at).where(sla_policies.c.tenant_id == tenant_id)
    if scope:
        q = q.where(sla_policies.c.scope == scope)
    rows = conn.execute(q.order_by(sla_policies.c.scope, sla_policies.c.version.desc())).mappings().all()
    return {"items": [{"scope": r["scope"], "version": r["version"], "effective_from": r["effective_from"].isoformat(),
                       "created_by": r["created_by"], "created_at": r["created_at"].isoformat()} for r in rows]}
