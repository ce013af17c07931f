"""``GET /api/v1/health`` (no token), ``GET /metrics`` (Prometheus) and a small index at ``/api/v1/``
(``/`` is the console's home page)."""
from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from estatedesk_common.db import ping

from .. import rpc
from ..auth import public

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)

SERVICES = ("intake", "workflow", "notify", "reporting")


@bp.get("/api/v1/health")
@public
def health():
    services = _services()
    database = _database()
    healthy = database == "ok" and all(state == "ok" for state in services.values())
    body = {"status": "ok" if healthy else "degraded", "services": services, "database": database}
    return body, 200 if healthy else 503


def _services() -> dict:
    calls = [(name, "health", ()) for name in SERVICES]
    try:
        results = rpc.client().call_many(calls, timeout=current_app.config["HEALTH_RPC_TIMEOUT"],
                                         return_exceptions=True)
    except Exception as exc:  # broker unreachable: nothing answers
        log.warning("health: broker unavailable: %s", exc)
        results = [exc] * len(SERVICES)
    states = {}
    for name, result in zip(SERVICES, results):
        ok = isinstance(result, dict) and result.get("status") == "ok"
        if not ok:
            log.warning("health: %s unavailable: %r", name, result)
        states[name] = "ok" if ok else "unavailable"
    return states


def _database() -> str:
    try:
        ping(current_app.extensions["db"])
        return "ok"
    except Exception as exc:
        log.warning("health: database unavailable: %s", exc)
        return "unavailable"


@bp.get("/metrics")
@public
def metrics():
    return Response(generate_latest(), content_type=CONTENT_TYPE_LATEST)


@bp.get("/api/v1/")
@public
def index():
    return {"service": "estatedesk-gateway", "api": "/api/v1/", "health": "/api/v1/health", "metrics": "/metrics"}
