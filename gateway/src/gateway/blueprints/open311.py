"""Open311 GeoReport v2 (``/open311/v2/``), per tenant: the channel ``open311`` (``docs/open311.md``).

The API key decides the tenant (``api_keys.require_api_key("open311")``, scope ``open311``); every route but
``discovery`` needs one, GETs included, because without it nothing says whose estates and complaints are
meant. ``jurisdiction_id`` is an estate code of that tenant. Services are the tenant's classification
categories (``intake.list_categories``); a request is a complaint of channel ``open311``
(``intake.register_complaint``), its ``service_request_id`` the complaint's reference, its status ``closed``
once workflow's case is closed or cancelled (``workflow.case_summaries``), its ``expected_datetime`` the
resolution deadline. Output is JSON or XML by the URL's extension; every refusal is the spec's error list
with the spec's status (400 not provided/invalid, 403 bad key, 404 not found).
"""
from __future__ import annotations

import logging

from flask import Blueprint, g, request, url_for
from nameko.exceptions import RemoteError
from werkzeug.exceptions import HTTPException

from estatedesk_common.db import utcnow
from estatedesk_common.errors import parse_remote
from estatedesk_common.i18n import t

from .. import rpc
from ..api_keys import require_api_key
from ..auth import public
from ..errors import UNAVAILABLE, ApiError, locale
from . import open311_messages  # noqa: F401  (registers the texts)
from .open311_format import error, render
from .open311_model import Open311Error, complaint_from_form, date_window, read_form, request_view

log = logging.getLogger(__name__)

bp = Blueprint("open311", __name__)

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-03T00:00:00Z"  # when this endpoint's behaviour last changed (discovery)
MAX_RESULTS = 1000  # spec: the first 1000 requests
PAGE = 1000
MAX_PAGES = 10  # with a status filter, at most this many pages of intake are read for 1000 matches
RETRY_AFTER_SECONDS = 5


def _format(fmt: str) -> str:
    if fmt not in ("json", "xml"):
        raise Open311Error(404, "open311.format", value=fmt[:10])
    return fmt


def _request_format() -> str:
    return "xml" if request.path.endswith(".xml") else "json"


@bp.get("/discovery.<fmt>")
@public
def discovery(fmt: str):
    loc = locale()
    doc = {"changeset": CHANGESET, "contact": t("open311.discovery.contact", loc),
           "key_service": t("open311.discovery.contact", loc),
           "endpoints": [{"specification": SPECIFICATION, "url": url_for("open311.discovery", fmt="json",
                                                                         _external=True).rsplit("/", 1)[0],
                          "changeset": CHANGESET, "type": "production",
                          "formats": ["text/xml", "application/json"]}]}
    return render(_format(fmt), doc, "discovery")


def _categories() -> list[dict]:
    return rpc.client().call("intake", "list_categories")


def _service_names(categories: list[dict], loc: str) -> dict:
    return {c["key"]: (c["name"] if loc == "zh_CN" else c["name_en"]) for c in categories}


def _check_jurisdiction(value: str | None) -> str | None:
    """An estate code of the caller's tenant, None when not given; 404 in the spec's format otherwise."""
    if not value:
        return None
    codes = {e["code"] for e in rpc.client().call("intake", "list_estates")}
    if value not in codes:
        raise Open311Error(404, "open311.jurisdiction_not_found", value=value[:40])
    return value


@bp.get("/services.<fmt>")
@require_api_key("open311")
def services(fmt: str):
    fmt, loc = _format(fmt), locale()
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    items = []
    for c in _categories():
        name = c["name"] if loc == "zh_CN" else c["name_en"]
        items.append({"service_code": c["key"], "service_name": name,
                      "description": name + ("：" if loc == "zh_CN" else ": ") + "、".join(c["keywords"]),
                      "metadata": False, "type": "realtime", "keywords": ", ".join(c["keywords"]), "group": None})
    return render(fmt, items, "services", "service")


@bp.get("/services/<service_code>.<fmt>")
@require_api_key("open311")
def service_definition(service_code: str, fmt: str):
    fmt = _format(fmt)
    _check_jurisdiction(request.args.get("jurisdiction_id"))
    if service_code not in {c["key"] for c in _categories()}:
        raise Open311Error(404, "open311.service_not_found", value=service_code[:40])
    return render(fmt, {"service_code": service_code, "attributes": []}, "service_definition")


@bp.post("/requests.<fmt>")
@require_api_key("open311")
def create_request(fmt: str):
    fmt, loc = _format(fmt), locale()
    form = read_form(request.form)
    names = _service_names(_categories(), loc)
    if form["service_code"] not in names:
        raise Open311Error(404, "open311.service_not_found", value=form["service_code"])
    created = rpc.client().call("intake", "register_complaint",
                                complaint_from_form(form, names[form["service_code"]], g.api_key))
    body = [{"service_request_id": created["reference"],
             "service_notice": t("open311.notice.accepted", loc, reference=created["reference"]),
             "account_id": form.get("account_id")}]
    return render(fmt, body, "service_requests", "request")


def _list_args(value: str | None, what: str) -> list[str]:
    items = [v.strip() for v in (value or "").split(",") if v.strip()]
    if len(items) > MAX_RESULTS:
        raise Open311Error(400, "open311.too_many_ids", limit=MAX_RESULTS)
    if any(len(v) > 40 for v in items):
        raise Open311Error(400, "open311.invalid", field=what)
    return items


def _statuses(value: str | None) -> set[str] | None:
    wanted = set(_list_args(value, "status"))
    if wanted - {"open", "closed"}:
        raise Open311Error(400, "open311.invalid", field="status")
    return wanted or None


def _collect(query: dict, statuses: set[str] | None = None, codes: list[str] | None = None) -> list[dict]:
    """Request views of intake's open311 complaints matching ``query``, newest first, at most 1000."""
    loc = locale()
    names = _service_names(_categories(), loc)
    found, offset = [], 0
    for _ in range(MAX_PAGES):
        page = rpc.client().call("intake", "list_open311_requests", limit=PAGE, offset=offset, **query)
        items = [i for i in page["items"] if not codes or i["category"] in codes]
        ids = [i["id"] for i in items]
        summaries = {s["complaint_id"]: s for s in rpc.client().call("workflow", "case_summaries", ids)} if ids else {}
        for item in items:
            view = request_view(item, summaries.get(item["id"]), names, loc)
            if statuses is None or view["status"] in statuses:
                found.append(view)
                if len(found) == MAX_RESULTS:
                    return found
        if not page["more"]:
            break
        offset += PAGE
    return found


@bp.get("/requests.<fmt>")
@require_api_key("open311")
def list_requests(fmt: str):
    fmt, args = _format(fmt), request.args
    references = _list_args(args.get("service_request_id"), "service_request_id")
    if references:  # spec: overrides all other arguments
        return render(fmt, _collect({"references": references}), "service_requests", "request")
    estate = _check_jurisdiction(args.get("jurisdiction_id"))
    start, end = date_window(args.get("start_date"), args.get("end_date"), utcnow())
    codes = _list_args(args.get("service_code"), "service_code")
    query = {"estate": estate, "category": codes[0] if len(codes) == 1 else None,
             "received_from": start.isoformat(), "received_to": end.isoformat()}
    views = _collect(query, _statuses(args.get("status")), codes)
    return render(fmt, views, "service_requests", "request")


@bp.get("/requests/<service_request_id>.<fmt>")
@require_api_key("open311")
def get_request(service_request_id: str, fmt: str):
    fmt = _format(fmt)
    views = _collect({"references": [service_request_id[:32]]}) if len(service_request_id) <= 32 else []
    if not views:
        raise Open311Error(404, "open311.request_not_found", value=service_request_id[:32])
    return render(fmt, views, "service_requests", "request")


@bp.get("/tokens/<token>.<fmt>")
@require_api_key("open311")
def get_token(token: str, fmt: str):
    """Requests are created in real time (POST answers ``service_request_id``, never a token); a token here is
    the complaint's internal id, which resolves to its reference while the complaint is an open311 one."""
    fmt = _format(fmt)
    try:
        complaint = rpc.client().call("intake", "get_complaint", token[:36])
    except RemoteError as exc:
        data = parse_remote(exc.value)
        if data is None or int(data.get("status", 0)) != 404:
            raise
        complaint = None
    if complaint is None or complaint.get("channel") != "open311":
        raise Open311Error(404, "open311.token_not_found", value=token[:36])
    return render(fmt, [{"service_request_id": complaint["reference"], "token": complaint["id"]}],
                  "service_requests", "request")


# --- errors: the spec's format, whatever went wrong ----------------------------------------------------------

_REMOTE = {"estate_not_found": (404, "open311.jurisdiction_not_found", "jurisdiction_id"),
           "complaint_not_found": (404, "open311.request_not_found", None)}
_FIELDS = {"category": "service_code", "estate": "jurisdiction_id", "complainant.phone": "phone",
           "complainant.email": "email", "complainant.name": "first_name", "description": "description"}


def _describe(key: str, **params) -> str:
    return t(key, locale(), **params)


def _remote(exc: RemoteError):
    data = parse_remote(exc.value)
    if data is None or int(data.get("status", 500)) >= 500:
        return None
    code, field = str(data["error"]), (data.get("details") or {}).get("field")
    if code in _REMOTE:
        status, key, param = _REMOTE[code]
        value = request.form.get(param, "") if param else request.view_args.get("service_request_id", "")
        return status, _describe(key, value=str(value)[:40])
    if code == "validation_failed" and field == "category":
        return 404, _describe("open311.service_not_found", value=request.form.get("service_code", "")[:40])
    return 400, _describe("open311.invalid", field=_FIELDS.get(field, field or "request"))


@bp.errorhandler(Exception)
def open311_error(exc: Exception):
    fmt = _request_format()
    if isinstance(exc, Open311Error):
        return error(fmt, exc.status, _describe(exc.key, **exc.params))
    if isinstance(exc, ApiError) and exc.code == "invalid_api_key":
        return error(fmt, 403, _describe("open311.invalid_api_key"))
    if isinstance(exc, ApiError) and exc.status < 500:
        return error(fmt, exc.status, _describe("open311.invalid", field=exc.details.get("field", "request")))
    if isinstance(exc, RemoteError) and (mapped := _remote(exc)) is not None:
        return error(fmt, *mapped)
    if isinstance(exc, UNAVAILABLE):  # spec: "General Service Error (eg CRM is down)" is a 400
        log.warning("open311: service unavailable: %s: %s", type(exc).__name__, exc)
        return error(fmt, 400, _describe("open311.unavailable"), {"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, HTTPException) and exc.code and exc.code < 500:
        return error(fmt, exc.code, _describe("open311.method" if exc.code == 405 else "open311.invalid",
                                              field="request"))
    log.error("open311: unhandled error on %s %s", request.method, request.path, exc_info=exc)
    return error(fmt, 500, _describe("open311.internal", request_id=g.get("request_id")))
