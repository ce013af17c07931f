"""Open cases counted again under a new policy version ("apply to open cases", ``recompute_open``), in batches.

``start`` records the run (``sla_recomputes``) and a safety timer in the transaction that saves the version;
``run`` then works through the scope's open cases (not resolved/closed/cancelled/deferred) in ``(received_at,
id)`` order, ``batch_size`` cases per transaction: each batch commits its cases' changes with the run's cursor
and running report, so a large estate never holds one long transaction and a run that stopped midway (a crash,
a restart) resumes where it was: the safety timer fires after ``RESUME_AFTER`` and does one batch per firing
until the run is done. A case already under the new version (or a later one) is skipped, so nothing is done
twice.

Each case is counted under its own layers with the scope's layer replaced by the new version
(``policy_admin._with_layer``), every stage from the start it had (receipt, the committee's stamp, an upgrade,
a repeating stage's last re-arming):
- a stage the new policy adds gets its deadline (from receipt or its ``after:`` stage's due time) and timers;
- a stage the new policy no longer has stops: met ones stay as history, a pending one's deadline row and timers
  go (a pending extension request on it is withdrawn) and the case's timeline keeps its old due time;
- a pending stage whose due time changed moves, its timers re-armed; met stages, stages moved by an approved
  extension and stages already past due (breached: late stays late) keep theirs;
- a new or moved due time already in the past breaches once, at the next timer tick, like any breach.
A changed case gets version + 1 and a ``deadlines_recomputed`` timeline entry naming the policy versions; every
examined case gets the new ``policy_version``/``policy_levels`` (its ladder, warning point, approvals).
"""
from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, or_, select, update

from estatedesk_common import timers
from estatedesk_common.db import is_postgres

from . import backfill, escalation, policies, presets, repository
from .domain import sla
from .tables import case_deadlines, case_extensions, cases, sla_policies, sla_recomputes
from .tables import timers as timer_table

BATCH_SIZE = 500
RESUME_AFTER = dt.timedelta(minutes=5)
TIMER_KIND = "sla_recompute"
MAX_LISTED = 1000  # moves/past-due listed in the report; every case's own timeline has all of its changes
COUNTS = ("examined", "changed", "unchanged", "stages_added", "stages_removed", "moved_earlier", "moved_later",
          "kept_breached", "past_due")
log = logging.getLogger(__name__)


def start(conn, tenant_id: str, scope: str, version: int, estates: list[dict], user_id, now,
          batch_size: int = BATCH_SIZE) -> None:
    """Record the run and its safety timer (in the caller's transaction: the one that saves the version)."""
    conn.execute(sla_recomputes.insert().values(
        tenant_id=tenant_id, scope=scope, version=version, status="running",
        estates=None if scope == "group" else sorted({e["code"] for e in estates}),
        report={"batch_size": batch_size, "totals": dict.fromkeys(COUNTS, 0), "batches": [], "recomputed": [],
                "past_due": [], "failed": []},
        started_at=now, started_by=user_id))
    timers.schedule(conn, timer_table, tenant_id, TIMER_KIND, _subject(scope, version), now + RESUME_AFTER, now,
                    key=scope, payload={"scope": scope, "version": version})


def run(uow, tenant_id: str, scope: str, version: int) -> dict:
    """Batches until the run is done (each its own transaction on ``uow``); the run's report."""
    while True:
        with uow:
            finished = run_batch(uow, tenant_id, scope, version)
            uow.commit()
        if finished:
            break
    with uow.engine.connect() as conn:
        return report(conn, tenant_id, scope, version)


def report(conn, tenant_id: str, scope: str, version: int) -> dict:
    row = conn.execute(select(sla_recomputes).where(
        sla_recomputes.c.tenant_id == tenant_id, sla_recomputes.c.scope == scope,
        sla_recomputes.c.version == version)).mappings().first()
    if row is None:
        return {}
    return dict(row["report"], status=row["status"], started_at=row["started_at"].isoformat(),
                finished_at=row["finished_at"].isoformat() if row["finished_at"] else None)


def on_timer(uow, timer) -> None:
    """The safety timer: one batch of a run that is not done, then again at the next tick."""
    payload = timer["payload"] or {}
    if not run_batch(uow, timer["tenant_id"], payload["scope"], payload["version"]):
        now = uow.clock.now()
        timers.schedule(uow.conn, timer_table, timer["tenant_id"], TIMER_KIND, timer["subject_id"], now, now,
                        key=payload["scope"], payload=payload)


def run_batch(uow, tenant_id: str, scope: str, version: int) -> bool:
    """One batch of the run (the run's row locked meanwhile); True when the run is done."""
    conn, now = uow.conn, uow.clock.now()
    q = select(sla_recomputes).where(sla_recomputes.c.tenant_id == tenant_id, sla_recomputes.c.scope == scope,
                                     sla_recomputes.c.version == version)
    job = conn.execute(q.with_for_update() if is_postgres(conn.engine) else q).mappings().first()
    if job is None or job["status"] == "done":
        return True
    rep = job["report"]
    doc = conn.execute(select(sla_policies.c.document).where(
        sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == scope,
        sla_policies.c.version == version)).scalar_one()
    todo = _next_cases(conn, tenant_id, job, rep["batch_size"])
    tally = dict.fromkeys(COUNTS, 0)
    for case in todo:
        _recompute_case(uow, tenant_id, case, scope, version, doc, job["started_by"], now, tally, rep)
    finished = len(todo) < rep["batch_size"]
    rep["batches"].append(dict(tally, batch=len(rep["batches"]) + 1))
    rep["totals"] = {k: rep["totals"].get(k, 0) + tally[k] for k in COUNTS}
    values = {"report": rep}
    if todo:
        values.update(after_received_at=todo[-1]["received_at"], after_case_id=todo[-1]["id"])
    if finished:
        values.update(status="done", finished_at=now)
        timers.cancel(conn, timer_table, tenant_id, _subject(scope, version), now, kind=TIMER_KIND)
    conn.execute(update(sla_recomputes).where(
        sla_recomputes.c.tenant_id == tenant_id, sla_recomputes.c.scope == scope,
        sla_recomputes.c.version == version).values(values))
    log.info("recompute %s@v%s: batch %s, %s", scope, version, len(rep["batches"]), tally)
    return finished


def _subject(scope: str, version: int) -> str:
    return f"{scope}@v{version}"


def _next_cases(conn, tenant_id: str, job, limit: int) -> list:
    # a deferred case keeps its paused deadlines (its timers are off until it resumes: workflow.deferrals)
    q = select(cases).where(cases.c.tenant_id == tenant_id,
                            cases.c.status.not_in(sorted(escalation.DONE | {"deferred"})))
    if job["estates"] is not None:
        q = q.where(cases.c.estate_code.in_(job["estates"]))
    if job["after_received_at"] is not None:
        q = q.where(or_(cases.c.received_at > job["after_received_at"],
                        and_(cases.c.received_at == job["after_received_at"], cases.c.id > job["after_case_id"])))
    return conn.execute(q.order_by(cases.c.received_at, cases.c.id).limit(limit)).mappings().all()


def _recompute_case(uow, tenant_id, case, scope, version, doc, user_id, now, tally, rep) -> None:
    from .policy_admin import _with_layer  # policy_admin starts and runs recomputes
    tally["examined"] += 1
    levels = case["policy_levels"] or [{"scope": policies.BUILTIN, "version": None}]
    if any(lv["scope"] == scope and (lv["version"] or 0) >= version for lv in levels):
        tally["unchanged"] += 1  # already under this version (opened under it, or done before a restart)
        return
    try:
        base = backfill.policy_for_case(uow.conn, tenant_id, levels)
        layers = [(lv["scope"], lv["version"], _document(uow.conn, tenant_id, lv)) for lv in levels]
        policy = sla.build(_with_layer(layers, scope, version, doc))
        severity = case["severity"] if case["severity"] in policy.severities else policy.default_severity
        existing = {d["stage"]: d for d in repository.deadlines(uow.conn, tenant_id, case["id"])}
        rows, failures = _counted(policy, severity, case, existing)
    except sla.PolicyInvalid as exc:
        rep["failed"].append({"reference": case["reference"], "error": str(exc)})
        return
    rep["failed"] += [{"reference": case["reference"], "stage": f["stage"], "error": f["error"]} for f in failures]
    failed = {f["stage"] for f in failures}
    zone = ZoneInfo(case["timezone"])
    fraction = policy.warning_fraction(severity)
    changes: list[str] = []
    for stage, d in existing.items():
        row = rows.get(stage)
        if row is None:
            if stage not in failed and d["met_at"] is None:
                _drop(uow, case, d, now)
                tally["stages_removed"] += 1
                changes.append(f"「{stage}」新策略无此阶段，停止计时（原时限 {_hm(d['due_at'], zone)}）")
            continue
        if d["met_at"] is not None or d["original_due_at"] is not None or row["due_at"] == d["due_at"]:
            continue
        if d["due_at"] <= now:
            tally["kept_breached"] += 1  # already past due: the breach stands
            continue
        _update(uow, tenant_id, case["id"], stage, row)
        _arm(uow, case, stage, row["due_at"], now, fraction)
        tally["moved_earlier" if row["due_at"] < d["due_at"] else "moved_later"] += 1
        changes.append(f"「{stage}」{_hm(d['due_at'], zone)} → {_hm(row['due_at'], zone)}")
        _listed(rep["recomputed"], {"reference": case["reference"], "stage": stage,
                                    "old_due": d["due_at"].astimezone(zone).isoformat(),
                                    "new_due": row["due_at"].astimezone(zone).isoformat()})
        _past(rep, tally, case, stage, row["due_at"], now, zone)
    for stage, row in rows.items():
        if stage in existing:
            continue
        repository.add_deadline(uow.conn, tenant_id, case["id"], row)
        _arm(uow, case, stage, row["due_at"], now, fraction)
        tally["stages_added"] += 1
        changes.append(f"新增「{stage}」时限 {_hm(row['due_at'], zone)}（{row['explanation']}）")
        _listed(rep["recomputed"], {"reference": case["reference"], "stage": stage, "old_due": None,
                                    "new_due": row["due_at"].astimezone(zone).isoformat()})
        _past(rep, tally, case, stage, row["due_at"], now, zone)
    values = {"policy_version": policy.version_label,
              "policy_levels": [{"scope": s, "version": v} for s, v in policy.levels]}
    if changes:
        values["version"] = case["version"] + 1
        tally["changed"] += 1
        repository.add_timeline(uow.conn, tenant_id, case["id"], now, "deadlines_recomputed", user_id or "workflow",
                                f"时限策略调整（{base.version_label} → {policy.version_label}，"
                                f"新版本 {scope}@v{version}），重算时限：" + "；".join(changes))
    else:
        tally["unchanged"] += 1
    uow.conn.execute(update(cases).where(cases.c.tenant_id == tenant_id, cases.c.id == case["id"]).values(values))


def _counted(policy, severity, case, existing) -> tuple[dict, list]:
    """{stage: deadline row} under ``policy``, each stage from the start it had; and the stages not countable."""
    received = case["received_at"]
    starts, restarted = {}, {}
    for stage, d in existing.items():
        e = d["explanation_data"] or {}
        if not e.get("start") or not e.get("received_at"):
            continue
        start, counted_from = dt.datetime.fromisoformat(e["start"]), dt.datetime.fromisoformat(e["received_at"])
        if counted_from != received:
            restarted[stage] = start  # re-armed repeating stage, reopened resolution (engine.restart)
        elif not e.get("after") and start != received:
            starts[stage] = (start, e.get("start_reason"))  # the committee's stamp, an upgrade
    failures: list = []
    computed = {d.stage: d for d in sla.compute(policy, received, severity, case["category"], case["channel"],
                                                failures, starts=starts)}
    by_name = {s.name: s for s in policy.stages_for(severity, case["category"], case["channel"])}
    for stage, start in restarted.items():
        if stage in by_name:
            try:
                computed[stage] = sla.restart(policy, severity, by_name[stage], start)
            except (sla.CalendarUnavailable, sla.NoWorkingTime) as exc:
                computed.pop(stage, None)
                failures.append({"stage": stage, "error": str(exc)})
    rows = policies.deadline_rows(list(computed.values()), received, policy.version_label)
    return {r["stage"]: r for r in rows}, failures


def _update(uow, tenant_id, case_id, stage, row) -> None:
    uow.conn.execute(update(case_deadlines).where(
        case_deadlines.c.tenant_id == tenant_id, case_deadlines.c.case_id == case_id,
        case_deadlines.c.stage == stage).values(
        {k: row[k] for k in ("due_at", "limit_spec", "limit_minutes", "explanation", "explanation_en",
                             "explanation_data", "policy_version")}))


def _arm(uow, case, stage, due, now, fraction) -> None:
    """Re-arm the stage's timers; a due time already past breaches once at the next tick (no warning first)."""
    for kind in ("sla_warning", "sla_breach"):
        timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, kind=kind, key=stage)
    if due <= now:
        timers.schedule(uow.conn, timer_table, case["tenant_id"], "sla_breach", case["id"], now, now, key=stage)
    else:
        escalation.schedule_case_timers(uow, case["tenant_id"], case["id"], case["received_at"],
                                        [{"stage": stage, "due_at": due}], fraction)


def _drop(uow, case, deadline, now) -> None:
    """A pending stage the new policy does not have: its timers and row go; a pending extension is withdrawn."""
    stage = deadline["stage"]
    timers.cancel(uow.conn, timer_table, case["tenant_id"], case["id"], now, key=stage)
    uow.conn.execute(update(case_extensions).where(
        case_extensions.c.tenant_id == case["tenant_id"], case_extensions.c.case_id == case["id"],
        case_extensions.c.stage == stage, case_extensions.c.status == "pending").values(
        status="withdrawn", decided_at=now, note="时限策略调整，该阶段已取消"))
    uow.conn.execute(delete(case_deadlines).where(
        case_deadlines.c.tenant_id == case["tenant_id"], case_deadlines.c.case_id == case["id"],
        case_deadlines.c.stage == stage))


def _past(rep, tally, case, stage, due, now, zone) -> None:
    """A new due time already past: listed (it breaches once, at the next tick)."""
    if due <= now:
        tally["past_due"] += 1
        _listed(rep["past_due"], {"reference": case["reference"], "stage": stage,
                                  "due_at": due.astimezone(zone).isoformat()})


def _listed(items: list, item: dict) -> None:
    if len(items) < MAX_LISTED:
        items.append(item)


def _document(conn, tenant_id: str, level: dict):
    if level["scope"] == policies.BUILTIN:
        return presets.load("seed002")
    return conn.execute(select(sla_policies.c.document).where(
        sla_policies.c.tenant_id == tenant_id, sla_policies.c.scope == level["scope"],
        sla_policies.c.version == level["version"])).scalar_one()


def _hm(instant: dt.datetime, zone: ZoneInfo) -> str:
    return f"{instant.astimezone(zone):%Y-%m-%d %H:%M}"
