"""Routing use cases: the rules a tenant keeps (``list_routing_rules`` / ``save_routing_rules``) and the
assignment of a new case (``assign_new_case``, called by ``handlers.open_case`` in its transaction).

Who may do what (the call context's roles): group_admin saves any scope; a site_manager saves its own estates'
scope; reading is open to the SLA roles (group roles: every scope; site_manager and cs_supervisor: the group's
rules and their estates'). A new case takes the most specific rule (domain/routing.py); its ``assignee`` is the
member picked, ``department`` the rule's department; the owner of record (``owner_user_id``, who received the
complaint: first-question responsibility) is not touched. Round-robin moves the rule's cursor in the same
transaction (on PostgreSQL under a row lock, so two cases opened at once do not pick the same member).
"""
from __future__ import annotations

from dataclasses import replace

from sqlalchemy import delete, func, select, update

from estatedesk_common.db import is_postgres
from estatedesk_common.errors import Forbidden, ValidationFailed
from estatedesk_common.tenant import GROUP_ROLES

from . import repository
from .domain import routing as rules_domain
from .domain.sla.meeting import met_by
from .tables import cases, routing_rules

DONE = ("resolved", "closed", "cancelled")
READERS = ("site_manager", "cs_supervisor")


class RoutingForbidden(Forbidden):
    code = "forbidden"


def _rule(row) -> rules_domain.Rule:
    return rules_domain.Rule(row["scope"], row["position"], row["category"], row["department"], tuple(row["team"]),
                             row["strategy"], row["last_assignee"])


def _visible_scopes(roles) -> set | None:
    """None: every scope; else the scopes the roles may read."""
    scopes = {"group"}
    for item in roles or ():
        role, estate = (list(item) + [None, None])[:2]
        if role in GROUP_ROLES:
            return None
        if role in READERS and estate:
            scopes.add(f"estate:{estate}")
    if scopes == {"group"}:
        raise RoutingForbidden("your roles do not include routing")
    return scopes


def list_rules(conn, tenant_id: str, roles, estate: str | None = None) -> dict:
    """``{"items": [{scope, estate, category, department, team, strategy, last_assignee, updated_at,
    updated_by}]}``: the scopes the caller may read (with ``estate``: the group's and that estate's)."""
    visible = _visible_scopes(roles)
    q = select(routing_rules).where(routing_rules.c.tenant_id == tenant_id)
    if estate:
        q = q.where(routing_rules.c.scope.in_(["group", f"estate:{estate}"]))
    rows = conn.execute(q.order_by(routing_rules.c.scope, routing_rules.c.position)).mappings().all()
    return {"items": [rules_domain.as_dict(_rule(r)) | {"updated_at": r["updated_at"].isoformat(),
                                                        "updated_by": r["updated_by"]}
                      for r in rows if visible is None or r["scope"] in visible]}


def save_rules(uow, tenant_id: str, user_id: str | None, roles, scope: str, raw) -> dict:
    """Replace ``scope``'s rules (an empty list removes them). Round-robin cursors of rules whose team still
    holds the last member picked are kept."""
    try:
        parsed = rules_domain.parse_rules(scope, raw)
    except rules_domain.RuleInvalid as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    _check_writer(roles, scope)
    with uow:
        now = uow.clock.now()
        where = (routing_rules.c.tenant_id == tenant_id, routing_rules.c.scope == scope)
        cursors = {r["category"]: r["last_assignee"]
                   for r in uow.conn.execute(select(routing_rules).where(*where)).mappings()}
        uow.conn.execute(delete(routing_rules).where(*where))
        for rule in parsed:
            last = cursors.get(rule.category)
            uow.conn.execute(routing_rules.insert().values(
                tenant_id=tenant_id, scope=scope, position=rule.position, category=rule.category,
                department=rule.department, team=list(rule.team), strategy=rule.strategy,
                last_assignee=last if last in rule.team else None, updated_at=now, updated_by=user_id))
        uow.publish("routing_rules_saved", tenant_id, {"scope": scope, "rules": len(parsed), "by": user_id,
                                                       "at": now.isoformat()})
        uow.commit()
    return {"scope": scope, "items": [rules_domain.as_dict(r) for r in parsed]}


def _check_writer(roles, scope: str) -> None:
    held = {tuple(item) for item in (roles or ()) if isinstance(item, (list, tuple)) and len(item) == 2}
    if any(role == "group_admin" for role, _ in held):
        return
    if scope.startswith("estate:") and ("site_manager", scope[len("estate:"):]) in held:
        return
    raise RoutingForbidden("only a group admin, or the site manager of that estate, may change routing rules",
                           field="scope")


def assign_new_case(conn, tenant_id: str, estate: str, category: str | None):
    """``(rule, assignee)`` for a new case, the round-robin cursor moved; None when no rule applies.

    On PostgreSQL only the matched rule's row is locked, and read again under the lock for its cursor. Locking every
    candidate rule made each case opening of an estate wait for the one before, even when no rule routed it, and two
    openings locking the same rows in different heap order deadlocked (the 10,000-complaint fault run: 407 in 9
    minutes, each a 1 s deadlock timeout and a requeue; docs/reliability.md). If the rules were saved between the
    two reads, every candidate is locked, in key order."""
    rule = _match(conn, tenant_id, estate, category, lock=False)
    if rule is not None and is_postgres(conn.engine):
        locked = _lock(conn, tenant_id, rule)
        same = locked is not None and replace(locked, last_assignee=None) == replace(rule, last_assignee=None)
        rule = locked if same else _match(conn, tenant_id, estate, category, lock=True)
    if rule is None:
        return None
    loads = _loads(conn, tenant_id, rule.team) if rule.strategy == "least_loaded" else None
    assignee = rules_domain.pick(rule, loads)
    conn.execute(update(routing_rules).where(
        routing_rules.c.tenant_id == tenant_id, routing_rules.c.scope == rule.scope,
        routing_rules.c.position == rule.position).values(last_assignee=assignee))
    return rule, assignee


def _match(conn, tenant_id: str, estate: str, category: str | None, lock: bool):
    q = (select(routing_rules).where(routing_rules.c.tenant_id == tenant_id,
                                     routing_rules.c.scope.in_(["group", f"estate:{estate}"]))
         .order_by(routing_rules.c.scope, routing_rules.c.position))
    return rules_domain.match([_rule(r) for r in conn.execute(q.with_for_update() if lock else q).mappings()],
                              estate, category)


def _lock(conn, tenant_id: str, rule):
    q = select(routing_rules).where(routing_rules.c.tenant_id == tenant_id, routing_rules.c.scope == rule.scope,
                                    routing_rules.c.position == rule.position).with_for_update()
    row = conn.execute(q).mappings().first()
    return None if row is None else _rule(row)


def _loads(conn, tenant_id: str, team) -> dict:
    q = (select(cases.c.assignee, func.count()).where(
        cases.c.tenant_id == tenant_id, cases.c.assignee.in_(list(team)), cases.c.status.not_in(DONE))
        .group_by(cases.c.assignee))
    return {assignee: count for assignee, count in conn.execute(q)}


def meet_on_assignment(rows: list[dict], now, actions_of: dict | None = None) -> list[str]:
    """Mark the stages an assignment meets as met ``now`` (in ``rows``, before they are stored): those met by
    ``assign`` (``actions_of`` {stage: met_by}; default by name) except the ones a person must do
    (``rules_domain.NOT_BY_ROUTING``: forming the special team)."""
    met = []
    for row in rows:
        actions = (actions_of or {}).get(row["stage"], met_by(row["stage"]))
        if "assign" in actions and row["stage"] not in rules_domain.NOT_BY_ROUTING and not row.get("met_at"):
            row["met_at"] = now
            met.append(row["stage"])
    return met


def record(conn, tenant_id: str, case_id: str, rule, assignee: str) -> None:
    conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case_id)
                 .values(assignee=assignee, department=rule.department, status="assigned"))


def announce(uow, case: dict, rule, met: list[str], now) -> None:
    """Timeline entry (kind ``case_routed``: assigned by the rules, not by a person) and ``case_assigned`` (the shape of the ``assign`` action's event, ``by`` null and
    ``routed`` true, plus ``department``, ``rule`` and ``strategy``)."""
    text = (f"自动派单：责任部门 {rule.department}，处理人 {case['assignee']}（{rule.describe_zh()}，"
            f"{rules_domain.STRATEGY_ZH[rule.strategy]}）") + (f"；已完成时限：{'、'.join(met)}" if met else "")
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "case_routed", "workflow", text)
    uow.publish("case_assigned", case["tenant_id"], {
        "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "action": "assign", "status": "assigned", "by": None, "routed": True,
        "version": case["version"], "stages_met": met, "note": "", "assignee": case["assignee"], "department": rule.department,
        "rule": {"scope": rule.scope, "category": rule.category}, "strategy": rule.strategy, "at": now.isoformat()})
