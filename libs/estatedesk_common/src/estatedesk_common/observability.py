"""Prometheus metrics and JSON logs carrying the request id.

Labels are service, entrypoint, event type and outcome: never tenant or estate (unbounded cardinality;
per-tenant figures live in reporting's read model).
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import threading
import time

from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

ENTRYPOINT_CALLS = Counter("estatedesk_entrypoint_calls_total", "Entrypoint calls",
                           ["service", "entrypoint", "outcome"])
ENTRYPOINT_LATENCY = Histogram("estatedesk_entrypoint_seconds", "Entrypoint latency", ["service", "entrypoint"])
EVENTS_PUBLISHED = Counter("estatedesk_events_published_total", "Events published by the outbox relay",
                           ["service", "outcome"])
EVENTS_CONSUMED = Counter("estatedesk_events_consumed_total", "Events handled", ["service", "event_type", "outcome"])
OUTBOX_BACKLOG = Gauge("estatedesk_outbox_backlog", "Outbox rows not yet published", ["service"])
DEAD_LETTERED = Counter("estatedesk_dead_lettered_total", "Messages sent to a dead-letter queue",
                        ["service", "event_type"])

_server_lock = threading.Lock()
_servers: dict[int, object] = {}


def serve_metrics(port: int, addr: str = "127.0.0.1") -> None:
    """Start the process's metrics endpoint once (several services may share one process)."""
    if not port:
        return
    with _server_lock:
        if port not in _servers:
            _servers[port] = start_http_server(port, addr=addr)


class Observability(DependencyProvider):
    """Per-entrypoint counts and latency; puts the caller's request id into the logging context."""

    def setup(self):
        cfg = self.container.config
        serve_metrics(int(cfg.get("METRICS_PORT") or 0), cfg.get("METRICS_ADDR", "127.0.0.1"))
        self._started: dict = {}

    def worker_setup(self, worker_ctx):
        request_id_var.set(worker_ctx.data.get("request_id"))
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(self, worker_ctx, result=None, exc_info=None):
        service = self.container.service_name
        name = worker_ctx.entrypoint.method_name
        expected = getattr(worker_ctx.entrypoint, "expected_exceptions", ())
        if exc_info is None:
            outcome = "ok"
        elif expected and isinstance(exc_info[1], expected):
            outcome = "rejected"
        else:
            outcome = "error"
        ENTRYPOINT_CALLS.labels(service, name, outcome).inc()
        started = self._started.pop(worker_ctx, None)
        if started is not None:
            ENTRYPOINT_LATENCY.labels(service, name).observe(time.perf_counter() - started)

    def get_dependency(self, worker_ctx):
        return None


class RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


# a mobile number stands alone: not inside a longer run of digits, a hex id or a UUID
# (also URL-encoded: ``to=%2B8613812345678`` in a query string)
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z_-])(?:(?:\+|%2[Bb])?86)?(1\d{2})\d{4}(\d{4})(?![0-9A-Za-z_])")
_EMAIL_IN_TEXT = re.compile(r"(?<![A-Za-z0-9._%+\-])([A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]*@([A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})")


# the request line of an access log (nameko's web server, werkzeug): its query string can carry a receiver's number
# and the callback's token (Kannel's dlr-url / MO URL), so the log keeps the path only
_QUERY_IN_REQUEST_LINE = re.compile(r'("(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) [^?" ]*)\?[^" ]*')


def mask_pii(text: str) -> str:
    """Mainland mobile numbers and e-mail addresses in free text, masked as notify masks them
    (``138****5678``, ``z***@example.com``): the last line of defence for whatever a log message quotes."""
    text = _QUERY_IN_REQUEST_LINE.sub(r"\1?…", text)
    text = _MOBILE_IN_TEXT.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _EMAIL_IN_TEXT.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, and the exception if any.

    Message and exception text pass through ``mask_pii``: no complainant's phone or e-mail reaches a log file.
    """

    def format(self, record):
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_pii(record.getMessage()),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        if record.exc_info:
            data["exc"] = mask_pii(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


JsonFormatter.converter = time.gmtime


def logging_config(level: str = "INFO") -> dict:
    """dictConfig for services (nameko's LOGGING key) and the gateway."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "estatedesk_common.observability.RequestIdFilter"}},
        "formatters": {"json": {"()": "estatedesk_common.observability.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["request_id"]}},
        "root": {"level": level, "handlers": ["console"]},
    }
