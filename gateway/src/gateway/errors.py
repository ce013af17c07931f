"""Every error becomes ``{"error": CODE, "message": ..., "details": {...}}``: the one table that maps errors to HTTP.

| raised                                                   | status | code                          |
|----------------------------------------------------------|--------|-------------------------------|
| ``ApiError`` (the gateway's own refusals)                | its    | its                           |
| nameko ``RemoteError`` carrying an ``EstateDeskError``   | its    | its (message translated)      |
| ``RpcTimeout``, ``UnknownService``, broker/socket errors | 503    | service_unavailable + Retry-After: 5 |
| a database that cannot be reached (the gateway's own ``OperationalError``, or a service's as ``RemoteError``) | 503 | service_unavailable + Retry-After: 5 |
| werkzeug ``HTTPException``                               | its    | not_found, method_not_allowed, payload_too_large, unsupported_media_type, bad_request |
| anything else (incl. a RemoteError that is not ours)     | 500    | internal_error + request id; traceback only in the log |
"""
from __future__ import annotations

import collections
import logging

import amqp.exceptions
import kombu.exceptions
import sqlalchemy.exc
from flask import g, jsonify, request
from nameko.exceptions import RemoteError, RpcTimeout, UnknownService
from werkzeug.exceptions import HTTPException

from estatedesk_common.errors import parse_remote
from estatedesk_common.i18n import negotiate, t

from . import messages

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

UNAVAILABLE = (RpcTimeout, UnknownService, OSError, kombu.exceptions.OperationalError,
               amqp.exceptions.ConnectionError, amqp.exceptions.RecoverableConnectionError,
               sqlalchemy.exc.OperationalError, sqlalchemy.exc.DisconnectionError)
# a service's database down or restarting reaches us as a RemoteError of one of these (not an EstateDeskError)
REMOTE_UNAVAILABLE = {"OperationalError", "DisconnectionError"}

HTTP_CODES = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
              429: "too_many_requests"}


class ApiError(Exception):
    """A refusal decided by the gateway itself; ``params`` fill the translated message."""

    def __init__(self, status: int, code: str, details: dict | None = None, headers: dict | None = None,
                 **params):
        super().__init__(code)
        self.status, self.code = status, code
        self.details = dict(details or {})
        self.headers = dict(headers or {})
        self.params = params


def locale() -> str:
    return negotiate(request.headers.get("Accept-Language"))


def error_response(status: int, code: str, message: str | None = None, details: dict | None = None,
                   headers: dict | None = None, **params):
    loc = locale()
    if message is None:
        key = f"error.{code}"
        message = t(key, loc, **params) if messages.has(key) else code
    response = jsonify({"error": code, "message": message, "details": details or {}})
    response.status_code = status
    response.headers["Content-Language"] = "zh-CN" if loc == "zh_CN" else loc
    response.vary.add("Accept-Language")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    if status == 401:
        response.headers.setdefault("WWW-Authenticate", 'Bearer realm="estatedesk"')
    return response


def _remote(exc: RemoteError):
    data = parse_remote(exc.value)
    if data is None and exc.exc_type in REMOTE_UNAVAILABLE:
        return _unavailable(exc)
    if data is None:
        return _internal(exc)
    code, details = str(data["error"]), data.get("details") or {}
    key = f"error.{code}"
    message = _remote_message(key, details) if messages.has(key) else data.get("message") or code
    return error_response(int(data["status"]), code, message, details)


def _remote_message(key: str, details: dict) -> str:
    """The catalogue's text for a service's error, its placeholders ({field}...) filled from the details (a
    placeholder the details do not give stays empty, never a literal ``{field}``)."""
    params = collections.defaultdict(str, {k: v for k, v in details.items() if isinstance(v, (str, int, float))})
    # t() without params returns the template as it is; an empty placeholder at the end takes its colon with it
    return t(key, locale()).format_map(params).rstrip(" :：")


def _api(exc: ApiError):
    return error_response(exc.status, exc.code, details=exc.details, headers=exc.headers, **exc.params)


def _unavailable(exc: Exception):
    log.warning("service unavailable: %s: %s", type(exc).__name__, exc)
    return error_response(503, "service_unavailable", headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


def _http(exc: HTTPException):
    status = exc.code or 500
    if status >= 500:
        return _internal(exc)
    return error_response(status, HTTP_CODES.get(status, "bad_request"), headers=_allow_header(exc))


def _allow_header(exc: HTTPException) -> dict:
    valid = getattr(exc, "valid_methods", None)
    return {"Allow": ", ".join(valid)} if valid else {}


def _internal(exc: BaseException):
    request_id = getattr(g, "request_id", None)
    log.error("unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error_response(500, "internal_error", details={"request_id": request_id}, request_id=request_id)


def handle(exc: Exception):
    """Pick the row of the table above that ``exc`` falls in."""
    if isinstance(exc, ApiError):
        return _api(exc)
    if isinstance(exc, RemoteError):
        return _remote(exc)
    if isinstance(exc, UNAVAILABLE):
        return _unavailable(exc)
    if isinstance(exc, HTTPException):
        return _http(exc)
    return _internal(exc)


def register_error_handlers(app) -> None:
    app.register_error_handler(Exception, handle)
