"""Outgoing webhooks per tenant: endpoints, fan-out of workflow's case events, signed delivery with retries.

- **Endpoints** (group admins, through the gateway): an https URL (http and private addresses only where the
  operator allows them: ``WEBHOOK_ALLOW_HTTP`` / ``WEBHOOK_ALLOW_PRIVATE``), the event types (none = all) and a
  secret generated here and shown once.
- **Fan-out**: each case event (``domain.webhooks.EVENTS``) is claimed in the inbox and gets one delivery row
  per subscribed endpoint in the same transaction (unique per endpoint and event: redelivery posts once).
- **Delivery** (``WebhookDeliverer``, a polling loop woken by the fan-out): POST the stored body with
  ``X-EstateDesk-Signature: t=..,v1=..`` (HMAC-SHA256 of ``t.body``), ``X-EstateDesk-Event``,
  ``X-EstateDesk-Delivery``; 2xx = delivered; anything else, a timeout or a refused address is retried after
  30 s, 2 min, 10 min, 1 h, 6 h, then ``failed`` (kept, visible in the delivery log, redeliverable). The
  resolved address is checked at every attempt (a name that later points inside the network is refused).
  Redirects are not followed. Rows are claimed with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and a lease, so
  replicas never post one delivery at the same time; delivery is at least once (a crash between the POST and
  its record posts it again): receivers dedupe on ``X-EstateDesk-Delivery``.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time
import uuid
from urllib.parse import urlsplit

import requests
from nameko.extensions import DependencyProvider
from prometheus_client import Counter
from sqlalchemy import and_, func, or_, select, update

from estatedesk_common.loops import PollingLoop

from .domain import webhooks as rules
from .exceptions import Forbidden, NotFound, ValidationFailed
from .tables import webhook_deliveries as deliveries
from .tables import webhook_endpoints as endpoints

log = logging.getLogger(__name__)
POSTS = Counter("estatedesk_webhook_posts_total", "Webhook POSTs by outcome", ["outcome"])
ADMIN_ROLES = ("group_admin",)


class WebhookNotFound(NotFound):
    code = "webhook_not_found"


def _require_admin(roles) -> None:
    if roles is not None and not any(role in ADMIN_ROLES for role, _estate in roles):
        raise Forbidden("only a group admin manages webhooks")


def _view(row, secret: str | None = None) -> dict:
    out = {"id": row["id"], "url": row["url"], "events": row["events"], "description": row["description"],
           "active": row["active"], "created_at": row["created_at"].isoformat()}
    if secret is not None:
        out["secret"] = secret  # shown once, when created
    return out


def create_endpoint(data, tenant_id: str, user_id, roles, uow, allow_http: bool) -> dict:
    _require_admin(roles)
    if not isinstance(data, dict):
        raise ValidationFailed("body must be an object", field="body")
    try:
        url = rules.check_url(data.get("url"), allow_http)
        events = rules.check_events(data.get("events"))
    except rules.InvalidWebhook as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    description = data.get("description") or ""
    if not isinstance(description, str) or len(description) > 200:
        raise ValidationFailed("description: text of at most 200 characters", field="description")
    secret = rules.new_secret()
    with uow:
        count = uow.conn.execute(select(func.count()).select_from(endpoints).where(
            endpoints.c.tenant_id == tenant_id, endpoints.c.active.is_(True))).scalar_one()
        if count >= rules.MAX_ENDPOINTS:
            raise ValidationFailed(f"at most {rules.MAX_ENDPOINTS} webhooks per tenant", field="url")
        row = {"tenant_id": tenant_id, "id": str(uuid.uuid4()), "url": url, "secret": secret, "events": events,
               "description": description.strip(), "active": True, "created_at": uow.clock.now(),
               "created_by": user_id}
        uow.conn.execute(endpoints.insert(), row)
        uow.commit()
    return _view(row, secret)


def list_endpoints(tenant_id: str, roles, engine) -> list[dict]:
    _require_admin(roles)
    with engine.connect() as conn:
        rows = conn.execute(select(endpoints).where(endpoints.c.tenant_id == tenant_id, endpoints.c.active.is_(True))
                            .order_by(endpoints.c.created_at)).mappings().all()
    return [_view(r) for r in rows]


def delete_endpoint(endpoint_id, tenant_id: str, roles, uow) -> dict:
    """Deactivates it (its delivery log stays); pending deliveries to it are failed."""
    _require_admin(roles)
    with uow:
        found = uow.conn.execute(update(endpoints).where(
            endpoints.c.tenant_id == tenant_id, endpoints.c.id == str(endpoint_id), endpoints.c.active.is_(True))
            .values(active=False)).rowcount
        if not found:
            raise WebhookNotFound("no such webhook", field="id")
        uow.conn.execute(update(deliveries).where(
            deliveries.c.tenant_id == tenant_id, deliveries.c.endpoint_id == str(endpoint_id),
            deliveries.c.status == "pending").values(status="failed", next_attempt_at=None,
                                                     last_error="webhook deleted"))
        uow.commit()
    return {"id": str(endpoint_id), "active": False}


def list_deliveries(endpoint_id, tenant_id: str, roles, engine, limit: int = 50) -> list[dict]:
    _require_admin(roles)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
        raise ValidationFailed("limit must be an integer from 1 to 200", field="limit")
    with engine.connect() as conn:
        if conn.execute(select(endpoints.c.id).where(endpoints.c.tenant_id == tenant_id,
                                                     endpoints.c.id == str(endpoint_id))).first() is None:
            raise WebhookNotFound("no such webhook", field="id")
        rows = conn.execute(select(deliveries).where(
            deliveries.c.tenant_id == tenant_id, deliveries.c.endpoint_id == str(endpoint_id))
            .order_by(deliveries.c.created_at.desc()).limit(limit)).mappings().all()
    iso = lambda v: v.isoformat() if v else None  # noqa: E731
    return [{"id": r["id"], "event_id": r["event_id"], "event_type": r["event_type"], "status": r["status"],
             "attempts": r["attempts"], "last_status_code": r["last_status_code"], "last_error": r["last_error"],
             "created_at": iso(r["created_at"]), "delivered_at": iso(r["delivered_at"]),
             "next_attempt_at": iso(r["next_attempt_at"])} for r in rows]


def fan_out(envelope, uow) -> int:
    """One delivery row per active endpoint of the tenant subscribed to this event; returns how many."""
    consumer = f"notify.webhooks.{envelope.event_type}"
    with uow:
        if not uow.claim(envelope, consumer):
            return 0
        now = uow.clock.now()
        targets = uow.conn.execute(select(endpoints.c.id, endpoints.c.events).where(
            endpoints.c.tenant_id == envelope.tenant_id, endpoints.c.active.is_(True))).all()
        body = json.dumps({"event_id": envelope.event_id, "event_type": envelope.event_type,
                           "tenant_id": envelope.tenant_id, "occurred_at": envelope.occurred_at,
                           "payload": envelope.payload}, ensure_ascii=False, sort_keys=True)
        rows = [{"tenant_id": envelope.tenant_id, "id": str(uuid.uuid4()), "endpoint_id": t.id,
                 "event_id": envelope.event_id, "event_type": envelope.event_type, "body": body,
                 "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now}
                for t in targets if not t.events or envelope.event_type in t.events]
        if rows:
            uow.conn.execute(deliveries.insert(), rows)
        uow.commit()
    return len(rows)


class Poster:
    """POSTs one delivery; refuses addresses the operator did not allow (checked on every attempt)."""

    def __init__(self, allow_private: bool, timeout: float = 10.0, session=None):
        self.allow_private, self.timeout = allow_private, timeout
        self.session = session or requests.Session()

    def __call__(self, url: str, secret: str, delivery_id: str, event_type: str, body: str) -> tuple[int | None, str | None]:
        host = urlsplit(url).hostname
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
        except OSError as exc:
            return None, f"cannot resolve {host}: {exc}"
        refused = sorted(a for a in addresses if not rules.address_allowed(a, self.allow_private))
        if refused:
            return None, f"address not allowed: {', '.join(refused)}"
        raw = body.encode()
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "EstateDesk-Webhooks/1",
                   rules.SIGNATURE_HEADER: rules.sign(secret, int(time.time()), raw),
                   "X-EstateDesk-Event": event_type, "X-EstateDesk-Delivery": delivery_id}
        try:
            response = self.session.post(url, data=raw, headers=headers, timeout=self.timeout, allow_redirects=False)
        except requests.RequestException as exc:
            return None, f"{type(exc).__name__}: {exc}"[:500]
        return response.status_code, None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"


LEASE = dt.timedelta(minutes=2)  # a claimed delivery another pass (or replica) leaves alone meanwhile


def deliver_once(engine, clock, post, batch: int = 20) -> int:
    """Post the due deliveries; returns how many were attempted. Rows are claimed in a short transaction (their
    next attempt moved a lease ahead), posted with no transaction open, and each result recorded in its own:
    a crash between post and record leaves the row to be posted again after the lease (at least once:
    receivers dedupe on ``X-EstateDesk-Delivery``)."""
    now = clock.now()
    with engine.begin() as conn:
        q = (select(deliveries.c.tenant_id, deliveries.c.id, deliveries.c.event_type, deliveries.c.body,
                    deliveries.c.attempts, endpoints.c.url, endpoints.c.secret)
             .join(endpoints, and_(endpoints.c.tenant_id == deliveries.c.tenant_id,
                                   endpoints.c.id == deliveries.c.endpoint_id))
             .where(deliveries.c.status == "pending",
                    or_(deliveries.c.next_attempt_at.is_(None), deliveries.c.next_attempt_at <= now))
             .order_by(deliveries.c.next_attempt_at).limit(batch))
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=deliveries)
        due = conn.execute(q).mappings().all()
        if due:
            conn.execute(update(deliveries).where(deliveries.c.id.in_([r["id"] for r in due]))
                         .values(next_attempt_at=now + LEASE))
    for row in due:
        status_code, error = post(row["url"], row["secret"], row["id"], row["event_type"], row["body"])
        _record(engine, clock, row, status_code, error)
    return len(due)


def _record(engine, clock, row, status_code, error) -> None:
    attempts = row["attempts"] + 1
    if error is None:
        values = {"status": "delivered", "delivered_at": clock.now(), "next_attempt_at": None}
        POSTS.labels("delivered").inc()
    else:
        retry = rules.next_attempt(attempts, clock.now())
        values = {"status": "pending" if retry else "failed", "next_attempt_at": retry}
        POSTS.labels("retry" if retry else "failed").inc()
        log.warning("webhook delivery %s (%s) attempt %d: %s", row["id"], row["event_type"], attempts, error)
    with engine.begin() as conn:
        conn.execute(update(deliveries).where(deliveries.c.tenant_id == row["tenant_id"], deliveries.c.id == row["id"])
                     .values(attempts=attempts, last_status_code=status_code, last_error=error, **values))


def redeliver(delivery_id, tenant_id: str, roles, uow) -> dict:
    """A failed (or any) delivery queued again now, e.g. after the receiver was fixed."""
    _require_admin(roles)
    with uow:
        found = uow.conn.execute(update(deliveries).where(
            deliveries.c.tenant_id == tenant_id, deliveries.c.id == str(delivery_id))
            .values(status="pending", next_attempt_at=uow.clock.now(), attempts=0)).rowcount
        if not found:
            raise WebhookNotFound("no such delivery", field="id")
        uow.commit()
    return {"id": str(delivery_id), "status": "pending"}


class WebhookDeliverer(DependencyProvider):
    """Runs the delivery loop on the service's ``Database`` (``db``); workers get ``wake`` and the settings."""

    def __init__(self, database: str = "db"):
        self.database = database
        self.loop = None

    def setup(self):
        cfg = self.container.config
        truthy = ("1", "true", "yes", "on")
        self.allow_http = str(cfg.get("WEBHOOK_ALLOW_HTTP", False)).lower() in truthy
        self.allow_private = str(cfg.get("WEBHOOK_ALLOW_PRIVATE", False)).lower() in truthy
        self.interval = float(cfg.get("WEBHOOK_POLL_SECONDS") or 2.0)

    def start(self):
        db = next(d for d in self.container.dependencies if getattr(d, "attr_name", None) == self.database)
        post = Poster(self.allow_private)
        self.loop = PollingLoop(lambda: deliver_once(db.engine, db.clock, post) > 0, self.interval,
                                "webhook deliveries")
        self.container.spawn_managed_thread(self.loop.run)

    def stop(self):
        if self.loop:
            self.loop.stop()

    kill = stop

    def get_dependency(self, worker_ctx):
        return self
