"""Periodic reports: subscriptions (head office and group admins), reports made on schedule, sent by notify.

``ReportScheduler`` (a polling loop, every ``REPORT_SCHEDULE_SECONDS``, 300 by default) makes, for each active
subscription, the report of its last complete period if there is none yet: the KPIs and the league table of the
subscription's scope (the group, or one estate) exactly as the dashboard computes them, rendered by
``domain/periodic.py``, stored in ``report_runs`` and announced as ``report_ready`` (subject, HTML, text,
recipients, locale) in the same transaction; notify e-mails it. The unique (subscription, period) makes a
second replica's run, or a rerun, a no-op. ``run_now`` makes (or returns) the current period's report at once:
for a manager who wants it now, and for the tests. A run keeps the figures its page was made from (``data``:
kpis, league rows, trend per day/week) and ``export_run`` writes them as CSV or XLSX (``exports``); a run made
before revision r13d1r2i3l4l has none and is exported from the read model as it is now.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from nameko.extensions import DependencyProvider
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from estatedesk_common.loops import PollingLoop
from estatedesk_common.unit_of_work import UnitOfWork

from . import exports, queries, reports
from .domain import periodic
from .domain.scope import Scope
from .exceptions import Forbidden, NotFound, ValidationFailed
from .tables import estate_names, reliability, report_runs, report_subscriptions

log = logging.getLogger(__name__)
MANAGING_ROLES = ("head_office", "group_admin")
TIMEZONE = "Asia/Shanghai"  # the group's reporting day (estates' own zones apply to each fact's day)


class SubscriptionNotFound(NotFound):
    code = "report_subscription_not_found"


def _require_manager(roles) -> None:
    if roles is not None and not any(role in MANAGING_ROLES for role, _estate in roles):
        raise Forbidden("only head office and group admins manage report subscriptions")


def _view(row) -> dict:
    return {"id": row["id"], "kind": row["kind"], "estate": row["estate_code"], "recipients": row["recipients"],
            "locale": row["locale"], "created_at": row["created_at"].isoformat()}


def subscribe(data, tenant_id: str, user_id, roles, uow) -> dict:
    _require_manager(roles)
    try:
        sub = periodic.check_subscription(data)
    except periodic.InvalidSubscription as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    with uow:
        if sub["estate"] is not None and uow.conn.execute(select(estate_names.c.estate_code).where(
                estate_names.c.tenant_id == tenant_id, estate_names.c.estate_code == sub["estate"])).first() is None:
            raise ValidationFailed("no such estate", field="estate")
        row = {"tenant_id": tenant_id, "id": str(uuid.uuid4()), "kind": sub["kind"], "estate_code": sub["estate"],
               "recipients": sub["recipients"], "locale": sub["locale"], "active": True,
               "created_at": uow.clock.now(), "created_by": user_id}
        uow.conn.execute(report_subscriptions.insert(), row)
        uow.commit()
    return _view(row)


def list_subscriptions(tenant_id: str, roles, engine) -> list[dict]:
    _require_manager(roles)
    with engine.connect() as conn:
        rows = conn.execute(select(report_subscriptions).where(
            report_subscriptions.c.tenant_id == tenant_id, report_subscriptions.c.active.is_(True))
            .order_by(report_subscriptions.c.created_at)).mappings().all()
    return [_view(r) for r in rows]


def unsubscribe(subscription_id, tenant_id: str, roles, uow) -> dict:
    _require_manager(roles)
    with uow:
        found = uow.conn.execute(update(report_subscriptions).where(
            report_subscriptions.c.tenant_id == tenant_id, report_subscriptions.c.id == str(subscription_id),
            report_subscriptions.c.active.is_(True)).values(active=False)).rowcount
        if not found:
            raise SubscriptionNotFound("no such subscription", field="id")
        uow.commit()
    return {"id": str(subscription_id), "active": False}


def list_runs(tenant_id: str, roles, engine, limit: int = 50) -> list[dict]:
    _require_manager(roles)
    with engine.connect() as conn:
        rows = conn.execute(select(report_runs.c.id, report_runs.c.subscription_id, report_runs.c.period_start,
                                   report_runs.c.period_end, report_runs.c.subject, report_runs.c.generated_at)
                            .where(report_runs.c.tenant_id == tenant_id)
                            .order_by(report_runs.c.generated_at.desc()).limit(limit)).mappings().all()
    return [{"id": r["id"], "subscription_id": r["subscription_id"], "from": r["period_start"].isoformat(),
             "to": r["period_end"].isoformat(), "subject": r["subject"],
             "generated_at": r["generated_at"].isoformat()} for r in rows]


def get_run(run_id, tenant_id: str, roles, engine) -> dict:
    _require_manager(roles)
    with engine.connect() as conn:
        row = conn.execute(select(report_runs).where(report_runs.c.tenant_id == tenant_id,
                                                     report_runs.c.id == str(run_id))).mappings().first()
    if row is None:
        raise NotFound("no such report", field="id")
    return {"id": row["id"], "subject": row["subject"], "html": row["html"], "from": row["period_start"].isoformat(),
            "to": row["period_end"].isoformat()}


def _figures(engine, now, tenant_id: str, estate, start: dt.date, end: dt.date) -> dict:
    """``{kpis, league, trend}`` of the group (``estate`` None) or one estate, as the dashboard computes them."""
    scope = Scope(None).narrow(estate)
    kpis = reports.kpis(tenant_id, scope, engine, now, start.isoformat(), end.isoformat(), estate)
    league = reports.league_table(tenant_id, scope, engine, now, start.isoformat(), end.isoformat())["rows"]
    with engine.connect() as conn:
        per_day = {r["day"]: r["received"] for r in queries.rollup(conn, tenant_id, start, end, scope, ("day",))}
    return {"kpis": kpis, "league": league, "trend": periodic.trend_buckets(per_day, start, end)}


def make_report(engine, clock, sub, start: dt.date, end: dt.date) -> str | None:
    """The report of ``sub`` for start..end, stored and announced once; returns its id (None: already made)."""
    now = clock.now()
    data = _figures(engine, now, sub["tenant_id"], sub["estate_code"], start, end)
    with engine.connect() as conn:
        name = conn.execute(select(estate_names.c.name).where(
            estate_names.c.tenant_id == sub["tenant_id"], estate_names.c.estate_code == sub["estate_code"])
            ).scalar_one_or_none() if sub["estate_code"] else None
    subject, html, text = periodic.render(sub["kind"], sub["locale"], name, start, end, data["kpis"], data["league"],
                                          now, data["trend"])
    run_id = str(uuid.uuid4())
    try:
        with UnitOfWork(engine, reliability, clock) as uow:
            uow.conn.execute(report_runs.insert(), {
                "tenant_id": sub["tenant_id"], "id": run_id, "subscription_id": sub["id"], "period_start": start,
                "period_end": end, "subject": subject[:200], "html": html, "generated_at": now, "data": data})
            uow.publish("report_ready", sub["tenant_id"], {
                "run_id": run_id, "subscription_id": sub["id"], "kind": sub["kind"], "estate": sub["estate_code"],
                "from": start.isoformat(), "to": end.isoformat(), "recipients": sub["recipients"],
                "locale": sub["locale"], "subject": subject, "html": html, "text": text})
            uow.commit()
    except IntegrityError:  # another replica made it first
        return None
    log.info("report %s made for %d recipients", subject, len(sub["recipients"]))
    return run_id


def export_run(run_id, fmt, tenant_id: str, roles, engine, now: dt.datetime, locale=None) -> dict:
    """A run's figures as ``csv`` or ``xlsx``: ``{"filename", "content_type", "content"}`` (bytes)."""
    _require_manager(roles)
    if fmt not in exports.FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(exports.FORMATS)}", field="format")
    with engine.connect() as conn:
        run = conn.execute(select(report_runs, report_subscriptions.c.estate_code, report_subscriptions.c.kind,
                                  report_subscriptions.c.locale)
                           .select_from(report_runs.outerjoin(report_subscriptions, (
                               report_subscriptions.c.tenant_id == report_runs.c.tenant_id)
                               & (report_subscriptions.c.id == report_runs.c.subscription_id)))
                           .where(report_runs.c.tenant_id == tenant_id, report_runs.c.id == str(run_id))
                           ).mappings().first()
    if run is None:
        raise NotFound("no such report", field="id")
    data = run["data"] or _figures(engine, now, tenant_id, run["estate_code"], run["period_start"], run["period_end"])
    return exports.render_run(fmt, data, run["subject"], run["kind"] or "report", locale or run["locale"])


def make_due(engine, clock) -> int:
    """Every active subscription's last complete period, where not made yet; returns how many were made."""
    now = clock.now()
    with engine.connect() as conn:
        subs = conn.execute(select(report_subscriptions).where(report_subscriptions.c.active.is_(True))).mappings().all()
        made = {(r.tenant_id, r.subscription_id, r.period_start) for r in conn.execute(
            select(report_runs.c.tenant_id, report_runs.c.subscription_id, report_runs.c.period_start))}
    count = 0
    for sub in subs:
        start, end = periodic.last_complete_period(sub["kind"], now, TIMEZONE)
        if (sub["tenant_id"], sub["id"], start) in made:
            continue
        try:
            count += make_report(engine, clock, sub, start, end) is not None
        except Exception:  # one broken subscription must not stop the others
            log.exception("periodic report for subscription %s failed", sub["id"])
    return count


def run_now(subscription_id, tenant_id: str, roles, engine, clock) -> dict:
    """The subscription's last complete period, made now if it is not yet (then notify sends it)."""
    _require_manager(roles)
    with engine.connect() as conn:
        sub = conn.execute(select(report_subscriptions).where(
            report_subscriptions.c.tenant_id == tenant_id, report_subscriptions.c.id == str(subscription_id),
            report_subscriptions.c.active.is_(True))).mappings().first()
    if sub is None:
        raise SubscriptionNotFound("no such subscription", field="id")
    start, end = periodic.last_complete_period(sub["kind"], clock.now(), TIMEZONE)
    run_id = make_report(engine, clock, sub, start, end)
    with engine.connect() as conn:
        run = conn.execute(select(report_runs.c.id).where(
            report_runs.c.tenant_id == tenant_id, report_runs.c.subscription_id == sub["id"],
            report_runs.c.period_start == start)).scalar_one()
    return {"id": run, "new": run_id is not None, "from": start.isoformat(), "to": end.isoformat()}


class ReportScheduler(DependencyProvider):
    """Runs ``make_due`` in a managed thread on the service's ``Database`` (attribute ``db``)."""

    def setup(self):
        self.interval = float(self.container.config.get("REPORT_SCHEDULE_SECONDS") or 300)
        self.loop = None

    def start(self):
        db = next(d for d in self.container.dependencies if getattr(d, "attr_name", None) == "db")

        def step() -> bool:
            make_due(db.engine, db.clock)
            return False  # then wait the interval

        self.loop = PollingLoop(step, self.interval, "periodic reports")
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    kill = stop

