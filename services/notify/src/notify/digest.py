"""Managers' daily digest (每日摘要; rules in ``domain/digest.py``): one e-mail a day per manager of the tenant's
staff contacts, summarising their estates, through the usual mail loop (``messages``, retries, delivery log, kind
``daily_digest``; the row's ``complaint_id`` holds the digest's id, as a periodic report's holds its run's).

- **Figures**: workflow's ``digest_figures`` (RPC as a service: the tenant in the context, no roles, so every
  estate; notify keeps no cases) for the cases, notify's own ``callbacks`` / ``callback_attempts`` for callbacks
  pending, overdue and answered dissatisfied. The RPC is made before the transaction, never inside it.
- **Once**: each e-mail is claimed in ``manager_digests`` (tenant, local day, address) with INSERT ... ON CONFLICT
  DO NOTHING in the transaction that queues it: a second replica waits for the first's commit, then finds the row
  and queues nothing; a restart finds it too. ``digest_runs`` (tenant, day) marks the run done, so the minute's
  pass reads one row per tenant instead of asking workflow again.
- **When**: ``DigestLoop`` looks every ``DIGEST_CHECK_SECONDS`` (60; 0 = off) for tenants whose hour has come
  (``digest_settings``; no row = on at 08:00 Asia/Shanghai). ``send_daily_digest`` (RPC; ``python -m notify.cli
  send-digest``) sends a tenant's digest now, whatever the setting, still once per address and day.
- **Opt-outs**: addresses in ``staff_opt_outs`` with kind ``daily_digest`` (set with the settings) get nothing.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from nameko.extensions import DependencyProvider
from nameko.standalone.rpc import ClusterRpcProxy
from sqlalchemy import and_, case, delete, func, select

from estatedesk_common.loops import PollingLoop
from estatedesk_common.unit_of_work import UnitOfWork

from . import repository, staff, templates
from .domain import digest as rules
from .exceptions import Forbidden, ValidationFailed
from .inserts import insert_ignore, upsert
from .tables import (callback_attempts, callbacks, digest_runs, digest_settings, manager_digests, owner_contacts,
                     staff_contacts, staff_opt_outs)

MANAGERS = staff.MANAGERS  # group_admin, head_office: may read and change the setting, and send it now
MAX_DAYS_BACK = 7  # send_daily_digest(day): an operator re-sends a missed digest within a week

log = logging.getLogger(__name__)


def setting_of(conn, tenant_id: str) -> rules.Setting:
    row = conn.execute(select(digest_settings).where(digest_settings.c.tenant_id == tenant_id)).mappings().first()
    return rules.DEFAULT if row is None else rules.Setting(bool(row["enabled"]), int(row["hour"]), row["timezone"])


def opt_outs_of(conn, tenant_id: str) -> list[str]:
    return list(conn.execute(select(staff_opt_outs.c.email).where(
        staff_opt_outs.c.tenant_id == tenant_id, staff_opt_outs.c.kind == rules.KIND)
        .order_by(staff_opt_outs.c.email)).scalars())


def _view(conn, tenant_id: str) -> dict:
    row = conn.execute(select(digest_settings).where(digest_settings.c.tenant_id == tenant_id)).mappings().first()
    setting = setting_of(conn, tenant_id)
    return {"enabled": setting.enabled, "hour": setting.hour, "timezone": setting.timezone,
            "opt_outs": opt_outs_of(conn, tenant_id), "roles": list(rules.ROLES),
            "updated_at": row["updated_at"].isoformat() if row else None,
            "updated_by": row["updated_by"] if row else None}


def _check_caller(caller_roles) -> None:
    if caller_roles is not None and not MANAGERS & {r[0] for r in caller_roles if r}:
        raise Forbidden("only group admins and head office manage the daily digest")


def get_settings(tenant_id: str, caller_roles, engine) -> dict:
    _check_caller(caller_roles)
    with engine.connect() as conn:
        return _view(conn, tenant_id)


def save_settings(tenant_id: str, user_id, caller_roles, data, uow) -> dict:
    """Store ``{enabled, hour, timezone?, opt_outs?}`` (``opt_outs`` absent: kept as they are)."""
    _check_caller(caller_roles)
    try:
        setting = rules.clean_setting(data)
        opt_outs = rules.clean_opt_outs(data["opt_outs"]) if "opt_outs" in data else None
    except rules.InvalidSetting as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    with uow:
        now = uow.clock.now()
        values = {"enabled": setting.enabled, "hour": setting.hour, "timezone": setting.timezone, "updated_at": now,
                  "updated_by": (user_id or None) and str(user_id)[:64]}
        upsert(uow.conn, digest_settings, {"tenant_id": tenant_id} | values, ["tenant_id"], values)
        if opt_outs is not None:
            uow.conn.execute(delete(staff_opt_outs).where(staff_opt_outs.c.tenant_id == tenant_id,
                                                          staff_opt_outs.c.kind == rules.KIND))
            for email in opt_outs:
                uow.conn.execute(staff_opt_outs.insert().values(tenant_id=tenant_id, email=email, kind=rules.KIND,
                                                                created_at=now, created_by=values["updated_by"]))
        view = _view(uow.conn, tenant_id)
        uow.commit()
    return view


def callback_figures(conn, tenant_id: str, since: dt.datetime, until: dt.datetime, now: dt.datetime) -> dict:
    """``{estate: {callbacks_pending, callbacks_overdue, dissatisfied}}``: open or claimed callbacks now (overdue:
    past their deadline) and the answers "dissatisfied" given in [since, until)."""
    found: dict[str, dict] = {}
    pending = (select(callbacks.c.estate_code, func.count().label("n"),
                      func.sum(case((callbacks.c.due_at < now, 1), else_=0)).label("late"))
               .where(callbacks.c.tenant_id == tenant_id, callbacks.c.status.in_(("open", "claimed")))
               .group_by(callbacks.c.estate_code))
    for r in conn.execute(pending):
        found.setdefault(r.estate_code, {}).update(callbacks_pending=int(r.n), callbacks_overdue=int(r.late or 0))
    answers = (select(callbacks.c.estate_code, func.count().label("n"))
               .select_from(callback_attempts.join(callbacks, and_(
                   callbacks.c.tenant_id == callback_attempts.c.tenant_id,
                   callbacks.c.id == callback_attempts.c.callback_id)))
               .where(callback_attempts.c.tenant_id == tenant_id, callback_attempts.c.satisfaction == "dissatisfied",
                      callback_attempts.c.at >= since, callback_attempts.c.at < until)
               .group_by(callbacks.c.estate_code))
    for r in conn.execute(answers):
        found.setdefault(r.estate_code, {})["dissatisfied"] = int(r.n)
    return found


def estate_names(conn, tenant_id: str) -> dict:
    """``{estate code: name}`` from the owners' contacts notify keeps (names for estates workflow did not count)."""
    q = (select(owner_contacts.c.estate_code, func.max(owner_contacts.c.estate_name).label("name"))
         .where(owner_contacts.c.tenant_id == tenant_id).group_by(owner_contacts.c.estate_code))
    return {r.estate_code: r.name for r in conn.execute(q) if r.name}


def send_digest(tenant_id: str, day: dt.date, figures_source, new_uow, base_url: str, render=None) -> dict:
    """Queue the digest of ``day`` for each manager of the tenant not sent it yet; mark the run done.
    ``figures_source(tenant_id, since, until, due_before)`` is workflow's ``digest_figures`` (may raise: nothing
    is written then, and the next pass tries again)."""
    render = render or templates.render
    with new_uow() as uow:  # read, and let go of the connection before asking workflow
        setting = setting_of(uow.conn, tenant_id)
        contacts = staff.contacts_of(uow.conn, tenant_id)
        opted = set(opt_outs_of(uow.conn, tenant_id))
        now = uow.clock.now()
    people = rules.recipients(contacts, opted)
    result = {"day": day.isoformat(), "recipients": len(people), "queued": 0, "already_sent": 0,
              "opted_out": len({c["email"].lower() for c in contacts if c["role"] in rules.ROLES} & opted)}
    since, until = rules.window(day, setting.timezone)
    figures = figures_source(tenant_id, since, until, rules.end_of_today(now, setting.timezone)) if people else {}
    with new_uow() as uow:
        now = uow.clock.now()
        callbacks_now = callback_figures(uow.conn, tenant_id, since, until, now) if people else {}
        names = estate_names(uow.conn, tenant_id) if people else {}
        for person in people:
            found = rules.summary(person, figures, callbacks_now, names=names)
            digest_id = str(uuid.uuid4())
            claimed = insert_ignore(uow.conn, manager_digests, {
                "tenant_id": tenant_id, "day": day.isoformat(), "recipient": person.email, "id": digest_id,
                "quiet": rules.is_quiet(found), "created_at": now})
            if not claimed:
                result["already_sent"] += 1
                continue
            context = rules.digest_context(person, found, day, now, setting.timezone, base_url)
            message = rules.digest_message(tenant_id, digest_id, person, context, now, render)
            repository.add_message(uow.conn, message)
            uow.conn.execute(manager_digests.update().where(
                manager_digests.c.tenant_id == tenant_id, manager_digests.c.day == day.isoformat(),
                manager_digests.c.recipient == person.email).values(message_id=message.id))
            result["queued"] += 1
        insert_ignore(uow.conn, digest_runs, {"tenant_id": tenant_id, "day": day.isoformat(),
                                              "recipients": result["queued"], "created_at": now})
        uow.commit()
    log.info("daily digest %s: %d queued, %d already sent, %d opted out", day.isoformat(), result["queued"],
             result["already_sent"], result["opted_out"])
    return result


def due_tenants(conn, now: dt.datetime) -> list[tuple[str, dt.date]]:
    """(tenant, day) of every tenant with managers among its staff contacts whose digest is due and not done."""
    tenants = conn.execute(select(staff_contacts.c.tenant_id).distinct()
                           .where(staff_contacts.c.role.in_(rules.ROLES))).scalars().all()
    settings = {r["tenant_id"]: rules.Setting(bool(r["enabled"]), int(r["hour"]), r["timezone"])
                for r in conn.execute(select(digest_settings).where(
                    digest_settings.c.tenant_id.in_(tenants or [""]))).mappings()}
    due = []
    for tenant_id in sorted(tenants):
        day = rules.due_day(settings.get(tenant_id, rules.DEFAULT), now)
        if day is not None and conn.execute(select(digest_runs.c.day).where(
                digest_runs.c.tenant_id == tenant_id, digest_runs.c.day == day.isoformat())).first() is None:
            due.append((tenant_id, day))
    return due


def run_due(engine, new_uow, figures_source, base_url: str, clock) -> int:
    """One pass of the timer: every due tenant's digest; returns the e-mails queued. A tenant whose figures
    cannot be had (workflow down) is logged and tried again on the next pass."""
    with engine.connect() as conn:
        due = due_tenants(conn, clock.now())
    queued = 0
    for tenant_id, day in due:
        try:
            queued += send_digest(tenant_id, day, figures_source, new_uow, base_url)["queued"]
        except Exception as exc:  # noqa: BLE001 - one tenant's failure must not stop the others
            log.warning("daily digest %s for tenant %s not made yet: %s", day.isoformat(), tenant_id,
                        type(exc).__name__)
    return queued


def requested_day(value, setting: rules.Setting, now: dt.datetime) -> dt.date:
    """``send_daily_digest``'s day: today (local) by default; an ISO date up to ``MAX_DAYS_BACK`` days back."""
    today = rules.local_today(setting, now)
    if value in (None, ""):
        return today
    try:
        day = dt.date.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed("day must be a date, YYYY-MM-DD", field="day") from None
    if not today - dt.timedelta(days=MAX_DAYS_BACK) <= day <= today:
        raise ValidationFailed(f"day must be today or up to {MAX_DAYS_BACK} days back", field="day")
    return day


class WorkflowFigures:
    """``digest_figures`` of workflow, called as a service (tenant in the context, no roles: every estate)."""

    def __init__(self, amqp_uri: str, timeout: float = 30.0):
        self.config, self.timeout = {"AMQP_URI": amqp_uri}, timeout

    def __call__(self, tenant_id: str, since: dt.datetime, until: dt.datetime, due_before: dt.datetime) -> dict:
        with ClusterRpcProxy(self.config, context_data={"tenant_id": tenant_id}, timeout=self.timeout) as rpc:
            return rpc.workflow.digest_figures(since.isoformat(), until.isoformat(), due_before.isoformat(),
                                               rules.WORST)


class DigestLoop(DependencyProvider):
    """Runs ``run_due`` every ``DIGEST_CHECK_SECONDS`` (60; 0 = off); workers get ``send(tenant_id, caller_roles,
    day)`` for the RPC. Links point at ``CONSOLE_BASE_URL`` (``GATEWAY_PUBLIC_URL``), else ``SURVEY_BASE_URL``."""

    def __init__(self, database: str = "db", mailer: str = "mailer"):
        self.database, self.mailer = database, mailer
        self.loop = None
        self.figures = None

    def setup(self):
        cfg = self.container.config
        value = cfg.get("DIGEST_CHECK_SECONDS")
        self.interval = float(60 if value in (None, "") else value)
        self.base_url = str(cfg.get("CONSOLE_BASE_URL") or cfg.get("SURVEY_BASE_URL") or "http://127.0.0.1:8000")
        self.base_url = self.base_url.rstrip("/")
        if self.figures is None:  # tests put a stand-in here before the container starts
            self.figures = WorkflowFigures(str(cfg["AMQP_URI"]), float(cfg.get("DIGEST_RPC_TIMEOUT") or 30))

    def _dep(self, name):
        return next(d for d in self.container.dependencies if d.attr_name == name)

    def _new_uow(self):
        db = self._dep(self.database)
        return UnitOfWork(db.engine, db.tables, db.clock, None, db.relay.wake if db.relay else None)

    def _wake_mailer(self):
        mailer = self._dep(self.mailer)
        if mailer.loop:
            mailer.loop.wake()

    def start(self):
        if self.interval <= 0:
            return
        db = self._dep(self.database)

        def step():
            if run_due(db.engine, self._new_uow, self.figures, self.base_url, db.clock):
                self._wake_mailer()
            return False

        self.loop = PollingLoop(step, self.interval, "daily digest")
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    def kill(self):
        self.stop()

    def send(self, tenant_id: str, caller_roles, day=None) -> dict:
        """The RPC ``send_daily_digest``: this tenant's digest of ``day`` (today) now, whatever the setting."""
        _check_caller(caller_roles)
        db = self._dep(self.database)
        with db.engine.connect() as conn:
            setting = setting_of(conn, tenant_id)
        result = send_digest(tenant_id, requested_day(day, setting, db.clock.now()), self.figures, self._new_uow,
                             self.base_url)
        if result["queued"]:
            self._wake_mailer()
        return result

    def get_dependency(self, worker_ctx):
        return self
