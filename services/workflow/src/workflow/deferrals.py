"""Deferral with the owner's consent (seed 001 part 5 §4.1.5): ``act(..., "defer" | "resume", data)`` and the
``resume`` timer at the deferral's end (rules in domain/deferrals.py).

``defer`` {consented_by, until?, note?} on a non-urgent case that is not done: status ``deferred`` (the status
before is kept), a ``case_deferrals`` row (who consented, the agent who recorded it: the caller, until when;
default the start of the estate's next working period on the case's policy calendar), the case's pending
``sla_warning``/``sla_breach`` timers cancelled, a ``resume`` timer at ``until``, version + 1, timeline
``case_deferred`` and ``case_deferred``. Refused for the top (urgent/major) severity: 422
``deferral_not_allowed`` on ``severity``.

``resume`` {note?} (by hand, or the timer at ``until``): the status before, every pending due time moved by the
pause (``domain.deferrals.resumed_due``; ``original_due_at`` of an extended stage too), the timers the
deferral cancelled scheduled again for the new due times, version + 1, timeline and ``case_resumed``.

While deferred, the other actions are refused (``action``: resume first); an escalation or upgrade timer that
falls due waits for the deferral's end (``postpone``); warning/breach timers are not pending at all. Handling
time for reporting (``case_resolved.handling_working_hours``) leaves paused business hours out
(``paused_business_seconds``).
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update

from estatedesk_common import timers
from estatedesk_common.errors import ValidationFailed

from . import backfill, escalation, extensions, policies, repository, upgrades
from .domain import deferrals as rules
from .domain import offhours, sla
from .tables import case_deadlines, case_deferrals, cases
from .tables import timers as timer_table

ACTIONS = rules.ACTIONS
STATUS = rules.STATUS
TIMER_KIND = "resume"
SLA_TIMERS = ("sla_warning", "sla_breach")


class DeferralNotAllowed(ValidationFailed):
    """An urgent/major case (or one whose severity scheme cannot be ranked) cannot wait."""

    code = "deferral_not_allowed"


def case_policy(conn, case):
    """The policy the case was opened under (its calendar decides the working periods)."""
    if case["policy_levels"]:
        return backfill.policy_for_case(conn, case["tenant_id"], case["policy_levels"])
    return policies.effective_policy(conn, case["tenant_id"], case["estate_code"], case["received_at"])


def act(uow, case, action: str, data: dict, user_id: str | None) -> dict:
    """Inside the caller's unit of work, with ``case`` read and its version checked."""
    now = uow.clock.now()
    if action == "defer":
        return _defer(uow, case, data, user_id, now)
    if case["status"] != STATUS:
        raise ValidationFailed("the case is not deferred", field="action")
    note = data.get("note") or ""
    if not isinstance(note, str) or len(note.strip()) > 2000:
        raise ValidationFailed("note must be text of at most 2000 characters", field="note")
    return resume(uow, case, user_id, now, note.strip())


def _defer(uow, case, data, user_id, now) -> dict:
    if case["status"] in escalation.DONE or case["status"] == STATUS:
        raise ValidationFailed(f"the case is {case['status']}", field="action")
    policy = case_policy(uow.conn, case)
    try:
        rules.check_severity(upgrades.ranking(policy), case["severity"])
        try:
            default = offhours.next_period_start(policy.calendar, now)
        except (sla.CalendarUnavailable, sla.NoWorkingTime):
            default = None
        if default is None and not data.get("until"):
            raise rules.NotDeferrable("until", "the calendar cannot tell the next working period; give until")
        deferral = rules.parse_defer(data, now, default)
    except rules.NotDeferrable as exc:
        error = DeferralNotAllowed if exc.field == "severity" else ValidationFailed
        raise error(str(exc), field=exc.field) from exc
    seq = uow.conn.execute(select(func.coalesce(func.max(case_deferrals.c.seq), 0)).where(
        case_deferrals.c.tenant_id == case["tenant_id"], case_deferrals.c.case_id == case["id"])).scalar_one() + 1
    uow.conn.execute(case_deferrals.insert().values(
        tenant_id=case["tenant_id"], case_id=case["id"], seq=seq, status_before=case["status"], deferred_at=now,
        until=deferral.until, consented_by=deferral.consented_by, recorded_by=user_id,
        note=deferral.note or None))
    for kind in SLA_TIMERS:  # the clocks stand still: nothing warns or breaches while the owner waits
        timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=kind)
    timers.schedule(uow.conn, timer_table, case["tenant_id"], TIMER_KIND, case["id"], deferral.until, now,
                    key=f"deferral-{seq}")
    _bump(uow.conn, case, STATUS)
    zone = ZoneInfo(case["timezone"])
    text = (f"{rules.LABELS_ZH['defer']}：同意人 {deferral.consented_by}，暂停计时至 "
            f"{deferral.until.astimezone(zone):%Y-%m-%d %H:%M}，届时自动恢复"
            + (f"；{deferral.note}" if deferral.note else ""))
    repository.add_timeline(uow.conn, case["tenant_id"], case["id"], now, "case_deferred", user_id or "workflow",
                            text)
    uow.publish("case_deferred", case["tenant_id"], _body(case) | {
        "deferral": seq, "status": STATUS, "version": case["version"] + 1, "status_before": case["status"],
        "consented_by": deferral.consented_by, "by": user_id, "until": deferral.until.isoformat(), "note": deferral.note, "at": now.isoformat()})
    return {"complaint_id": case["id"], "status": STATUS, "version": case["version"] + 1, "stages_met": [],
            "deferral": {"deferral": seq, "until": deferral.until.isoformat()}}


def resume(uow, case, by: str | None, now, note: str = "") -> dict:
    """End the open deferral (``by`` None: the timer at its end); see the module docstring."""
    conn, tenant_id = uow.conn, case["tenant_id"]
    row = _open(conn, case)
    if row is None:  # a deferred case without an open deferral cannot happen; resume it without moving anything
        row = {"seq": 0, "status_before": "open", "deferred_at": now, "until": now}
    cal = case_policy(conn, case).calendar
    pending = [d for d in repository.deadlines(conn, tenant_id, case["id"]) if d["met_at"] is None]
    moved = []
    for d in pending:
        new_due, new_original = _shift(cal, d, row["deferred_at"], now)
        if new_due != d["due_at"]:
            conn.execute(update(case_deadlines).where(
                case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id == case["id"],
                case_deadlines.c.stage == d["stage"]).values(due_at=new_due, original_due_at=new_original))
            moved.append({"stage": d["stage"], "due_at": d["due_at"].isoformat(), "new_due_at": new_due.isoformat()})
    _rearm(uow, case, row["deferred_at"], {d["stage"] for d in pending}, now)
    if by is not None:  # resumed by hand: the timer at the deferral's end has nothing left to do
        timers.cancel(conn, timer_table, tenant_id, case["id"], now, kind=TIMER_KIND)
    if row["seq"]:
        conn.execute(update(case_deferrals).where(
            case_deferrals.c.tenant_id == tenant_id, case_deferrals.c.case_id == case["id"],
            case_deferrals.c.seq == row["seq"]).values(resumed_at=now, resumed_by=by, moved=moved))
    status = row["status_before"]
    _bump(conn, case, status)
    paused = int((now - row["deferred_at"]).total_seconds() // 60)
    zone = ZoneInfo(case["timezone"])
    how = "到期自动恢复" if by is None else "手动恢复"
    text = (f"{rules.LABELS_ZH['resume']}（{how}，暂停 {paused // 60} 小时 {paused % 60} 分钟）"
            + "".join(f"；「{m['stage']}」时限顺延至 "
                      f"{dt.datetime.fromisoformat(m['new_due_at']).astimezone(zone):%Y-%m-%d %H:%M}" for m in moved)
            + (f"；{note}" if note else ""))
    repository.add_timeline(conn, tenant_id, case["id"], now, "case_resumed", by or "workflow", text)
    uow.publish("case_resumed", tenant_id, _body(case) | {
        "deferral": row["seq"], "status": status, "version": case["version"] + 1, "by": by, "automatic": by is None,
        "deferred_at": row["deferred_at"].isoformat(), "until": row["until"].isoformat(), "paused_minutes": paused,
        "deadlines": moved, "note": note, "at": now.isoformat()})
    return {"complaint_id": case["id"], "status": status, "version": case["version"] + 1, "stages_met": [],
            "moved": moved}


def _shift(cal, d, deferred_at, now):
    unit = rules.unit_of(d["limit_spec"])
    try:
        due = rules.resumed_due(cal, unit, d["due_at"], deferred_at, now)
        original = (rules.resumed_due(cal, unit, d["original_due_at"], deferred_at, now)
                    if d["original_due_at"] else None)
    except (sla.CalendarUnavailable, sla.NoWorkingTime):  # count the pause as wall clock rather than not at all
        due = rules.resumed_due(None, unit, d["due_at"], deferred_at, now)
        original = (rules.resumed_due(None, unit, d["original_due_at"], deferred_at, now)
                    if d["original_due_at"] else None)
    return due, original


def _rearm(uow, case, deferred_at, pending: set, now) -> None:
    """Schedule again the warning/breach timers the deferral cancelled (not those that had fired before it)."""
    stopped = uow.conn.execute(select(timer_table.c.kind, timer_table.c.key).where(
        timer_table.c.tenant_id == case["tenant_id"], timer_table.c.subject_id == case["id"],
        timer_table.c.kind.in_(SLA_TIMERS), timer_table.c.cancelled_at == deferred_at)).all()
    dues = {d["stage"]: d["due_at"] for d in repository.deadlines(uow.conn, case["tenant_id"], case["id"])}
    fraction = escalation.warning_fraction(uow.conn, case) if stopped else None  # the case policy's warning_at
    for kind, key in stopped:
        if key not in pending:
            continue
        due = dues[key]
        at = due if kind == "sla_breach" else max(now, escalation.warning_at(case["received_at"], due, fraction))
        timers.schedule(uow.conn, timer_table, case["tenant_id"], kind, case["id"], at, now, key=key)


def on_timer(uow, case, timer) -> None:
    """The deferral's end: resume, unless it was resumed (or the case moved on) meanwhile."""
    if case["status"] == STATUS and (row := _open(uow.conn, case)) and timer["key"] == f"deferral-{row['seq']}":
        resume(uow, case, None, uow.clock.now())


def postpone(uow, case, timer) -> None:
    """An escalation or upgrade timer of a deferred case waits for the deferral's end."""
    row = _open(uow.conn, case)
    now = uow.clock.now()
    at = max(row["until"], now) if row else now
    timers.schedule(uow.conn, timer_table, case["tenant_id"], timer["kind"], case["id"], at, now,
                    key=timer["key"], payload=timer["payload"])


def paused_business_seconds(conn, case, cal, now) -> float:
    """Business seconds the case spent deferred up to ``now`` (left out of handling time)."""
    rows = conn.execute(select(case_deferrals.c.deferred_at, case_deferrals.c.resumed_at).where(
        case_deferrals.c.tenant_id == case["tenant_id"], case_deferrals.c.case_id == case["id"])).all()
    return sum(offhours.business_seconds(cal, start, min(end or now, now)) for start, end in rows)


def _open(conn, case):
    return conn.execute(select(case_deferrals).where(
        case_deferrals.c.tenant_id == case["tenant_id"], case_deferrals.c.case_id == case["id"],
        case_deferrals.c.resumed_at.is_(None)).order_by(case_deferrals.c.seq.desc())).mappings().first()


def _bump(conn, case, status: str) -> None:
    changed = conn.execute(update(cases).where(
        cases.c.tenant_id == case["tenant_id"], cases.c.id == case["id"], cases.c.version == case["version"])
        .values(status=status, version=case["version"] + 1)).rowcount
    if changed != 1:
        raise extensions.StaleCase("the case changed since you loaded it", field="version")


def _body(case) -> dict:
    return {"case_id": case["id"], "complaint_id": case["id"], "reference": case["reference"],
            "estate_code": case["estate_code"]}


def view(conn, case) -> list[dict]:
    """The case's deferrals, oldest first, for ``get_case``."""
    rows = conn.execute(select(case_deferrals).where(
        case_deferrals.c.tenant_id == case["tenant_id"], case_deferrals.c.case_id == case["id"])
        .order_by(case_deferrals.c.seq)).mappings().all()
    iso = (lambda v: v.isoformat() if v else None)
    return [{"deferral": r["seq"], "deferred_at": iso(r["deferred_at"]), "until": iso(r["until"]),
             "consented_by": r["consented_by"], "recorded_by": r["recorded_by"], "note": r["note"],
             "resumed_at": iso(r["resumed_at"]), "resumed_by": r["resumed_by"], "moved": r["moved"] or []}
            for r in rows]
