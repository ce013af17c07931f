"""``create_app(config=None)``: the only place the gateway reads its environment.

Settings (env var -> config key): GATEWAY_SECRET_KEY -> SECRET_KEY (required), AMQP_URI, RPC_TIMEOUT (5 s),
HEALTH_RPC_TIMEOUT (2 s), RPC_POOL_SIZE (8), TOKEN_TTL (3600 s), LOG_LEVEL (INFO), GATEWAY_COOKIE_SECURE ->
COOKIE_SECURE (off: the session cookie is Secure on HTTPS requests anyway), GATEWAY_OWNER_RATE_LIMIT ->
OWNER_RATE_LIMIT ("10 per minute" per IP on owner pages' POST), GATEWAY_API_KEY_RATE_LIMIT -> API_KEY_RATE_LIMIT
("120 per minute" per API key on Open311 and CTI), GATEWAY_OWNER_FORM_RATE_LIMIT ->
OWNER_FORM_RATE_LIMIT ("10 per minute;60 per hour" per IP on the owner complaint form's POST),
GATEWAY_PUBLIC_URL -> PUBLIC_BASE_URL (how users reach the console, for links in e-mails; never taken from the
request's Host header; default ``http://GATEWAY_HOST:GATEWAY_PORT``), GATEWAY_PASSWORD_RESET_RATE_LIMIT ->
PASSWORD_RESET_RATE_LIMIT ("5 per 15 minutes;20 per day" per IP on "forgot password"),
GATEWAY_PASSWORD_RESET_USER_LIMIT -> PASSWORD_RESET_USER_LIMIT ("3 per hour" per username),
GATEWAY_LOGIN_RATE_LIMIT -> LOGIN_RATE_LIMIT ("30 per minute;300 per hour" per IP on the POSTs of /login,
/api/v1/auth/token and both ways of spending a reset link), GATEWAY_WECHAT_RATE_LIMIT -> WECHAT_RATE_LIMIT
("1200 per minute" per IP on the WeChat callback's POST), GATEWAY_RATE_LIMIT_STORAGE -> RATE_LIMIT_STORAGE (where
every limit above is counted: ``memory://``, per process, or ``memcached://host:port``, shared by the replicas;
``web.make_limiter``),
GATEWAY_PASSWORD_RESET_MIN_SECONDS -> PASSWORD_RESET_MIN_SECONDS (1: the least time its answer takes); the database is
``estatedesk_common.config.db_target("gateway")`` unless ``config`` gives ``DB_ENGINE`` or ``DATABASE_URL``.
``config["RPC"]`` replaces the service client (unit tests pass a fake).
"""
from __future__ import annotations

import logging.config
import os
import re
import time
import uuid

from flask import Flask, g, request
from prometheus_client import Counter, Histogram

from estatedesk_common.config import DbTarget, db_target
from estatedesk_common.db import make_engine
from estatedesk_common.observability import logging_config, request_id_var

from . import api_keys, auth, errors, messages, uploads, web
from .blueprints import auth as auth_bp
from .blueprints import api_docs, complaints, health, reports
from .blueprints import dashboard
from .blueprints import sla as sla_bp
from .blueprints import classification as classification_bp
from .blueprints import case_actions
from .blueprints import callbacks as callbacks_bp
from .blueprints import api_keys as api_keys_bp
from .blueprints import webhooks as webhooks_bp
from .blueprints import mail_settings as mail_settings_bp
from .blueprints import periodic_reports as periodic_reports_bp
from .blueprints import open311
from .blueprints import committee as committee_bp, console_committee
from .blueprints import wechat as wechat_bp
from .blueprints import console_lookup, cti
from .blueprints import routing_rules as routing_rules_bp
from .blueprints import duty_roster as duty_roster_bp
from .blueprints import staff_contacts as staff_contacts_bp
from .blueprints import digest_settings as digest_settings_bp
from .blueprints import notify_templates as notify_templates_bp
from .blueprints import account as account_bp, users as users_bp
from . import audit
from .rpc import ProxyPool

MAX_BODY = 1024 * 1024
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"

REQUESTS = Counter("estatedesk_gateway_requests_total", "Gateway HTTP requests",
                   ["endpoint", "method", "status"])
LATENCY = Histogram("estatedesk_gateway_request_seconds", "Gateway HTTP request latency",
                    ["endpoint", "method"])

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _settings(config: dict | None) -> dict:
    env = os.environ
    settings = {
        "SECRET_KEY": env.get("GATEWAY_SECRET_KEY"),
        "AMQP_URI": env.get("AMQP_URI") or DEFAULT_AMQP_URI,
        "RPC_TIMEOUT": float(env.get("RPC_TIMEOUT") or 5),
        "RPC_POOL_SIZE": int(env.get("RPC_POOL_SIZE") or 8),
        "HEALTH_RPC_TIMEOUT": float(env.get("HEALTH_RPC_TIMEOUT") or 2),
        "TOKEN_TTL": int(env.get("TOKEN_TTL") or 3600),
        "LOG_LEVEL": env.get("LOG_LEVEL") or "INFO",
        "COOKIE_SECURE": (env.get("GATEWAY_COOKIE_SECURE") or "0").lower() in ("1", "true", "yes"),
        "OWNER_RATE_LIMIT": env.get("GATEWAY_OWNER_RATE_LIMIT") or "10 per minute",
        "API_KEY_RATE_LIMIT": env.get("GATEWAY_API_KEY_RATE_LIMIT") or "120 per minute",
        "OWNER_FORM_RATE_LIMIT": env.get("GATEWAY_OWNER_FORM_RATE_LIMIT") or "10 per minute;60 per hour",
        "PUBLIC_BASE_URL": (env.get("GATEWAY_PUBLIC_URL") or "http://{}:{}".format(
            env.get("GATEWAY_HOST") or "127.0.0.1", env.get("GATEWAY_PORT") or 8000)).rstrip("/"),
        "PASSWORD_RESET_RATE_LIMIT": env.get("GATEWAY_PASSWORD_RESET_RATE_LIMIT") or "5 per 15 minutes;20 per day",
        "PASSWORD_RESET_USER_LIMIT": env.get("GATEWAY_PASSWORD_RESET_USER_LIMIT") or "3 per hour",
        "LOGIN_RATE_LIMIT": env.get("GATEWAY_LOGIN_RATE_LIMIT") or "30 per minute;300 per hour",
        "WECHAT_RATE_LIMIT": env.get("GATEWAY_WECHAT_RATE_LIMIT") or "1200 per minute",
        "RATE_LIMIT_STORAGE": env.get("GATEWAY_RATE_LIMIT_STORAGE") or "memory://",
        "PASSWORD_RESET_MIN_SECONDS": float(env.get("GATEWAY_PASSWORD_RESET_MIN_SECONDS") or 1.0),
        "CONFIGURE_LOGGING": True,
    }
    settings.update(config or {})
    if not settings["SECRET_KEY"]:
        raise RuntimeError("GATEWAY_SECRET_KEY is not set (scripts/env.sh generates one)")
    settings["MAX_CONTENT_LENGTH"] = MAX_BODY
    return settings


def _engine(settings: dict):
    if settings.get("DB_ENGINE") is not None:
        return settings["DB_ENGINE"]
    if settings.get("DATABASE_URL"):
        return make_engine(DbTarget(settings["DATABASE_URL"], None))
    return make_engine(db_target("gateway"))


def create_app(config: dict | None = None) -> Flask:
    settings = _settings(config)
    if settings["CONFIGURE_LOGGING"]:
        logging.config.dictConfig(logging_config(settings["LOG_LEVEL"]))
    messages.register()

    app = Flask(__name__)
    app.request_class = uploads.UploadRequest  # upload pages' POST may exceed MAX_BODY (uploads.UPLOAD_BODY_LIMIT)
    app.config.update(settings)
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    app.extensions["db"] = _engine(settings)
    # a pool of started proxies: 6.6x the requests/s of a proxy per request (bench/gateway.py)
    app.extensions["rpc"] = settings.get("RPC") or ProxyPool(settings["AMQP_URI"], settings["RPC_TIMEOUT"],
                                                             settings["RPC_POOL_SIZE"])

    app.before_request(_start_request)
    app.before_request(auth.authenticate_request)
    app.after_request(_finish_request)
    app.teardown_request(_reset_request_id)
    errors.register_error_handlers(app)

    app.register_blueprint(health.bp)
    app.register_blueprint(api_docs.bp)  # /api/v1/openapi.json, /api/docs
    app.register_blueprint(auth_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(complaints.bp, url_prefix="/api/v1")
    from .blueprints import estates as estates_bp  # estates administration (intake)

    app.register_blueprint(estates_bp.bp, url_prefix="/api/v1")
    from .blueprints import estate_directory  # regions, buildings and units (intake)

    app.register_blueprint(estate_directory.bp, url_prefix="/api/v1")
    app.register_blueprint(reports.bp, url_prefix="/api/v1")
    app.register_blueprint(dashboard.bp, url_prefix="/api/v1")
    app.register_blueprint(sla_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(classification_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(case_actions.bp, url_prefix="/api/v1")
    app.register_blueprint(callbacks_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(api_keys_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(webhooks_bp.bp, url_prefix="/api/v1")  # outgoing webhooks (notify)
    app.register_blueprint(mail_settings_bp.bp, url_prefix="/api/v1")  # the tenant's own SMTP server (notify)
    app.register_blueprint(periodic_reports_bp.bp, url_prefix="/api/v1")  # 周报/月报/季报 (reporting)
    app.register_blueprint(open311.bp, url_prefix="/open311/v2")  # API key, not token or session
    app.register_blueprint(wechat_bp.bp)  # /channels/wechat/<slug>: signed by the tenant's WeChat token
    app.register_blueprint(cti.bp, url_prefix="/api/v1")  # CTI call events: API key (scope cti)
    app.register_blueprint(routing_rules_bp.bp, url_prefix="/api/v1")  # routing rules (workflow)
    app.register_blueprint(duty_roster_bp.bp, url_prefix="/api/v1")  # duty roster, night shift (workflow)
    app.register_blueprint(staff_contacts_bp.bp, url_prefix="/api/v1")  # alert recipients (notify)
    app.register_blueprint(digest_settings_bp.bp, url_prefix="/api/v1")  # managers' daily digest (notify)
    app.register_blueprint(notify_templates_bp.bp, url_prefix="/api/v1")  # message templates (notify)
    from .blueprints import quality as quality_bp  # nonconformity and CAPA records (workflow)

    app.register_blueprint(quality_bp.bp, url_prefix="/api/v1")
    app.register_blueprint(console_lookup.bp)  # hotline desk: caller lookup JSON, calls panel (session)
    app.register_blueprint(committee_bp.bp, url_prefix="/api/v1")  # residents' committee channel
    app.register_blueprint(users_bp.bp, url_prefix="/api/v1")  # users and audit log (group_admin)
    app.register_blueprint(account_bp.bp, url_prefix="/api/v1")  # own password and TOTP; reset links
    web.init_console(app)  # pages: sessions, CSRF, Babel, rate limit, console blueprints
    api_keys.limit_by_key(app, open311.bp, cti.bp)  # per-key rate limit on the integration endpoints
    app.register_blueprint(console_committee.bp)  # committee pages (session and CSRF from init_console)
    from .blueprints import console_account, console_admin  # /account, /reset-password, /admin/users, /admin/audit
    from .blueprints import console_forgot  # /forgot-password: a reset link by e-mail (notify)

    app.register_blueprint(console_account.bp)
    console_forgot.register(app)
    app.register_blueprint(console_admin.bp)
    from .blueprints import console_integrations, console_reports  # /admin/integrations, /reports/subscriptions

    app.register_blueprint(console_integrations.bp)
    from .blueprints import console_mail_settings  # 发件邮箱 on /admin/integrations (notify)

    app.register_blueprint(console_mail_settings.bp)
    app.register_blueprint(console_reports.bp)
    from .blueprints import console_quality  # /quality (不合格与纠正预防), /workload (团队工作量)

    app.register_blueprint(console_quality.bp)
    from .blueprints import console_template_settings  # /settings/templates (消息模板, notify)

    app.register_blueprint(console_template_settings.bp)
    from .blueprints import console_estates  # /admin/estates (项目管理, intake)

    app.register_blueprint(console_estates.bp)
    from .blueprints import console_regions, console_units  # /admin/regions, /admin/estates/<code>/units (intake)

    app.register_blueprint(console_regions.bp)
    app.register_blueprint(console_units.bp)
    web.limit_doors(app)  # per-IP limits on sign-in, token, reset links and the WeChat callback
    audit.init_app(app)  # audit rows (before/after) of service changes; after init_console: its principal
    return app


def _start_request():
    given = request.headers.get("X-Request-ID", "")
    g.request_id = given if _SANE_REQUEST_ID.match(given) else str(uuid.uuid4())
    g.request_id_token = request_id_var.set(g.request_id)
    g.started = time.perf_counter()
    if _has_nul():  # PostgreSQL text cannot hold NUL: refuse it here rather than with a 500 from a query
        raise errors.ApiError(400, "bad_request", details={"field": "NUL character"})


def _has_nul() -> bool:
    """NUL in the path, the query string or a form field (JSON bodies: ``blueprints.load_json``)."""
    fields = list(request.args.items(multi=True))
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += list(request.form.items(multi=True))
    return "\x00" in request.path or any("\x00" in key or "\x00" in value for key, value in fields)


def _finish_request(response):
    response.headers["X-Request-ID"] = g.get("request_id") or ""
    endpoint = request.url_rule.rule if request.url_rule is not None else "unmatched"
    method = request.method if request.method in _METHODS else "other"
    REQUESTS.labels(endpoint, method, f"{response.status_code // 100}xx").inc()
    if g.get("started") is not None:
        LATENCY.labels(endpoint, method).observe(time.perf_counter() - g.started)
    return response


def _reset_request_id(_exc=None):
    token = g.pop("request_id_token", None)
    if token is not None:
        try:
            request_id_var.reset(token)
        except ValueError:  # set in another context (should not happen); leave it
            pass
