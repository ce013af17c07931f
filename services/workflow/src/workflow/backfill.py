"""Deadlines a case could not get when it was opened (a statutory year nobody knew yet), added once they can be.

``fill_missing_deadlines`` walks the cases not yet resolved, closed or cancelled, recomputes their deadlines
under the **policy versions they were opened under** (``cases.policy_levels``) and the case's current severity,
and adds only the stages that have no deadline: existing deadlines are never moved. Each added stage gets its
warning and breach timers (a stage already past due breaches at once: late is late) and a timeline entry. One
transaction per case; running it again adds nothing. ``python -m workflow.statutory import`` runs it after a
year is loaded (``--no-backfill`` skips it).
"""
from __future__ import annotations

import logging
import weakref
from collections import OrderedDict
from zoneinfo import ZoneInfo

from sqlalchemy import select

from estatedesk_common.unit_of_work import UnitOfWork

from . import escalation, policies, presets, repository
from .domain import sla
from .tables import cases, reliability, sla_policies

log = logging.getLogger(__name__)


# Built policies by (tenant, layers), per engine (so test databases never share one): a stored version is never
# changed (a save adds a version), so the policy built from given layers never changes either, and the timer loop,
# which needs the case's policy for every warning, breach and escalation, builds each once. The statutory calendar
# is looked up when a day is counted, not at build time, so years loaded later still count.
_BUILT: "weakref.WeakKeyDictionary[object, OrderedDict]" = weakref.WeakKeyDictionary()
BUILT_MAX = 256


def policy_for_case(conn, tenant_id: str, levels: list[dict]) -> sla.Policy:
    """The policy built from exactly the layers (scope, version) a case was opened under."""
    key = (tenant_id, tuple((level["scope"], level["version"]) for level in levels))
    built = _BUILT.setdefault(conn.engine, OrderedDict())
    policy = built.get(key)
    if policy is None:
        policy = built[key] = _build_for_case(conn, tenant_id, levels)
        while len(built) > BUILT_MAX:
            built.popitem(last=False)
    else:
        built.move_to_end(key)
    return policy


def _build_for_case(conn, tenant_id: str, levels: list[dict]) -> sla.Policy:
    layers = []
    for level in levels:
        if level["scope"] == policies.BUILTIN:
            layers.append((policies.BUILTIN, None, presets.load("seed002")))
            continue
        document = conn.execute(select(sla_policies.c.document).where(
            sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == level["scope"],
            sla_policies.c.version == level["version"])).scalar_one()
        layers.append((level["scope"], level["version"], document))
    return sla.build(layers)


def fill_missing_deadlines(engine, clock) -> list[dict]:
    """``[{reference, stages, still_missing}]`` for each case that got deadlines."""
    with engine.connect() as conn:
        todo = conn.execute(select(cases.c.tenant_id, cases.c.id).where(
            cases.c.status.not_in(sorted(escalation.DONE)))).all()
    report = []
    for tenant_id, case_id in todo:
        added = _fill_one(engine, clock, tenant_id, case_id)
        if added:
            report.append(added)
    return report


def _fill_one(engine, clock, tenant_id: str, case_id: str) -> dict | None:
    with UnitOfWork(engine, reliability, clock) as uow:
        case = repository.get_case(uow.conn, tenant_id, case_id)
        if case is None or case["status"] in escalation.DONE or not case["policy_levels"]:
            return None
        policy = policy_for_case(uow.conn, tenant_id, case["policy_levels"])
        severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
        failures: list = []
        computed = sla.compute(policy, case["received_at"], severity, case["category"], case["channel"], failures)
        have = {d["stage"] for d in repository.deadlines(uow.conn, tenant_id, case_id)}
        rows = [r for r in policies.deadline_rows(computed, case["received_at"], case["policy_version"])
                if r["stage"] not in have]
        if not rows:
            return None
        for row in rows:
            repository.add_deadline(uow.conn, tenant_id, case_id, row)
        escalation.schedule_case_timers(uow, tenant_id, case_id, case["received_at"], rows)
        zone = ZoneInfo(case["timezone"])
        text = "；".join(f"补算时限：「{r['stage']}」{r['due_at'].astimezone(zone):%Y-%m-%d %H:%M}（{r['explanation']}）"
                        for r in rows)
        repository.add_timeline(uow.conn, tenant_id, case_id, clock.now(), "deadlines_added", "workflow", text)
        uow.commit()
    log.info("case %s: deadlines added for %s", case["reference"], [r["stage"] for r in rows])
    return {"reference": case["reference"], "stages": [r["stage"] for r in rows],
            "still_missing": [f["stage"] for f in failures]}
