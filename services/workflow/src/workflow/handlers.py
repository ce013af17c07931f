"""workflow use cases."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from zoneinfo import ZoneInfo

from . import (deferrals, duty, escalation, extensions, forwarding, policies, policy_admin, quality, repository,
               routing, upgrades)
from .domain import repeats, sla
from estatedesk_common.sorting import Sort, parse_sort
from estatedesk_common.tenant import estates_from_roles
from .exceptions import CaseNotFound

CONSUMER_OPEN_CASE = "workflow.open_case"

log = logging.getLogger(__name__)


def open_case(envelope, uow) -> bool:
    """``complaint_received`` -> a case with a deadline for every stage of its severity, and ``case_opened``.

    The policy is the one in force for the estate at receipt; the case keeps its version. A complaint without a
    severity (or with one the policy lacks) gets the policy's default severity, noted on the timeline. A stage the
    calendar cannot count (a year it has no data for) is left without a deadline and reported loudly on the
    timeline and in the log rather than guessed. Opened outside the estate's business hours with someone on duty,
    the case goes to them instead of the routing rules (workflow.duty). Idempotent.
    """
    p = envelope.payload
    tenant_id = envelope.tenant_id
    with uow:
        if not uow.claim(envelope, CONSUMER_OPEN_CASE):
            return False
        case_id = p["complaint_id"]
        if repository.case_exists(uow.conn, tenant_id, case_id):  # same complaint re-sent as a new event
            uow.commit()
            return False
        estate = p["estate"]
        received_at = dt.datetime.fromisoformat(p["received_at"])
        now = uow.clock.now()
        policy = policies.effective_policy(uow.conn, tenant_id, estate, received_at)
        severity, notes = _severity(policy, p.get("severity"))
        if p.get("repeat_of"):  # 重复投诉 (intake links it): raised per the seeds, why on the timeline
            severity = _repeat_severity(uow.conn, tenant_id, policy, severity, p["repeat_of"], notes)
        failures: list = []
        committee_start = forwarding.starts(p)
        deadlines = sla.compute(policy, received_at, severity, p.get("category"), p["channel"], failures,
                                starts=committee_start)
        repository.add_case(uow.conn, {
            "tenant_id": tenant_id, "id": case_id, "reference": p["reference"], "estate_code": estate["code"],
            "estate_name": estate["name"], "timezone": estate["timezone"], "channel": p["channel"],
            "category": p.get("category"), "severity": severity, "status": "open",
            "received_at": received_at, "opened_at": now, "owner_user_id": p.get("received_by"),
            "policy_version": policy.version_label,
            "policy_levels": [{"scope": s, "version": v} for s, v in policy.levels],
        })
        rows = policies.deadline_rows(deadlines, received_at, policy.version_label)
        major = upgrades.at_opening(policy, severity, rows, received_at)  # + special team (seed 002)
        on_duty = duty.on_duty_now(uow.conn, tenant_id, estate["code"], policy.calendar, now)  # night shift
        routed = None if on_duty else routing.assign_new_case(uow.conn, tenant_id, estate["code"], p.get("category"))
        actions_of = {s.name: s.actions for s in policy.stages_for(severity, p.get("category"), p["channel"])}
        met = routing.meet_on_assignment(rows, now, actions_of) if routed or on_duty else []
        if routed:
            routing.record(uow.conn, tenant_id, case_id, *routed)
        if on_duty:
            duty.record(uow.conn, tenant_id, case_id, on_duty)
        late = forwarding.meet_on_receipt(rows, received_at) if committee_start else []
        for row in rows:
            repository.add_deadline(uow.conn, tenant_id, case_id, row)
        escalation.schedule_case_timers(uow, tenant_id, case_id, received_at, [r for r in rows if not r.get("met_at")],
                                        policy.warning_fraction(severity))
        repository.add_timeline(uow.conn, tenant_id, case_id, now, "case_opened", "workflow",
                                _opened_text(rows, estate["timezone"], policy, severity, notes, failures))
        forwarding.report_late(uow, tenant_id, {"id": case_id, "reference": p["reference"],
                                                "estate_code": estate["code"], "timezone": estate["timezone"]},
                               late, received_at, now)
        uow.publish("case_opened", tenant_id, {
            "case_id": case_id, "complaint_id": case_id, "reference": p["reference"], "estate": estate,
            "channel": p["channel"], "description": p["description"], "complainant": p["complainant"],
            "category": p.get("category"), "severity": severity, "received_at": p["received_at"],
            "opened_at": now.isoformat(), "policy_version": policy.version_label,
            "status": "open", "version": 1,  # a new case (tables.cases: version 1); routing may assign it at once
            "deadlines": [{"stage": r["stage"], "due_at": r["due_at"].isoformat(), "limit": r["limit_spec"]}
                          for r in rows],
            **{k: p.get(k) for k in ("committee_received_at", "forwarded_by", "instructions")},
        })
        case = dict(repository.get_case(uow.conn, tenant_id, case_id))
        if routed:
            routing.announce(uow, case, routed[0], met, now)
        if on_duty:
            duty.announce(uow, case, on_duty, met, now)
        upgrades.after_opening(uow, case, policy, major, "repeat" if p.get("repeat_of") else "opened", rows)
        uow.commit()
    for failure in failures:
        log.error("case %s: no deadline for stage %s: %s", p["reference"], failure["stage"], failure["error"])
    log.info("case %s opened under %s with %d deadlines", p["reference"], policy.version_label, len(rows))
    return True


def _severity(policy, given: str | None) -> tuple[str, list[str]]:
    if given and given in policy.severities:
        return given, []
    if given:
        return policy.default_severity, [f"严重程度「{given}」不在策略中，按默认「{policy.default_severity}」计时"]
    return policy.default_severity, []


def _repeat_severity(conn, tenant_id: str, policy, severity: str, link: dict, notes: list) -> str:
    earlier = repository.get_case(conn, tenant_id, str(link.get("complaint_id")))
    labels = {key: spec.get("label") for key, spec in policy.severities.items()}
    raised = repeats.raise_for_repeat(repeats.ranking(policy.severity_order, policy.severities), severity,
                                      earlier["severity"] if earlier else None, int(link.get("repeat_count") or 1),
                                      link.get("reference") or str(link.get("complaint_id")), labels)
    notes.append(raised.note)
    return raised.severity


def _opened_text(rows, timezone: str, policy, severity: str, notes: list, failures: list) -> str:
    zone = ZoneInfo(timezone)
    first = next((r for r in rows if r["stage"] == "first_contact"), rows[0] if rows else None)
    text = f"立案（{severity}，策略 {policy.version_label}）"
    if first is not None:
        text += f"；{_stage_zh(first['stage'])}时限 {first['due_at'].astimezone(zone):%Y-%m-%d %H:%M}（{first['explanation']}）"
    text += "".join(f"；{note}" for note in notes)
    text += "".join(f"；⚠ 阶段「{f['stage']}」无法计算时限：{f['error']}" for f in failures)
    return text


def _stage_zh(stage: str) -> str:
    return "首次联系业主" if stage == "first_contact" else f"「{stage}」"


def get_case(case_id: str, tenant_id: str, engine) -> dict:
    try:
        uuid.UUID(str(case_id))
    except ValueError:
        raise CaseNotFound("no such case", field="id") from None
    with engine.connect() as conn:
        case = repository.get_case(conn, tenant_id, str(case_id))
        if case is None:
            raise CaseNotFound("no such case", field="id")
        deadlines = repository.deadlines(conn, tenant_id, case["id"])
        timeline = repository.timeline(conn, tenant_id, case["id"])
        requests = extensions.view(conn, case)
        deferred = deferrals.view(conn, case)
        records = quality.of_case(conn, tenant_id, case["id"])
    return {
        "complaint_id": case["id"], "reference": case["reference"], "status": case["status"],
        "estate": case["estate_code"], "severity": case["severity"], "category": case["category"],
        "policy_version": case["policy_version"], "escalation_level": case["escalation_level"],
        "version": case["version"], "assignee": case["assignee"], "department": case["department"],
        "owner_user_id": case["owner_user_id"], "cause": case["cause"], "remedy": case["remedy"],
        "loss_amount": case["loss_amount"],
        "resolved_at": case["resolved_at"].isoformat() if case["resolved_at"] else None,
        "deadlines": [{"stage": d["stage"], "due_at": d["due_at"].isoformat(),
                       "met_at": d["met_at"].isoformat() if d["met_at"] else None, "limit": d["limit_spec"],
                       "explanation": d["explanation"], "explanation_en": d["explanation_en"],
                       "policy_version": d["policy_version"],
                       "original_due_at": d["original_due_at"].isoformat() if d["original_due_at"] else None}
                      for d in deadlines],
        "extensions": requests,  # extension (延期) requests, oldest first; status pending | approved | rejected
        "deferrals": deferred,  # deferrals with the owner's consent, oldest first (workflow.deferrals)
        "nonconformities": records,  # nonconformity records, oldest first; ``open`` waits for the site manager
        "timeline": [{"at": t["at"].isoformat(), "kind": t["kind"], "actor": t["actor"], "text": t["text"]}
                     for t in timeline],
    }


def preview_sla(tenant_id: str, engine, document, received_at, severity: str, category=None, estate=None,
                channel=None, scope=None) -> dict:
    """``scope`` given: ``document`` is that scope's layer (an override), merged with the layers in force."""
    with engine.connect() as conn:
        if scope is not None:
            return policy_admin.preview_layer(conn, tenant_id, scope, document, received_at, severity, category,
                                              estate, channel)
        return policies.preview(conn, tenant_id, document, received_at, severity, category, estate, channel)


def get_sla_policy(tenant_id: str, engine, estate=None, at=None, clock=None) -> dict:
    instant = policies.parse_instant(at, "at") if at else clock.now()
    with engine.connect() as conn:
        return policies.policy_in_force(conn, tenant_id, estate, instant)


QUEUE_MAX = 200
QUEUE_DEFAULT_SORT = Sort("due_at", descending=False)


def list_cases(tenant_id: str, roles, user_id, engine, now, estate=None, status=None, overdue=False,
               escalated=False, mine=False, limit=50, offset=0, complaint_ids=None, extension_pending=False,
               assignee_names=(), sort=None, order=None) -> dict:
    """The queue: the caller's cases (estate scope from ``roles``), each with its next pending deadline.
    ``extension_pending`` keeps the cases with an extension request waiting for a decision (the 延期审批 inbox)
    and adds each one's ``pending_extensions`` (oldest first). ``mine``: received by the caller or assigned to
    them, by user id or by one of ``assignee_names`` (the caller's username: routing assigns usernames).
    ``sort`` (``repository.QUEUE_SORTS``, default due_at: soonest pending deadline first) and ``order`` (asc|desc)
    order the query; anything else is ``InvalidSort`` (400, field sort/order).

    ``{"total", "items": [{complaint_id, reference, estate, estate_name, timezone, channel, category, severity,
    status, escalation_level, assignee, version, received_at, next_deadline: {stage, due_at} | None,
    overdue, deferred_until}]}``: a deferred case is never overdue (its clocks are paused) and carries the end of
    its deferral. An ``estate`` outside the caller's scope gives an empty list, not an error.
    """
    chosen = parse_sort(sort, order, repository.QUEUE_SORTS, QUEUE_DEFAULT_SORT)
    scope = estates_from_roles(roles)
    if estate:
        scope = frozenset({estate}) if scope is None or estate in scope else frozenset()
    if mine and not user_id:
        return {"total": 0, "items": []}
    limit = max(1, min(int(limit or 50), QUEUE_MAX))
    offset = max(0, int(offset or 0))
    ids = None if complaint_ids is None else [str(i) for i in complaint_ids][:QUEUE_MAX]
    with engine.connect() as conn:
        if scope is not None and not scope:
            return {"total": 0, "items": []}
        total, rows = repository.list_cases(conn, tenant_id, scope, now, status=status, overdue=bool(overdue),
                                            escalated=bool(escalated), user_id=user_id if mine else None,
                                            complaint_ids=ids, limit=limit, offset=offset,
                                            extension_pending=bool(extension_pending),
                                            assignee_names=[str(n)[:150] for n in (assignee_names or ())][:5],
                                            sort=chosen.key, descending=chosen.descending)
        stages = repository.pending_stages(conn, tenant_id, [r["id"] for r in rows if r["next_due_at"]])
        asked = repository.pending_extensions(conn, tenant_id, [r["id"] for r in rows]) if extension_pending else {}
        paused = repository.open_deferrals(conn, tenant_id, [r["id"] for r in rows if r["status"] == "deferred"])
    items = [_queue_item(r, stages.get(r["id"], []), now, paused.get(r["id"])) for r in rows]
    if extension_pending:
        items = [i | {"pending_extensions": asked.get(i["complaint_id"], [])} for i in items]
    return {"total": total, "items": items}


def _queue_item(row, pending, now, deferred_until=None) -> dict:
    next_deadline = None
    if pending:
        due_at, stage = pending[0]
        next_deadline = {"stage": stage, "due_at": due_at.isoformat()}
    return {
        "complaint_id": row["id"], "reference": row["reference"], "estate": row["estate_code"],
        "estate_name": row["estate_name"], "timezone": row["timezone"], "channel": row["channel"],
        "category": row["category"], "severity": row["severity"], "status": row["status"],
        "escalation_level": row["escalation_level"], "assignee": row["assignee"], "version": row["version"],
        "received_at": row["received_at"].isoformat(), "next_deadline": next_deadline,
        "overdue": bool(pending) and pending[0][0] <= now and row["status"] != "deferred",
        "deferred_until": deferred_until.isoformat() if deferred_until else None,
    }
