"""Nonconformity records and CAPA (domain/quality.py for the rules).

``on_resolved`` runs inside the ``resolve`` action's transaction: a loss of 500 yuan or more opens a
nonconformity record; the same cause resolved 3 times at the estate within 30 days opens (or joins) a CAPA
record. ``act(..., "decide_nonconformity", {approve, note})`` is the site manager's decision (If-Match like every
action; an approved record opens or joins a CAPA record owned by the approver). ``check_capa`` records the
effectiveness check. Reads are scoped to the caller's estates (``estates_from_roles``).

Events: ``nonconformity_opened`` {record_id, case_id, complaint_id, reference, estate_code, cause, loss_amount,
at}; ``nonconformity_decided`` {…, status (approved | rejected), by, note}; ``capa_opened`` {capa_id,
estate_code, cause, trigger (nonconformity | cluster), case_ids, owner, due_at, at}; ``capa_case_added``
{capa_id, estate_code, cause, case_id, at}; ``capa_checked`` {capa_id, estate_code, cause, effective, status
(closed | open), due_at, by, note, at}.
"""
from __future__ import annotations

import uuid

from sqlalchemy import select, update

from estatedesk_common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from estatedesk_common.tenant import estates_from_roles

from . import repository
from .domain import quality as rules
from .tables import capa_records, cases, nonconformity_records

ACTIONS = rules.ACTIONS


class QualityForbidden(Forbidden):
    code = "nonconformity_not_allowed"


class CapaNotFound(NotFound):
    code = "capa_not_found"


class StaleCase(Conflict):
    code = "version_conflict"


def on_resolved(uow, case, details: dict, user_id: str | None, now) -> None:
    """After ``resolve`` updated the case (``details``: the action's cause, remedy, loss_amount)."""
    conn, tenant_id = uow.conn, case["tenant_id"]
    body = {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
            "estate_code": case["estate_code"]}
    if rules.needs_record(details["loss_amount"]):
        record_id = str(uuid.uuid4())
        loss = int(round(details["loss_amount"]))
        conn.execute(nonconformity_records.insert().values(
            tenant_id=tenant_id, id=record_id, case_id=case["id"], reference=case["reference"],
            estate_code=case["estate_code"], cause=details["cause"], remedy=details["remedy"], loss_amount=loss,
            status="open", opened_at=now, opened_by=user_id))
        uow.publish("nonconformity_opened", tenant_id, body | {
            "record_id": record_id, "cause": details["cause"], "loss_amount": loss, "at": now.isoformat()})
        repository.add_timeline(conn, tenant_id, case["id"], now, "nonconformity_opened", "workflow",
                                f"已开立《不合格品/服务记录处理单》（业主损失 {loss} 元），待项目经理审批")
    times = conn.execute(select(cases.c.resolved_at).where(
        cases.c.tenant_id == tenant_id, cases.c.estate_code == case["estate_code"],
        cases.c.cause == details["cause"], cases.c.resolved_at.is_not(None),
        cases.c.resolved_at >= now - rules.CLUSTER_WINDOW)).scalars().all()
    if rules.cluster_reached(details["cause"], list(times), now):
        open_or_join(uow, case, details["cause"], "cluster", case["department"] or "site_manager", now)


def open_or_join(uow, case, cause: str, trigger: str, owner: str, now) -> str:
    """The open CAPA record of the estate and cause gets the case; without one a record opens. Its id."""
    conn, tenant_id, estate = uow.conn, case["tenant_id"], case["estate_code"]
    current = conn.execute(select(capa_records).where(
        capa_records.c.tenant_id == tenant_id, capa_records.c.estate_code == estate, capa_records.c.cause == cause,
        capa_records.c.status == "open")).mappings().first()
    label = rules.CAUSE_ZH.get(cause, cause)
    if current is not None:
        if case["id"] not in current["case_ids"]:
            conn.execute(update(capa_records).where(capa_records.c.tenant_id == tenant_id,
                                                    capa_records.c.id == current["id"])
                         .values(case_ids=list(current["case_ids"]) + [case["id"]]))
            uow.publish("capa_case_added", tenant_id, {"capa_id": current["id"], "estate_code": estate,
                                                        "cause": cause, "case_id": case["id"], "at": now.isoformat()})
            repository.add_timeline(conn, tenant_id, case["id"], now, "capa_case_added", "workflow",
                                    f"已并入进行中的纠正/预防措施（原因：{label}）")
        return current["id"]
    case_ids = [case["id"]]
    if trigger == "cluster":
        case_ids = conn.execute(select(cases.c.id).where(
            cases.c.tenant_id == tenant_id, cases.c.estate_code == estate, cases.c.cause == cause,
            cases.c.resolved_at >= now - rules.CLUSTER_WINDOW).order_by(cases.c.resolved_at)).scalars().all()
    capa_id, due = str(uuid.uuid4()), rules.capa_due(now)
    conn.execute(capa_records.insert().values(
        tenant_id=tenant_id, id=capa_id, estate_code=estate, cause=cause, trigger=trigger, case_ids=list(case_ids),
        owner=owner, status="open", opened_at=now, due_at=due))
    uow.publish("capa_opened", tenant_id, {"capa_id": capa_id, "estate_code": estate, "cause": cause,
                                           "trigger": trigger, "case_ids": list(case_ids), "owner": owner,
                                           "due_at": due.isoformat(), "at": now.isoformat()})
    why = "不合格服务记录已批准" if trigger == "nonconformity" else \
        f"同一原因 {rules.CLUSTER_WINDOW.days} 天内出现 {len(case_ids)} 次"
    repository.add_timeline(conn, tenant_id, case["id"], now, "capa_opened", "workflow",
                            f"已开立纠正/预防措施（原因：{label}；{why}；负责人：{owner}）")
    return capa_id


def act(uow, case, action: str, data: dict, user_id: str | None, roles) -> dict:
    """``decide_nonconformity`` {approve, note}: inside the caller's unit of work, the case's version checked."""
    try:
        verdict = rules.parse_verdict(data)
    except rules.QualityInvalid as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    conn, tenant_id, now = uow.conn, case["tenant_id"], uow.clock.now()
    record = conn.execute(select(nonconformity_records).where(
        nonconformity_records.c.tenant_id == tenant_id, nonconformity_records.c.case_id == case["id"],
        nonconformity_records.c.status == "open").order_by(nonconformity_records.c.opened_at.desc())
    ).mappings().first()
    if record is None:
        raise ValidationFailed("no nonconformity record of this case is waiting for a decision", field="action")
    if not rules.may_decide(roles, case["estate_code"]):
        raise QualityForbidden("a nonconformity record is decided by the estate's site manager", field="action")
    status = "approved" if verdict.approve else "rejected"
    conn.execute(update(nonconformity_records).where(nonconformity_records.c.tenant_id == tenant_id,
                                                     nonconformity_records.c.id == record["id"])
                 .values(status=status, decided_by=user_id, decided_at=now, note=verdict.note))
    changed = conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"],
                                               cases.c.version == case["version"])
                           .values(version=case["version"] + 1)).rowcount
    if changed != 1:
        raise StaleCase("the case changed since you loaded it", field="version")
    repository.add_timeline(conn, tenant_id, case["id"], now, "nonconformity_decided", user_id or "workflow",
                            ("批准" if verdict.approve else "驳回") + "不合格服务记录"
                            + (f"；意见：{verdict.note}" if verdict.note else ""))
    uow.publish("nonconformity_decided", tenant_id, {
        "record_id": record["id"], "case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
        "estate_code": case["estate_code"], "cause": record["cause"], "loss_amount": record["loss_amount"],
        "status": status, "by": user_id, "note": verdict.note, "at": now.isoformat()})
    capa_id = open_or_join(uow, case, record["cause"], "nonconformity", user_id or "site_manager", now) \
        if verdict.approve else None
    return {"complaint_id": case["id"], "status": case["status"], "version": case["version"] + 1,
            "stages_met": [], "nonconformity": {"record_id": record["id"], "status": status, "capa_id": capa_id}}


def _scoped(q, table, roles, estate):
    scope = estates_from_roles(roles)
    if estate:
        scope = frozenset({estate}) if scope is None or estate in scope else frozenset()
    if scope is not None:
        q = q.where(table.c.estate_code.in_(sorted(scope)))
    return q


def _iso(value):
    return value.isoformat() if value is not None else None


def list_nonconformities(conn, tenant_id: str, roles, estate=None, status=None) -> dict:
    q = _scoped(select(nonconformity_records).where(nonconformity_records.c.tenant_id == tenant_id),
                nonconformity_records, roles, estate)
    if status:
        q = q.where(nonconformity_records.c.status == status)
    rows = conn.execute(q.order_by(nonconformity_records.c.opened_at.desc()).limit(500)).mappings().all()
    return {"items": [{"record_id": r["id"], "complaint_id": r["case_id"], "reference": r["reference"],
                       "estate": r["estate_code"], "cause": r["cause"], "remedy": r["remedy"],
                       "loss_amount": r["loss_amount"], "status": r["status"], "opened_at": _iso(r["opened_at"]),
                       "opened_by": r["opened_by"], "decided_by": r["decided_by"],
                       "decided_at": _iso(r["decided_at"]), "note": r["note"]} for r in rows]}


def of_case(conn, tenant_id: str, case_id: str) -> list[dict]:
    """The case's nonconformity records, oldest first (the case page: an ``open`` one waits for the decision)."""
    rows = conn.execute(select(nonconformity_records).where(
        nonconformity_records.c.tenant_id == tenant_id, nonconformity_records.c.case_id == case_id)
        .order_by(nonconformity_records.c.opened_at)).mappings().all()
    return [{"record_id": r["id"], "cause": r["cause"], "loss_amount": r["loss_amount"], "status": r["status"],
             "opened_at": _iso(r["opened_at"]), "decided_by": r["decided_by"], "decided_at": _iso(r["decided_at"]),
             "note": r["note"]} for r in rows]


def _capa(r, now) -> dict:
    return {"capa_id": r["id"], "estate": r["estate_code"], "cause": r["cause"], "trigger": r["trigger"],
            "case_ids": list(r["case_ids"]), "owner": r["owner"], "status": r["status"],
            "opened_at": _iso(r["opened_at"]), "due_at": _iso(r["due_at"]),
            "overdue": rules.is_overdue(r["status"], r["due_at"], now), "checked_at": _iso(r["checked_at"]),
            "checked_by": r["checked_by"], "effective": r["effective"], "check_note": r["check_note"],
            "closed_at": _iso(r["closed_at"])}


def list_capa(conn, tenant_id: str, roles, estate=None, status=None, now=None) -> dict:
    q = _scoped(select(capa_records).where(capa_records.c.tenant_id == tenant_id), capa_records, roles, estate)
    if status:
        q = q.where(capa_records.c.status == status)
    rows = conn.execute(q.order_by(capa_records.c.due_at).limit(500)).mappings().all()
    return {"items": [_capa(r, now) for r in rows]}


def check_capa(uow, tenant_id: str, user_id: str | None, roles, capa_id, effective, note) -> dict:
    try:
        capa_id = str(uuid.UUID(str(capa_id)))
        verdict = rules.parse_verdict({"effective": effective, "note": note}, "effective")
    except ValueError as exc:
        if isinstance(exc, rules.QualityInvalid):
            raise ValidationFailed(str(exc), field=exc.field) from exc
        raise CapaNotFound("no such CAPA record", field="id") from None
    with uow:
        q = _scoped(select(capa_records).where(capa_records.c.tenant_id == tenant_id, capa_records.c.id == capa_id),
                    capa_records, roles, None)
        row = uow.conn.execute(q).mappings().first()
        if row is None:
            raise CapaNotFound("no such CAPA record", field="id")
        if not rules.may_decide(roles, row["estate_code"]):
            raise QualityForbidden("the effectiveness check is the site manager's", field="id")
        if row["status"] != "open":
            raise ValidationFailed("the CAPA record is closed", field="id")
        now = uow.clock.now()
        status, due = rules.after_check(verdict.approve, now)
        uow.conn.execute(update(capa_records).where(capa_records.c.tenant_id == tenant_id,
                                                    capa_records.c.id == capa_id).values(
            status=status, due_at=due or row["due_at"], checked_at=now, checked_by=user_id,
            effective=verdict.approve, check_note=verdict.note, closed_at=now if status == "closed" else None))
        uow.publish("capa_checked", tenant_id, {
            "capa_id": capa_id, "estate_code": row["estate_code"], "cause": row["cause"],
            "effective": verdict.approve, "status": status, "due_at": (due or row["due_at"]).isoformat(),
            "by": user_id, "note": verdict.note, "at": now.isoformat()})
        uow.commit()
    return _capa(dict(row) | {"status": status, "due_at": due or row["due_at"], "checked_at": now,
                              "checked_by": user_id, "effective": verdict.approve, "check_note": verdict.note,
                              "closed_at": now if status == "closed" else None}, now)
