"""The gateway's routes as the security suite knows them: every (rule, method) must be listed here.

``ROUTES`` maps each route to how it is reached (``api`` with a bearer token, ``page`` with a console session,
``public`` without either, ``api_key`` with a tenant's integration key instead of a user).
``tests/e2e/test_security_isolation.py`` probes each of them with another tenant's and another estate's ids and
codes; ``test_route_table.py`` (unit phase) fails as soon as the app has a route
that is missing here, so a new route cannot ship without a cross-tenant probe.
"""
from __future__ import annotations

SECRET = "security-suite-secret-" + "x" * 32

ROUTES: dict[tuple[str, str], str] = {
    ("/", "GET"): "page",
    ("/api/v1/", "GET"): "public",
    ("/api/v1/report-subscriptions", "GET"): "api",
    ("/api/v1/report-subscriptions", "POST"): "api",
    ("/api/v1/report-subscriptions/<subscription_id>", "DELETE"): "api",
    ("/api/v1/report-subscriptions/<subscription_id>/run", "POST"): "api",
    ("/api/v1/report-runs", "GET"): "api",
    ("/api/v1/report-runs/<run_id>", "GET"): "api",
    ("/api/v1/webhooks", "GET"): "api",
    ("/api/v1/webhooks", "POST"): "api",
    ("/api/v1/webhooks/<webhook_id>", "DELETE"): "api",
    ("/api/v1/webhooks/<webhook_id>/deliveries", "GET"): "api",
    ("/api/v1/webhooks/deliveries/<delivery_id>/redeliver", "POST"): "api",
    ("/api/v1/openapi.json", "GET"): "public",
    ("/api/docs", "GET"): "public",
    ("/api/docs/assets/<path:filename>", "GET"): "public",
    ("/api/v1/api-keys", "GET"): "api",
    ("/api/v1/api-keys", "POST"): "api",
    ("/api/v1/api-keys/<key_id>", "DELETE"): "api",
    ("/api/v1/auth/token", "POST"): "public",
    ("/api/v1/callbacks", "GET"): "api",
    ("/api/v1/callbacks/<callback_id>/attempts", "POST"): "api",
    ("/api/v1/callbacks/<callback_id>/claim", "POST"): "api",
    ("/api/v1/classification/suggest", "POST"): "api",
    ("/api/v1/complaints", "POST"): "api",
    ("/api/v1/complaints", "GET"): "api",
    ("/api/v1/complaints/<complaint_id>", "GET"): "api",
    ("/api/v1/complaints/<complaint_id>/actions", "POST"): "api",
    ("/api/v1/complaints/<complaint_id>/classification", "POST"): "api",
    ("/api/v1/estates", "GET"): "api",
    ("/api/v1/health", "GET"): "public",
    ("/api/v1/me", "GET"): "api",
    ("/api/v1/reports/complaint-counts", "GET"): "api",
    ("/api/v1/reports/drilldown", "GET"): "api",
    ("/api/v1/reports/export.<fmt>", "GET"): "api",
    ("/api/v1/reports/hot-spots", "GET"): "api",
    ("/api/v1/reports/kpis", "GET"): "api",
    ("/api/v1/reports/league-table", "GET"): "api",
    ("/api/v1/sla/policy", "GET"): "api",
    ("/api/v1/sla/preview", "POST"): "api",
    ("/api/v1/sla/policy", "PUT"): "api",
    ("/api/v1/sla/policy/versions", "GET"): "api",
    ("/api/v1/routing-rules", "GET"): "api",
    ("/api/v1/routing-rules", "PUT"): "api",
    ("/callbacks", "GET"): "page",
    ("/callbacks/<callback_id>/attempts", "POST"): "page",
    ("/callbacks/<callback_id>/claim", "POST"): "page",
    ("/complaints", "GET"): "page",
    ("/complaints/<complaint_id>", "GET"): "page",
    ("/complaints/<complaint_id>/actions/<action>", "POST"): "page",
    ("/complaints/new", "GET"): "page",
    ("/complaints/new", "POST"): "page",
    ("/escalations", "GET"): "page",
    ("/login", "GET"): "public",
    ("/login", "POST"): "public",
    ("/logout", "POST"): "page",
    ("/metrics", "GET"): "public",
    ("/open311/v2/discovery.<fmt>", "GET"): "public",
    ("/open311/v2/requests.<fmt>", "GET"): "api_key",
    ("/open311/v2/requests.<fmt>", "POST"): "api_key",
    ("/open311/v2/requests/<service_request_id>.<fmt>", "GET"): "api_key",
    ("/open311/v2/services.<fmt>", "GET"): "api_key",
    ("/open311/v2/services/<service_code>.<fmt>", "GET"): "api_key",
    ("/open311/v2/tokens/<token>.<fmt>", "GET"): "api_key",
    ("/queue", "GET"): "page",
    ("/static/<path:filename>", "GET"): "public",
    ("/t/<slug>/status", "GET"): "public",
    ("/t/<slug>/status", "POST"): "public",
    ("/t/<slug>/survey/<token>", "GET"): "public",
    ("/t/<slug>/survey/<token>", "POST"): "public",
    ("/t/<slug>/complain", "GET"): "public",
    ("/t/<slug>/e/<estate_code>/complain", "GET"): "public",
    ("/t/<slug>/e/<estate_code>/complain", "POST"): "public",
    ("/complaints/<complaint_id>/attachments/<attachment_id>", "GET"): "page",
    ("/t/<slug>/status/photos/<complaint_id>/<attachment_id>", "GET"): "public",
    ("/channels/wechat/<slug>", "GET"): "public",
    ("/channels/wechat/<slug>", "POST"): "public",
    # residents' committee channel (blueprints/committee.py, console_committee.py): role committee_member
    ("/api/v1/committee/batch", "POST"): "api",
    ("/api/v1/committee/complaints", "GET"): "api",
    ("/api/v1/committee/complaints", "POST"): "api",
    ("/committee", "GET"): "page",
    ("/committee/new", "GET"): "page",
    ("/committee/new", "POST"): "page",
    ("/committee/batch", "GET"): "page",
    ("/committee/batch", "POST"): "page",
    ("/committee/batch/errors.csv", "POST"): "page",
    ("/committee/template.<fmt>", "GET"): "page",
    # hotline desk (blueprints/cti.py: API key with scope cti; blueprints/console_lookup.py: agents' session)
    ("/api/v1/cti/calls", "POST"): "public",
    ("/complaints/lookup", "GET"): "page",
    ("/calls/panel", "GET"): "page",
    # accounts and security (blueprints/users.py, account.py, console_account.py, console_admin.py)
    ("/api/v1/audit", "GET"): "api",
    ("/api/v1/users", "GET"): "api",
    ("/api/v1/users", "POST"): "api",
    ("/api/v1/users/<user_id>", "PATCH"): "api",
    ("/api/v1/users/<user_id>/password-reset", "POST"): "api",
    ("/api/v1/users/<user_id>/totp", "DELETE"): "api",
    ("/api/v1/me/password", "POST"): "api",
    ("/api/v1/me/totp", "POST"): "api",
    ("/api/v1/me/totp/confirm", "POST"): "api",
    ("/api/v1/me/totp/disable", "POST"): "api",
    ("/api/v1/auth/password-reset", "POST"): "public",
    ("/account", "GET"): "page",
    ("/account/password", "POST"): "page",
    ("/account/totp", "POST"): "page",
    ("/account/totp/confirm", "POST"): "page",
    ("/account/totp/disable", "POST"): "page",
    ("/reset-password/<token>", "GET"): "public",
    ("/reset-password/<token>", "POST"): "public",
    ("/admin/users", "GET"): "page",
    ("/admin/users", "POST"): "page",
    ("/admin/users/<user_id>", "GET"): "page",
    ("/admin/users/<user_id>", "POST"): "page",
    ("/admin/users/<user_id>/password-reset", "POST"): "page",
    ("/admin/users/<user_id>/totp-reset", "POST"): "page",
    ("/admin/audit", "GET"): "page",
    # manager pages (console_extensions.py, console_sla_settings.py, console_dashboard.py)
    ("/complaints/<complaint_id>/extensions/request", "POST"): "page",
    ("/complaints/<complaint_id>/extensions/decide", "POST"): "page",
    ("/extensions", "GET"): "page",
    ("/settings/sla", "GET"): "page",
    ("/settings/sla", "POST"): "page",
    ("/settings/sla/preview", "POST"): "page",
    ("/dashboard", "GET"): "page",
    ("/dashboard/drilldown", "GET"): "page",
    ("/dashboard/export.<fmt>", "GET"): "page",
}


def app_routes(app=None) -> set[tuple[str, str]]:
    """``{(rule, method)}`` of the real gateway app (HEAD and OPTIONS left out)."""
    if app is None:
        from gateway.app import create_app

        app = create_app({"SECRET_KEY": SECRET, "DATABASE_URL": "sqlite://", "RPC": object(),
                          "CONFIGURE_LOGGING": False})
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def unprobed(app=None) -> tuple[set, set]:
    """(routes of the app without a probe, probes of routes the app no longer has)."""
    actual = app_routes(app)
    return actual - set(ROUTES), set(ROUTES) - actual
