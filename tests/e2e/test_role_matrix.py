"""Which roles of the same tenant each route lets in, on the running system: every route of
``role_matrix.MATRIX`` x every role, one request per cell, compared with the table (issue: "tests for every
endpoint and role/scope combination").

Each request would be acceptable if allowed: real ids and codes of the demo tenant (a complaint with a scan on
DEMO-RES, one on DEMO-OFFICE, the demo estates' buildings and units), a CSRF token for console POSTs, and write
bodies that are invalid on purpose so nothing changes. Destructive routes on ids (delete, revoke, remove, reset,
run) get an unknown id instead: there the handler's 404 means "let in" (``missing=True``). The answer is then

- let in: 2xx, a redirect elsewhere than the login page, 409/422/428/429 (and 400 on the API);
- refused: 401 or 403, a redirect to the login page, or 404 (outside the estate scope);
- anything else (405, 5xx, a page's 400 "form expired") is a broken probe and reported as such.

Estate-scoped rows are also probed by the site manager on DEMO-OFFICE, outside its estates: refused. All
mismatches are collected and the test fails once with the full list.
"""
from __future__ import annotations

import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, NamedTuple

import pytest
import requests

from estatedesk_common.demo import DEMO_ESTATES, demo_id

from .role_matrix import ANON, KEY, MATRIX, ROLES, SM, USERS, expected
from .test_security_isolation import CSRF, PERIOD, TIMEOUT

# SQLite e2e phase only (who may call which route does not depend on the database; make test's time budget); ROLE_MATRIX_ON_PG=1 runs it on PostgreSQL too.
pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(bool(os.environ.get("TEST_DATABASE_URL")) and not os.environ.get("ROLE_MATRIX_ON_PG"),
                                 reason="SQLite e2e phase (ROLE_MATRIX_ON_PG=1 runs it on PostgreSQL too)")]

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <</Type /Catalog>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
UNKNOWN = str(uuid.UUID(int=0x5eed))  # an id no row has
COMMITTEE_USER = demo_id("user", "committee@demo")
BAD_TEMPLATE = "{{ ''.__class__ }}"  # never compiles in notify's sandbox: nothing is saved


class Ctx(NamedTuple):
    """The demo ids a probe fills in, for one estate."""
    estate: str
    complaint: str
    attachment: str
    building: str
    unit: str


class Probe(NamedTuple):
    method: str
    path: str                    # str.format(**ctx._asdict(), x=UNKNOWN, user=COMMITTEE_USER)
    kw: Callable[[Ctx], dict] | None = None
    missing: bool = False        # an unknown id on purpose: the handler's 404 means "let in"
    reached: frozenset = frozenset()  # further statuses only the handler answers (public routes)


def P(method, path, kw=None, missing=False, reached=()):
    return Probe(method, path, kw, missing, frozenset(reached))


def _wechat(ctx, body=None):
    from intake.wechat_seed import DEMO_WECHAT
    from intake.wechat_sim import signed_query

    return {"params": signed_query(DEMO_WECHAT["token"], echostr="matrix"), **({"data": body} if body else {})}


def _sheet(header="项目编号,联系电话,投诉内容", row="DEMO-RES,not-a-phone,"):
    return (header + "\r\n" + row + "\r\n").encode("utf-8")


SCOPE = lambda c: f"estate:{c.estate}"  # noqa: E731
PROBES: dict[tuple[str, str], Probe] = {
    # public
    ("/login", "GET"): P("GET", "/login"),
    ("/login", "POST"): P("POST", "/login", lambda c: {"data": {"username": "nobody-matrix", "password": "x"}},
                          reached={401}),
    ("/logout", "POST"): P("POST", "/logout", reached={302}),  # to the login page, whoever asks
    ("/forgot-password", "GET"): P("GET", "/forgot-password"),
    ("/forgot-password", "POST"): P("POST", "/forgot-password", lambda c: {"data": {"username": "nobody-matrix"}}),
    ("/reset-password/<token>", "GET"): P("GET", "/reset-password/{x}", missing=True),
    ("/reset-password/<token>", "POST"): P("POST", "/reset-password/{x}", lambda c: {"data": {"new_password": "x"}},
                                           missing=True),
    ("/t/<slug>/status", "GET"): P("GET", "/t/demo/status"),
    ("/t/<slug>/status", "POST"): P("POST", "/t/demo/status", lambda c: {"data": {"reference": "X", "phone": "1"}},
                                    missing=True),
    ("/t/<slug>/status/photos/<complaint_id>/<attachment_id>", "GET"): P(
        "GET", "/t/demo/status/photos/{complaint}/{attachment}", missing=True),
    ("/t/<slug>/survey/<token>", "GET"): P("GET", "/t/demo/survey/{x}", missing=True),
    ("/t/<slug>/survey/<token>", "POST"): P("POST", "/t/demo/survey/{x}", lambda c: {"data": {"satisfaction": "x"}},
                                            missing=True),
    ("/t/<slug>/complain", "GET"): P("GET", "/t/demo/complain"),
    ("/t/<slug>/e/<estate_code>/complain", "GET"): P("GET", "/t/demo/e/{estate}/complain"),
    ("/t/<slug>/e/<estate_code>/complain", "POST"): P("POST", "/t/demo/e/{estate}/complain",
                                                      lambda c: {"data": {"name": "", "phone": "", "description": ""}}),
    ("/channels/wechat/<slug>", "GET"): P("GET", "/channels/wechat/demo", _wechat),
    ("/channels/wechat/<slug>", "POST"): P("POST", "/channels/wechat/demo", lambda c: _wechat(c, b"<xml><bad"),
                                           reached={400}),  # signed, not XML: intake's 400, nothing stored
    ("/static/<path:filename>", "GET"): P("GET", "/static/console.css"),
    ("/metrics", "GET"): P("GET", "/metrics"),
    ("/api/docs", "GET"): P("GET", "/api/docs"),
    ("/api/docs/assets/<path:filename>", "GET"): P("GET", "/api/docs/assets/swagger-ui.css"),
    ("/api/v1/", "GET"): P("GET", "/api/v1/"),
    ("/api/v1/openapi.json", "GET"): P("GET", "/api/v1/openapi.json"),
    ("/api/v1/health", "GET"): P("GET", "/api/v1/health", reached={503}),
    ("/api/v1/auth/token", "POST"): P("POST", "/api/v1/auth/token",
                                      lambda c: {"json": {"username": "nobody-matrix", "password": "x"}},
                                      reached={401}),
    ("/api/v1/auth/password-reset", "POST"): P("POST", "/api/v1/auth/password-reset",
                                               lambda c: {"json": {"token": UNKNOWN, "new_password": "x"}},
                                               missing=True),
    ("/open311/v2/discovery.<fmt>", "GET"): P("GET", "/open311/v2/discovery.json"),
    ("/api/v1/cti/calls", "POST"): P("POST", "/api/v1/cti/calls", lambda c: {"json": {"event": "bogus"}}),
    ("/open311/v2/services.<fmt>", "GET"): P("GET", "/open311/v2/services.json"),
    ("/open311/v2/services/<service_code>.<fmt>", "GET"): P("GET", "/open311/v2/services/sanitation.json"),
    ("/open311/v2/requests.<fmt>", "GET"): P("GET", "/open311/v2/requests.json"),
    ("/open311/v2/requests.<fmt>", "POST"): P("POST", "/open311/v2/requests.json",
                                              lambda c: {"data": {"jurisdiction_id": c.estate}},
                                              reached={400}),  # the spec's 400 for a missing service_code
    ("/open311/v2/requests/<service_request_id>.<fmt>", "GET"): P("GET", "/open311/v2/requests/{x}.json",
                                                                  missing=True),
    ("/open311/v2/tokens/<token>.<fmt>", "GET"): P("GET", "/open311/v2/tokens/{x}.json", missing=True),
    # console: everyone logged in
    ("/", "GET"): P("GET", "/"),
    ("/account", "GET"): P("GET", "/account"),
    ("/account/password", "POST"): P("POST", "/account/password", lambda c: {"data": {
        "current_password": "wrong-matrix", "new_password": "x", "confirm_password": "y"}}),
    ("/account/totp", "POST"): P("POST", "/account/totp"),
    ("/account/totp/confirm", "POST"): P("POST", "/account/totp/confirm", lambda c: {"data": {"code": "000000"}}),
    ("/account/totp/disable", "POST"): P("POST", "/account/totp/disable", lambda c: {"data": {
        "password": "wrong-matrix", "disable_code": "000000"}}),
    # console: complaints and cases
    ("/complaints/new", "GET"): P("GET", "/complaints/new"),
    ("/complaints/new", "POST"): P("POST", "/complaints/new", lambda c: {"data": {
        "estate": c.estate, "channel": "hotline", "description": "", "phone": ""}}),
    ("/complaints/lookup", "GET"): P("GET", "/complaints/lookup", lambda c: {"params": {"phone": "13800000000"}}),
    ("/calls/panel", "GET"): P("GET", "/calls/panel"),
    ("/complaints", "GET"): P("GET", "/complaints"),
    ("/complaints/<complaint_id>", "GET"): P("GET", "/complaints/{complaint}"),
    ("/complaints/<complaint_id>/attachments/<attachment_id>", "GET"): P(
        "GET", "/complaints/{complaint}/attachments/{attachment}"),
    ("/complaints/<complaint_id>/actions/<action>", "POST"): P(
        "POST", "/complaints/{complaint}/actions/contact", lambda c: {"data": {"note": "", "version": "999999"}}),
    ("/complaints/<complaint_id>/extensions/request", "POST"): P(
        "POST", "/complaints/{complaint}/extensions/request",
        lambda c: {"data": {"stage": "", "new_due_at": "", "reason": "", "version": "999999"}}),
    ("/complaints/<complaint_id>/extensions/decide", "POST"): P(
        "POST", "/complaints/{complaint}/extensions/decide",
        lambda c: {"data": {"decision": "reject", "note": "", "stage": "", "version": "999999"}}),
    ("/queue", "GET"): P("GET", "/queue"),
    ("/escalations", "GET"): P("GET", "/escalations"),
    ("/extensions", "GET"): P("GET", "/extensions"),
    ("/callbacks", "GET"): P("GET", "/callbacks"),
    ("/callbacks/<callback_id>/claim", "POST"): P("POST", "/callbacks/{x}/claim", missing=True),
    ("/callbacks/<callback_id>/attempts", "POST"): P("POST", "/callbacks/{x}/attempts",
                                                     lambda c: {"data": {"outcome": ""}}, missing=True),
    ("/quality", "GET"): P("GET", "/quality"),
    ("/workload", "GET"): P("GET", "/workload"),
    ("/quality/capa/<capa_id>/check", "POST"): P("POST", "/quality/capa/{x}/check",
                                                 lambda c: {"data": {"effective": "yes", "note": ""}}, missing=True),
    ("/dashboard", "GET"): P("GET", "/dashboard", lambda c: {"params": PERIOD}),
    ("/dashboard/drilldown", "GET"): P("GET", "/dashboard/drilldown",
                                       lambda c: {"params": PERIOD | {"metric": "received"}}),
    ("/dashboard/export.<fmt>", "GET"): P("GET", "/dashboard/export.csv",
                                          lambda c: {"params": PERIOD | {"report": "league_table"}}),
    # console: settings (the estate's scope; bodies that never validate)
    ("/settings/sla", "GET"): P("GET", "/settings/sla", lambda c: {"params": {"scope": SCOPE(c)}}),
    ("/settings/sla", "POST"): P("POST", "/settings/sla", lambda c: {"data": {
        "scope": SCOPE(c), "document": "severities: [\n"}}),
    ("/settings/sla/preview", "POST"): P("POST", "/settings/sla/preview", lambda c: {"json": {
        "scope": SCOPE(c), "document": "severities: [\n", "severity": "moderate", "received_at": "2026-11-24T10:00",
        "estate": c.estate}}),
    ("/settings/sla/site", "GET"): P("GET", "/settings/sla/site", lambda c: {"params": {"scope": SCOPE(c)}}),
    ("/settings/sla/site", "POST"): P("POST", "/settings/sla/site", lambda c: {"data": {
        "scope": SCOPE(c), "effective_from": "not a date"}}),
    ("/settings/sla/site/preview", "POST"): P("POST", "/settings/sla/site/preview", lambda c: {"data": {
        "scope": SCOPE(c), "p_estate": c.estate, "p_received_at": "not a time", "p_severity": "moderate"}}),
    ("/settings/routing", "GET"): P("GET", "/settings/routing", lambda c: {"params": {"scope": SCOPE(c)}}),
    ("/settings/routing", "POST"): P("POST", "/settings/routing", lambda c: {"data": {
        "scope": SCOPE(c), "category": "", "department": "探针部", "team": "probe-nobody", "strategy": "round_robin"}}),
    ("/settings/duty", "GET"): P("GET", "/settings/duty", lambda c: {"params": {"estate": c.estate}}),
    ("/settings/duty", "POST"): P("POST", "/settings/duty", lambda c: {"data": {
        "estate": c.estate, "person": "probe-nobody", "post": "探针", "date_from": "", "date_to": "", "note": ""}}),
    ("/settings/alerts", "GET"): P("GET", "/settings/alerts"),
    ("/settings/alerts", "POST"): P("POST", "/settings/alerts", lambda c: {"data": {
        "role": "site_manager", "estate": c.estate, "name": "探针", "email": "not-an-address", "phone": "",
        "locale": "zh_CN"}}),
    ("/settings/alerts/digest", "POST"): P("POST", "/settings/alerts/digest", lambda c: {"data": {
        "enabled": "1", "hour": "99", "timezone": "Asia/Shanghai", "opt_outs": ""}}),
    ("/settings/templates", "GET"): P("GET", "/settings/templates", lambda c: {"params": {
        "message": "acknowledgement", "scope": SCOPE(c)}}),
    **{("/settings/templates" + suffix, "POST"): P("POST", "/settings/templates" + suffix, lambda c: {"data": {
        "message": "acknowledgement", "locale": "xx", "scope": SCOPE(c), "subject": BAD_TEMPLATE}})
       for suffix in ("", "/preview", "/reset")},
    # console: administration
    ("/admin/estates", "GET"): P("GET", "/admin/estates"),
    ("/admin/estates", "POST"): P("POST", "/admin/estates", lambda c: {"data": {
        "code": "PROBE-MATRIX", "name": "探针", "kind": "castle", "timezone": "Asia/Shanghai"}}),
    ("/admin/estates/<code>", "GET"): P("GET", "/admin/estates/{estate}"),
    ("/admin/estates/<code>", "POST"): P("POST", "/admin/estates/{estate}", lambda c: {"data": {
        "name": "探针", "kind": "residential", "timezone": "Asia/Shanghai", "active": "1", "units": "many"}}),
    ("/admin/regions", "GET"): P("GET", "/admin/regions"),
    ("/admin/regions", "POST"): P("POST", "/admin/regions", lambda c: {"data": {"code": "-", "name": ""}}),
    ("/admin/regions/<region_code>", "POST"): P("POST", "/admin/regions/{x}", lambda c: {"data": {"name": ""}},
                                                missing=True),
    ("/admin/units", "GET"): P("GET", "/admin/units"),
    ("/admin/units/template.<fmt>", "GET"): P("GET", "/admin/units/template.csv"),
    ("/admin/estates/<code>/units", "GET"): P("GET", "/admin/estates/{estate}/units"),
    ("/admin/estates/<code>/units", "POST"): P("POST", "/admin/estates/{estate}/units", lambda c: {"data": {
        "unit_building": c.building, "unit_code": ""}}),
    ("/admin/estates/<code>/buildings", "POST"): P("POST", "/admin/estates/{estate}/buildings",
                                                   lambda c: {"data": {"building_code": ""}}),
    ("/admin/estates/<code>/buildings/<building>", "POST"): P("POST", "/admin/estates/{estate}/buildings/{building}",
                                                              lambda c: {"data": {"name": ""}}),
    ("/admin/estates/<code>/buildings/<building>/remove", "POST"): P(
        "POST", "/admin/estates/{estate}/buildings/{x}/remove", missing=True),
    ("/admin/estates/<code>/buildings/<building>/units/<unit>", "POST"): P(
        "POST", "/admin/estates/{estate}/buildings/{building}/units/{unit}",
        lambda c: {"data": {"code": c.unit, "floor": "not a floor"}}),
    ("/admin/estates/<code>/buildings/<building>/units/<unit>/remove", "POST"): P(
        "POST", "/admin/estates/{estate}/buildings/{building}/units/{x}/remove", missing=True),
    ("/admin/estates/<code>/units/import", "POST"): P("POST", "/admin/estates/{estate}/units/import",
                                                      lambda c: {"files": {"file": ("u.csv", b"\x00\x01")}}),
    ("/admin/users", "GET"): P("GET", "/admin/users"),
    ("/admin/users", "POST"): P("POST", "/admin/users", lambda c: {"data": {
        "username": "has space", "display_name": "", "role": ["agent"], "estate": [c.estate]}}),
    ("/admin/users/<user_id>", "GET"): P("GET", "/admin/users/{user}"),
    ("/admin/users/<user_id>", "POST"): P("POST", "/admin/users/{x}", lambda c: {"data": {"role": ["agent"]}},
                                          missing=True),
    ("/admin/users/<user_id>/password-reset", "POST"): P("POST", "/admin/users/{x}/password-reset", missing=True),
    ("/admin/users/<user_id>/totp-reset", "POST"): P("POST", "/admin/users/{x}/totp-reset", missing=True),
    ("/admin/audit", "GET"): P("GET", "/admin/audit"),
    ("/admin/audit/export.<fmt>", "GET"): P("GET", "/admin/audit/export.csv"),
    ("/admin/integrations", "GET"): P("GET", "/admin/integrations"),
    ("/admin/integrations/api-keys", "POST"): P("POST", "/admin/integrations/api-keys",
                                                lambda c: {"data": {"name": "", "scopes": ["admin"]}}),
    ("/admin/integrations/api-keys/<key_id>/revoke", "POST"): P("POST", "/admin/integrations/api-keys/{x}/revoke",
                                                                missing=True),
    ("/admin/integrations/webhooks", "POST"): P("POST", "/admin/integrations/webhooks", lambda c: {"data": {
        "url": "ftp://127.0.0.1/x", "events": ["case_opened"], "description": ""}}),
    ("/admin/integrations/webhooks/<webhook_id>", "GET"): P("GET", "/admin/integrations/webhooks/{x}", missing=True),
    ("/admin/integrations/webhooks/<webhook_id>/delete", "POST"): P(
        "POST", "/admin/integrations/webhooks/{x}/delete", missing=True),
    ("/admin/integrations/deliveries/<delivery_id>/redeliver", "POST"): P(
        "POST", "/admin/integrations/deliveries/{x}/redeliver", lambda c: {"data": {"webhook": UNKNOWN}},
        missing=True),
    **{(path, "POST"): P("POST", path, lambda c: {"data": {"mode": "custom", "host": "", "from_address": "",
                                                           "test_to": "x"}})
       for path in ("/admin/integrations/mail", "/admin/integrations/mail/test")},
    ("/admin/integrations/wechat/<account_id>", "POST"): P(
        "POST", "/admin/integrations/wechat/" + demo_id("wechat", "wx0123456789abcdef"),
        lambda c: {"data": {"app_secret": "short"}}),
    ("/reports/subscriptions", "GET"): P("GET", "/reports/subscriptions"),
    ("/reports/subscriptions", "POST"): P("POST", "/reports/subscriptions", lambda c: {"data": {
        "kind": "weekly", "estate": c.estate, "recipients": "not-an-address", "locale": "zh_CN"}}),
    ("/reports/subscriptions/<subscription_id>/delete", "POST"): P("POST", "/reports/subscriptions/{x}/delete",
                                                                   missing=True),
    ("/reports/subscriptions/<subscription_id>/run", "POST"): P("POST", "/reports/subscriptions/{x}/run",
                                                                missing=True),
    ("/reports/runs/<run_id>", "GET"): P("GET", "/reports/runs/{x}", missing=True),
    ("/reports/runs/<run_id>/export.<fmt>", "GET"): P("GET", "/reports/runs/{x}/export.csv", missing=True),
    # console: residents' committee
    ("/committee", "GET"): P("GET", "/committee"),
    ("/committee/new", "GET"): P("GET", "/committee/new"),
    ("/committee/new", "POST"): P("POST", "/committee/new", lambda c: {"data": {
        "estate": c.estate, "description": "", "phone": ""}}),
    ("/committee/batch", "GET"): P("GET", "/committee/batch"),
    ("/committee/batch", "POST"): P("POST", "/committee/batch", lambda c: {"files": {"file": ("m.csv", _sheet())}}),
    ("/committee/batch/errors.csv", "POST"): P("POST", "/committee/batch/errors.csv",
                                               lambda c: {"data": {"errors": "[]"}}),
    ("/committee/template.<fmt>", "GET"): P("GET", "/committee/template.csv"),
    # API
    ("/api/v1/me", "GET"): P("GET", "/api/v1/me"),
    ("/api/v1/me/password", "POST"): P("POST", "/api/v1/me/password", lambda c: {"json": {
        "current_password": "wrong-matrix", "new_password": "matrix-long-enough"}}),
    ("/api/v1/me/totp", "POST"): P("POST", "/api/v1/me/totp"),
    ("/api/v1/me/totp/confirm", "POST"): P("POST", "/api/v1/me/totp/confirm", lambda c: {"json": {"code": "000000"}}),
    ("/api/v1/me/totp/disable", "POST"): P("POST", "/api/v1/me/totp/disable", lambda c: {"json": {
        "password": "wrong-matrix", "code": "000000"}}),
    ("/api/v1/complaints", "POST"): P("POST", "/api/v1/complaints", lambda c: {"json": {
        "estate": c.estate, "channel": "web", "description": "", "complainant": {"phone": ""}}}),
    ("/api/v1/complaints", "GET"): P("GET", "/api/v1/complaints"),
    ("/api/v1/complaints/<complaint_id>", "GET"): P("GET", "/api/v1/complaints/{complaint}"),
    ("/api/v1/complaints/<complaint_id>/actions", "POST"): P(
        "POST", "/api/v1/complaints/{complaint}/actions",
        lambda c: {"json": {"action": "contact", "note": "探针"}, "headers": {"If-Match": '"999999"'}}),
    ("/api/v1/complaints/<complaint_id>/classification", "POST"): P(
        "POST", "/api/v1/complaints/{complaint}/classification",  # valid: re-files this test's own complaint
        lambda c: {"json": {"category": "facilities_equipment"}}),
    ("/api/v1/classification/suggest", "POST"): P("POST", "/api/v1/classification/suggest",
                                                  lambda c: {"json": {"text": "电梯坏了"}}),
    ("/api/v1/callbacks", "GET"): P("GET", "/api/v1/callbacks"),
    ("/api/v1/callbacks/<callback_id>/claim", "POST"): P("POST", "/api/v1/callbacks/{x}/claim", missing=True),
    ("/api/v1/callbacks/<callback_id>/attempts", "POST"): P("POST", "/api/v1/callbacks/{x}/attempts",
                                                            lambda c: {"json": {"outcome": "bogus"}}),
    ("/api/v1/estates", "GET"): P("GET", "/api/v1/estates"),
    ("/api/v1/estates", "POST"): P("POST", "/api/v1/estates", lambda c: {"json": {
        "code": "PROBE-MATRIX", "name": "探针", "kind": "castle"}}),
    ("/api/v1/estates/<code>", "PUT"): P("PUT", "/api/v1/estates/{estate}", lambda c: {"json": {"units": 0}}),
    ("/api/v1/regions", "GET"): P("GET", "/api/v1/regions"),
    ("/api/v1/regions", "POST"): P("POST", "/api/v1/regions", lambda c: {"json": {"code": "-", "name": ""}}),
    ("/api/v1/regions/<region_code>", "PUT"): P("PUT", "/api/v1/regions/EAST", lambda c: {"json": {"name": ""}}),
    ("/api/v1/estates/<code>/buildings", "GET"): P("GET", "/api/v1/estates/{estate}/buildings"),
    ("/api/v1/estates/<code>/buildings", "POST"): P("POST", "/api/v1/estates/{estate}/buildings",
                                                    lambda c: {"json": {"code": ""}}),
    ("/api/v1/estates/<code>/buildings/<building>", "PUT"): P("PUT", "/api/v1/estates/{estate}/buildings/{building}",
                                                              lambda c: {"json": {"name": ""}}),
    ("/api/v1/estates/<code>/buildings/<building>", "DELETE"): P("DELETE", "/api/v1/estates/{estate}/buildings/{x}",
                                                                 missing=True),
    ("/api/v1/estates/<code>/buildings/<building>/units", "POST"): P(
        "POST", "/api/v1/estates/{estate}/buildings/{building}/units", lambda c: {"json": {"code": ""}}),
    ("/api/v1/estates/<code>/buildings/<building>/units/<unit>", "PUT"): P(
        "PUT", "/api/v1/estates/{estate}/buildings/{building}/units/{unit}", lambda c: {"json": {"floor": 999}}),
    ("/api/v1/estates/<code>/buildings/<building>/units/<unit>", "DELETE"): P(
        "DELETE", "/api/v1/estates/{estate}/buildings/{building}/units/{x}", missing=True),
    ("/api/v1/estates/<code>/units/import", "POST"): P("POST", "/api/v1/estates/{estate}/units/import",
                                                       lambda c: {"files": {"file": ("u.csv", b"\x00\x01")}}),
    ("/api/v1/committee/complaints", "GET"): P("GET", "/api/v1/committee/complaints"),
    ("/api/v1/committee/complaints", "POST"): P("POST", "/api/v1/committee/complaints", lambda c: {"json": {
        "estate": c.estate, "description": "", "complainant": {"phone": ""}}}),
    ("/api/v1/committee/batch", "POST"): P("POST", "/api/v1/committee/batch",
                                           lambda c: {"files": {"file": ("m.csv", _sheet())}}),
    **{(f"/api/v1/reports/{name}", "GET"): P("GET", f"/api/v1/reports/{name}", lambda c: {"params": PERIOD})
       for name in ("complaint-counts", "kpis", "league-table", "hot-spots")},
    ("/api/v1/reports/drilldown", "GET"): P("GET", "/api/v1/reports/drilldown",
                                            lambda c: {"params": PERIOD | {"metric": "received"}}),
    ("/api/v1/reports/export.<fmt>", "GET"): P("GET", "/api/v1/reports/export.csv", lambda c: {"params": PERIOD}),
    ("/api/v1/report-subscriptions", "GET"): P("GET", "/api/v1/report-subscriptions"),
    ("/api/v1/report-subscriptions", "POST"): P("POST", "/api/v1/report-subscriptions", lambda c: {"json": {
        "kind": "yearly", "recipients": ["x@example.com"]}}),
    ("/api/v1/report-subscriptions/<subscription_id>", "DELETE"): P("DELETE", "/api/v1/report-subscriptions/{x}",
                                                                    missing=True),
    ("/api/v1/report-subscriptions/<subscription_id>/run", "POST"): P("POST", "/api/v1/report-subscriptions/{x}/run",
                                                                      missing=True),
    ("/api/v1/report-runs", "GET"): P("GET", "/api/v1/report-runs"),
    ("/api/v1/report-runs/<run_id>", "GET"): P("GET", "/api/v1/report-runs/{x}", missing=True),
    ("/api/v1/report-runs/<run_id>/export.<fmt>", "GET"): P("GET", "/api/v1/report-runs/{x}/export.csv",
                                                            missing=True),
    ("/api/v1/sla/policy", "GET"): P("GET", "/api/v1/sla/policy", lambda c: {"params": {"estate": c.estate}}),
    ("/api/v1/sla/policy", "PUT"): P("PUT", "/api/v1/sla/policy", lambda c: {"json": {
        "scope": SCOPE(c), "document": "severities: [\n"}}),
    ("/api/v1/sla/preview", "POST"): P("POST", "/api/v1/sla/preview", lambda c: {"json": {  # read-only: valid
        "estate": c.estate, "received_at": "2026-11-24T09:00:00+08:00", "severity": "normal"}}),
    ("/api/v1/sla/policy/versions", "GET"): P("GET", "/api/v1/sla/policy/versions"),
    ("/api/v1/sla/presets", "GET"): P("GET", "/api/v1/sla/presets"),
    ("/api/v1/routing-rules", "GET"): P("GET", "/api/v1/routing-rules", lambda c: {"params": {"estate": c.estate}}),
    ("/api/v1/routing-rules", "PUT"): P("PUT", "/api/v1/routing-rules", lambda c: {"json": {
        "scope": SCOPE(c), "rules": [{"department": "探针部", "team": ["probe-nobody"]}]}}),
    ("/api/v1/duty-roster", "GET"): P("GET", "/api/v1/duty-roster", lambda c: {"params": {"estate": c.estate}}),
    ("/api/v1/duty-roster", "PUT"): P("PUT", "/api/v1/duty-roster", lambda c: {"json": {
        "estate": c.estate, "entries": [{"person": "probe-nobody", "post": "探针"}]}}),
    ("/api/v1/nonconformities", "GET"): P("GET", "/api/v1/nonconformities"),
    ("/api/v1/capa", "GET"): P("GET", "/api/v1/capa"),
    ("/api/v1/staff-contacts", "GET"): P("GET", "/api/v1/staff-contacts"),
    ("/api/v1/staff-contacts", "PUT"): P("PUT", "/api/v1/staff-contacts", lambda c: {"json": {
        "contacts": [{"role": "site_manager", "estate": c.estate, "email": "not-an-address"}]}}),
    ("/api/v1/digest-settings", "GET"): P("GET", "/api/v1/digest-settings"),
    ("/api/v1/digest-settings", "PUT"): P("PUT", "/api/v1/digest-settings", lambda c: {"json": {"hour": 99}}),
    ("/api/v1/notify-templates", "GET"): P("GET", "/api/v1/notify-templates"),
    ("/api/v1/notify-templates/<message>/<locale>", "GET"): P(
        "GET", "/api/v1/notify-templates/acknowledgement/zh_CN", lambda c: {"params": {"estate": c.estate}}),
    ("/api/v1/notify-templates/<message>/<locale>", "PUT"): P(
        "PUT", "/api/v1/notify-templates/acknowledgement/zh_CN",
        lambda c: {"json": {"estate": c.estate, "parts": {"subject": BAD_TEMPLATE}}}),
    ("/api/v1/notify-templates/<message>/<locale>", "DELETE"): P(
        "DELETE", "/api/v1/notify-templates/acknowledgement/xx", lambda c: {"params": {"estate": c.estate}},
        missing=True),
    ("/api/v1/notify-templates/<message>/<locale>/preview", "POST"): P(
        "POST", "/api/v1/notify-templates/acknowledgement/zh_CN/preview",
        lambda c: {"json": {"estate": c.estate, "parts": {"subject": BAD_TEMPLATE}}}),
    ("/api/v1/api-keys", "GET"): P("GET", "/api/v1/api-keys"),
    ("/api/v1/api-keys", "POST"): P("POST", "/api/v1/api-keys", lambda c: {"json": {"name": "", "scopes": ["admin"]}}),
    ("/api/v1/api-keys/<key_id>", "DELETE"): P("DELETE", "/api/v1/api-keys/{x}", missing=True),
    ("/api/v1/webhooks", "GET"): P("GET", "/api/v1/webhooks"),
    ("/api/v1/webhooks", "POST"): P("POST", "/api/v1/webhooks", lambda c: {"json": {
        "url": "ftp://example.com/x", "events": ["case_opened"]}}),
    ("/api/v1/webhooks/<webhook_id>", "DELETE"): P("DELETE", "/api/v1/webhooks/{x}", missing=True),
    ("/api/v1/webhooks/<webhook_id>/deliveries", "GET"): P("GET", "/api/v1/webhooks/{x}/deliveries", missing=True),
    ("/api/v1/webhooks/deliveries/<delivery_id>/redeliver", "POST"): P(
        "POST", "/api/v1/webhooks/deliveries/{x}/redeliver", missing=True),
    ("/api/v1/mail-settings", "GET"): P("GET", "/api/v1/mail-settings"),
    ("/api/v1/mail-settings", "PUT"): P("PUT", "/api/v1/mail-settings", lambda c: {"json": {
        "mode": "custom", "host": "mail.example.com", "port": 0, "from_address": "x@example.com"}}),
    ("/api/v1/mail-settings/test", "POST"): P("POST", "/api/v1/mail-settings/test", lambda c: {"json": {"to": "x"}}),
    ("/api/v1/audit", "GET"): P("GET", "/api/v1/audit", lambda c: {"params": {"limit": 1}}),
    ("/api/v1/audit/export.<fmt>", "GET"): P("GET", "/api/v1/audit/export.csv",
                                             lambda c: {"params": {"action": "login_failed"}}),
    ("/api/v1/users", "GET"): P("GET", "/api/v1/users"),
    ("/api/v1/users", "POST"): P("POST", "/api/v1/users", lambda c: {"json": {
        "username": "has space", "roles": [["janitor", c.estate]]}}),
    ("/api/v1/users/<user_id>", "PATCH"): P("PATCH", "/api/v1/users/{user}", lambda c: {"json": {"roles": "none"}}),
    ("/api/v1/users/<user_id>/password-reset", "POST"): P("POST", "/api/v1/users/{x}/password-reset", missing=True),
    ("/api/v1/users/<user_id>/totp", "DELETE"): P("DELETE", "/api/v1/users/{x}/totp", missing=True),
}

LAST = {("/logout", "POST")}  # ends the role's session: probed after everything else


class Clients:
    """One client per role: a logged-in session (cookie for pages, bearer token for the API), made once."""

    def __init__(self, system):
        self.system, self._sessions, self._tokens, self._csrf = system, {}, {}, {}

    def session(self, role: str) -> requests.Session:
        if role not in self._sessions:
            s = requests.Session()
            if role in USERS:
                login = self.system.base_url + "/login"
                token = CSRF.search(s.get(login, timeout=TIMEOUT).text).group(1)
                r = s.post(login, data={"username": USERS[role], "password": "demo-password", "csrf_token": token},
                           allow_redirects=False, timeout=TIMEOUT)
                assert r.status_code == 302, r.text[:300]
                self._tokens[role] = self.system.token(USERS[role])
            self._sessions[role] = s
        return self._sessions[role]

    def csrf(self, role: str) -> str:
        if role not in self._csrf:
            page = self.session(role).get(self.system.base_url + "/t/demo/status", timeout=TIMEOUT).text
            self._csrf[role] = CSRF.search(page).group(1)
        return self._csrf[role]

    def request(self, role: str, probe: Probe, ctx: Ctx) -> requests.Response:
        path = probe.path.format(**ctx._asdict(), x=UNKNOWN, user=COMMITTEE_USER)
        kw = dict(probe.kw(ctx)) if probe.kw else {}
        headers = dict(kw.pop("headers", {}))
        if role == KEY:
            headers["X-Api-Key"] = "demo-api-key"
        session = self.session(role)
        if path.startswith("/api/"):  # the API never accepts the cookie: a bare request with the token
            if role in USERS:
                headers["Authorization"] = f"Bearer {self._tokens[role]}"
            return requests.request(probe.method, self.system.base_url + path, headers=headers,
                                    allow_redirects=False, timeout=TIMEOUT, **kw)
        if probe.method != "GET" and not path.startswith(("/open311/", "/channels/")):  # no session, no CSRF
            if "json" in kw:
                headers["X-CSRFToken"] = self.csrf(role)
            else:
                kw["data"] = dict(kw.get("data") or {}, csrf_token=self.csrf(role))
        return session.request(probe.method, self.system.base_url + path, headers=headers, allow_redirects=False,
                               timeout=TIMEOUT, **kw)


def verdict(probe: Probe, path: str, r: requests.Response) -> str:
    """``allowed``, ``denied`` or ``broken: ...`` for one answer."""
    status, api = r.status_code, path.startswith("/api/")
    if status in probe.reached or (status == 404 and probe.missing):
        return "allowed"
    if status in (401, 403, 404):
        return "denied"
    if 300 <= status < 400:
        return "denied" if "/login" in r.headers.get("Location", "").split("?")[0] else "allowed"
    if 200 <= status < 300 or status in (409, 422, 428, 429) or (status == 400 and api):
        return "allowed"
    return f"broken: {status} {r.text[:160]!r}"


def _demo_complaint(system, agent: requests.Session, estate: str) -> Ctx:
    """A complaint on ``estate`` with one scan, recorded by the agent on the console (the API takes no files)."""
    token = CSRF.search(agent.get(f"{system.base_url}/complaints/new", timeout=TIMEOUT).text).group(1)
    r = agent.post(f"{system.base_url}/complaints/new", data={
        "csrf_token": token, "estate": estate, "channel": "letter", "name": "矩阵测试", "phone": "13622224444",
        "unit": "1-101", "description": f"角色矩阵：车库漏水 {uuid.uuid4().hex[:8]}"},
        files=[("scans", ("scan.pdf", PDF, "application/pdf"))], allow_redirects=False, timeout=30)
    assert r.status_code == 302, r.text[-800:]
    complaint = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    view = requests.get(f"{system.api}/complaints/{complaint}", headers=system.headers("admin@demo"),
                        timeout=TIMEOUT).json()
    building, units = next(iter(next(e for e in DEMO_ESTATES if e["code"] == estate)["buildings"].items()))
    return Ctx(estate, complaint, view["attachments"][0]["id"], building, units[0])


@pytest.fixture(scope="module")
def demo(system):
    clients = Clients(system)
    agent = clients.session("agent")
    return clients, _demo_complaint(system, agent, "DEMO-RES"), _demo_complaint(system, agent, "DEMO-OFFICE")


def test_every_route_has_a_matrix_probe():
    assert set(PROBES) == set(MATRIX)


def _cells(role: str, own: Ctx, outside: Ctx) -> list:
    """[(route, ctx, expected allowed)] of one role, logout last."""
    out = []
    for route in sorted(MATRIX, key=lambda route: (route in LAST, route)):
        out.append((route, own, expected(route, role)))
        if role == SM and MATRIX[route].estate and not PROBES[route].missing:
            out.append((route, outside, False))  # the site manager outside its estates
    return out


def _run(clients: Clients, role: str, own: Ctx, outside: Ctx) -> list[str]:
    mismatches = []
    for route, ctx, allowed in _cells(role, own, outside):
        probe = PROBES[route]
        r = clients.request(role, probe, ctx)
        got, want = verdict(probe, r.request.path_url, r), "allowed" if allowed else "denied"
        if got != want:
            where = "" if ctx is own else f" on {ctx.estate}"
            mismatches.append(f"{route[1]} {route[0]} {role}{where}: expected {want}, got {got}"
                              + ("" if got.startswith("broken") else f" ({r.status_code})"))
    return mismatches


def test_role_matrix(system, demo):
    clients, own, outside = demo
    for role in ROLES:
        clients.session(role)  # log in first, one thread
    # one thread per role (each uses only its own session): the gateway waits on the services most of the time
    with ThreadPoolExecutor(max_workers=len(ROLES)) as pool:
        found = list(pool.map(lambda role: _run(clients, role, own, outside), ROLES))
    mismatches = sorted(m for ms in found for m in ms)
    assert not mismatches, f"{len(mismatches)} role matrix mismatches:\n" + "\n".join(mismatches)
