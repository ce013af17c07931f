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
``recompute_open`` the open cases of the scope get the new version now: each deadline not met yet is counted
again under the case's own layers with this scope's layer replaced by the new version, moved when it changed
(timers rescheduled, a timeline entry per case, the case's version + 1). Met deadlines never change; a stage
moved by an approved extension keeps its extended due time. One transaction for all of it.
"""
from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from estatedesk_common.errors import ValidationFailed

from . import backfill, escalation, extensions, policies, presets, repository
from .domain import sla
from .exceptions import CalendarMissing
from .tables import case_deadlines, cases, sla_policies

SCOPE = re.compile(r"^(group|region:[A-Za-z0-9_\-]{1,40}|estate:[A-Za-z0-9_\-]{1,40})$")
PAST_TOLERANCE = dt.timedelta(minutes=1)
ORDER = {"builtin": 0, "group": 0, "region": 1, "estate": 2}


def save(uow, tenant_id: str, user_id: str | None, scope: str, document, effective_from=None,
         recompute_open: bool = False, directory=None) -> dict:
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
            _recompute(uow, tenant_id, scope, version, doc, estates, user_id, now, report)
        uow.commit()
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


def _recompute(uow, tenant_id, scope, version, doc, estates, user_id, now, report) -> None:
    regions = {e["code"]: e.get("region") for e in estates}
    # a deferred case keeps its paused deadlines (its timers are off until it resumes: workflow.deferrals)
    q = select(cases).where(cases.c.tenant_id == tenant_id,
                            cases.c.status.not_in(sorted(escalation.DONE | {"deferred"})))
    if scope != "group":
        q = q.where(cases.c.estate_code.in_(sorted(regions)))
    for case in uow.conn.execute(q.order_by(cases.c.received_at)).mappings().all():
        if scope.startswith("region:") and regions.get(case["estate_code"]) != scope.partition(":")[2]:
            continue
        moved = _recompute_case(uow, tenant_id, case, scope, version, doc, user_id, now, report)
        if moved:
            report["recomputed"].extend(moved)
        else:
            report["unchanged"] += 1


def _recompute_case(uow, tenant_id, case, scope, version, doc, user_id, now, report) -> list[dict]:
    levels = case["policy_levels"] or [{"scope": policies.BUILTIN, "version": None}]
    base = backfill.policy_for_case(uow.conn, tenant_id, levels)
    layers = [(lv["scope"], lv["version"], _document(uow.conn, tenant_id, lv)) for lv in levels]
    layers = _with_layer(layers, scope, version, doc)
    try:
        policy = sla.build(layers)
        severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
        failures: list = []
        computed = {d.stage: d for d in sla.compute(policy, case["received_at"], severity, case["category"],
                                                    case["channel"], failures)}
    except sla.PolicyInvalid as exc:
        report["failed"].append({"reference": case["reference"], "error": str(exc)})
        return []
    for failure in failures:
        report["failed"].append({"reference": case["reference"], "stage": failure["stage"],
                                 "error": failure["error"]})
    rows = {r["stage"]: r for r in policies.deadline_rows(list(computed.values()), case["received_at"],
                                                          policy.version_label)}
    moved, zone = [], ZoneInfo(case["timezone"])
    for d in repository.deadlines(uow.conn, tenant_id, case["id"]):
        row = rows.get(d["stage"])
        if d["met_at"] is not None or d["original_due_at"] is not None or row is None or row["due_at"] == d["due_at"]:
            continue
        uow.conn.execute(update(case_deadlines).where(
            case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id == case["id"],
            case_deadlines.c.stage == d["stage"]).values(
            {k: row[k] for k in ("due_at", "limit_spec", "limit_minutes", "explanation", "explanation_en",
                                 "explanation_data", "policy_version")}))
        extensions.reschedule(uow, case, d["stage"], row["due_at"], now)
        moved.append({"reference": case["reference"], "stage": d["stage"], "old_due": _local(d["due_at"], zone),
                      "new_due": _local(row["due_at"], zone)})
    if moved:
        uow.conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"]).values(
            version=case["version"] + 1, policy_version=policy.version_label,
            policy_levels=[{"scope": s, "version": v} for s, v in policy.levels]))
        text = f"时限策略调整（{base.version_label} → {policy.version_label}），重算时限：" + "；".join(
            f"「{m['stage']}」{m['old_due'][:16].replace('T', ' ')} → {m['new_due'][:16].replace('T', ' ')}"
            for m in moved)
        repository.add_timeline(uow.conn, tenant_id, case["id"], now, "deadlines_recomputed", user_id or "workflow",
                                text)
    return moved


def _document(conn, tenant_id: str, level: dict):
    if level["scope"] == policies.BUILTIN:
        return presets.load("seed002")
    return conn.execute(select(sla_policies.c.document).where(
        sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == level["scope"],
        sla_policies.c.version == level["version"])).scalar_one()


def _local(instant: dt.datetime, zone: ZoneInfo) -> str:
    return instant.astimezone(zone).isoformat()


def versions(conn, tenant_id: str, scope: str | None = None) -> dict:
    """``{"items": [{scope, version, effective_from, created_by, created_at}]}``, newest first."""
    q = select(sla_policies.c.scope, sla_policies.c.version, sla_policies.c.effective_from,
               sla_policies.c.created_by, sla_policies.c.created_at).where(sla_policies.c.tenant_id == tenant_id)
    if scope:
        q = q.where(sla_policies.c.scope == scope)
    rows = conn.execute(q.order_by(sla_policies.c.scope, sla_policies.c.version.desc())).mappings().all()
    return {"items": [{"scope": r["scope"], "version": r["version"], "effective_from": r["effective_from"].isoformat(),
                       "created_by": r["created_by"], "created_at": r["created_at"].isoformat()} for r in rows]}
