"""Who may use each gateway route: one table, ``(rule, method) -> Access``, checked on the running system by
``test_role_matrix.py`` (every route x every role) and against the app's ``url_map`` by
``tests/security/test_route_table.py`` (a new route cannot ship without its row).

The contract is gateway/README.md (console pages: the "Web console" table; API: the "Endpoints" table and the
sections on accounts, webhooks, mail settings and routing rules) and, for API routes the README does not list,
the roles the OpenAPI document declares (``gateway/openapi.py``). The README route tables are prose (several
routes per row, "(+ POST ...)"), so they are transcribed here rather than parsed.

Roles are the demo users' (``estatedesk_common.demo.DEMO_USERS``), plus ``anonymous`` (no credentials) and
``api_key`` (the demo tenant's integration key, no user). ``department_head`` has no demo user and is not a column.
``estate=True``: site roles are let in only for their own estates (the probe uses DEMO-RES, which every site user
holds; the site manager is also probed on DEMO-OFFICE, outside its estates, and must be refused).
"""
from __future__ import annotations

from typing import NamedTuple

ANON, KEY = "anonymous", "api_key"
AGENT, CS, SM, HO, GA, CM = ("agent", "cs_supervisor", "site_manager", "head_office", "group_admin",
                             "committee_member")
ROLES = (ANON, KEY, AGENT, CS, SM, HO, GA, CM)
USERS = {AGENT: "agent@demo", CS: "supervisor@demo", SM: "manager@demo", HO: "hq@demo", GA: "admin@demo",
         CM: "committee@demo"}

EVERYONE = frozenset(ROLES)
LOGGED_IN = frozenset(USERS)
STAFF = frozenset({AGENT, CS, SM, HO, GA})          # README "staff roles" (department_head too: no demo user)
ACTING = STAFF                                      # README "acting roles"
CORRECTING = frozenset({AGENT, CS, SM, GA})         # who re-files a complaint's category (head office reads)
MANAGERS = frozenset({CS, SM, HO, GA})              # dashboards, quality, SLA reads
GROUP = frozenset({HO, GA})
ADMIN = frozenset({GA})
COMMITTEE = frozenset({CM})
API_KEY = frozenset({KEY})


class Access(NamedTuple):
    roles: frozenset
    estate: bool = False


def A(*groups, estate: bool = False) -> Access:
    return Access(frozenset().union(*groups), estate)


MATRIX: dict[tuple[str, str], Access] = {
    # --- public: owners, machines, login ---------------------------------------------------------------------
    ("/login", "GET"): A(EVERYONE), ("/login", "POST"): A(EVERYONE), ("/logout", "POST"): A(EVERYONE),
    ("/forgot-password", "GET"): A(EVERYONE), ("/forgot-password", "POST"): A(EVERYONE),
    ("/reset-password/<token>", "GET"): A(EVERYONE), ("/reset-password/<token>", "POST"): A(EVERYONE),
    ("/t/<slug>/status", "GET"): A(EVERYONE), ("/t/<slug>/status", "POST"): A(EVERYONE),
    ("/t/<slug>/status/photos/<complaint_id>/<attachment_id>", "GET"): A(EVERYONE),
    ("/t/<slug>/survey/<token>", "GET"): A(EVERYONE), ("/t/<slug>/survey/<token>", "POST"): A(EVERYONE),
    ("/t/<slug>/complain", "GET"): A(EVERYONE),
    ("/t/<slug>/e/<estate_code>/complain", "GET"): A(EVERYONE),
    ("/t/<slug>/e/<estate_code>/complain", "POST"): A(EVERYONE),
    ("/channels/wechat/<slug>", "GET"): A(EVERYONE), ("/channels/wechat/<slug>", "POST"): A(EVERYONE),
    ("/static/<path:filename>", "GET"): A(EVERYONE), ("/metrics", "GET"): A(EVERYONE),
    ("/api/docs", "GET"): A(EVERYONE), ("/api/docs/assets/<path:filename>", "GET"): A(EVERYONE),
    ("/api/v1/", "GET"): A(EVERYONE), ("/api/v1/openapi.json", "GET"): A(EVERYONE),
    ("/api/v1/health", "GET"): A(EVERYONE), ("/api/v1/auth/token", "POST"): A(EVERYONE),
    ("/api/v1/auth/password-reset", "POST"): A(EVERYONE),
    ("/open311/v2/discovery.<fmt>", "GET"): A(EVERYONE),
    # integration key, never a user (README "Integration API keys", "CTI", "Open311")
    ("/api/v1/cti/calls", "POST"): A(API_KEY),
    ("/open311/v2/services.<fmt>", "GET"): A(API_KEY),
    ("/open311/v2/services/<service_code>.<fmt>", "GET"): A(API_KEY),
    ("/open311/v2/requests.<fmt>", "GET"): A(API_KEY), ("/open311/v2/requests.<fmt>", "POST"): A(API_KEY),
    ("/open311/v2/requests/<service_request_id>.<fmt>", "GET"): A(API_KEY),
    ("/open311/v2/tokens/<token>.<fmt>", "GET"): A(API_KEY),
    # --- console: every logged-in user -----------------------------------------------------------------------
    ("/", "GET"): A(LOGGED_IN),
    ("/account", "GET"): A(LOGGED_IN), ("/account/password", "POST"): A(LOGGED_IN),
    ("/account/totp", "POST"): A(LOGGED_IN), ("/account/totp/confirm", "POST"): A(LOGGED_IN),
    ("/account/totp/disable", "POST"): A(LOGGED_IN),
    # --- console: complaints and cases -----------------------------------------------------------------------
    ("/complaints/new", "GET"): A({AGENT}), ("/complaints/new", "POST"): A({AGENT}),
    ("/complaints/lookup", "GET"): A({AGENT}), ("/calls/panel", "GET"): A({AGENT}),
    ("/complaints", "GET"): A(STAFF),
    ("/complaints/<complaint_id>", "GET"): A(STAFF, estate=True),
    ("/complaints/<complaint_id>/attachments/<attachment_id>", "GET"): A(STAFF, estate=True),
    ("/complaints/<complaint_id>/actions/<action>", "POST"): A(ACTING, estate=True),
    ("/complaints/<complaint_id>/extensions/request", "POST"): A(ACTING, estate=True),
    ("/complaints/<complaint_id>/extensions/decide", "POST"): A(ACTING, estate=True),
    ("/queue", "GET"): A({AGENT}, MANAGERS), ("/escalations", "GET"): A(MANAGERS),
    ("/extensions", "GET"): A(MANAGERS),
    ("/callbacks", "GET"): A(STAFF), ("/callbacks/<callback_id>/claim", "POST"): A(STAFF),
    ("/callbacks/<callback_id>/attempts", "POST"): A(STAFF),
    ("/quality", "GET"): A(MANAGERS), ("/workload", "GET"): A(MANAGERS),
    ("/quality/capa/<capa_id>/check", "POST"): A({SM}, GROUP),
    ("/dashboard", "GET"): A(MANAGERS), ("/dashboard/drilldown", "GET"): A(MANAGERS),
    ("/dashboard/export.<fmt>", "GET"): A(MANAGERS),
    # --- console: settings ------------------------------------------------------------------------------------
    # probed on an estate's scope: head office edits only the group's and the regions' time limits; a settings
    # page asked for a scope that is not the caller's opens the first of its own (no estate flag on the GETs)
    ("/settings/sla", "GET"): A({SM}, GROUP), ("/settings/sla", "POST"): A({SM, GA}, estate=True),
    ("/settings/sla/preview", "POST"): A({SM, GA}, estate=True),
    ("/settings/sla/site", "GET"): A({SM}, GROUP),
    ("/settings/sla/site", "POST"): A({SM, GA}, estate=True),
    ("/settings/sla/site/preview", "POST"): A({SM, GA}, estate=True),
    ("/settings/routing", "GET"): A({SM}, GROUP),
    ("/settings/routing", "POST"): A({SM, GA}, estate=True),
    ("/settings/duty", "GET"): A(MANAGERS), ("/settings/duty", "POST"): A({SM}, GROUP, estate=True),
    ("/settings/alerts", "GET"): A(GROUP), ("/settings/alerts", "POST"): A(GROUP),
    ("/settings/alerts/digest", "POST"): A(GROUP),
    ("/settings/templates", "GET"): A({SM}, GROUP), ("/settings/templates", "POST"): A({SM}, GROUP, estate=True),
    ("/settings/templates/preview", "POST"): A({SM}, GROUP, estate=True),
    ("/settings/templates/reset", "POST"): A({SM}, GROUP, estate=True),
    # --- console: administration ------------------------------------------------------------------------------
    ("/admin/estates", "GET"): A(GROUP), ("/admin/estates", "POST"): A(GROUP),
    ("/admin/estates/<code>", "GET"): A(GROUP), ("/admin/estates/<code>", "POST"): A(GROUP),
    ("/admin/regions", "GET"): A(GROUP), ("/admin/regions", "POST"): A(GROUP),
    ("/admin/regions/<region_code>", "POST"): A(GROUP),
    ("/admin/units", "GET"): A({SM, GA}), ("/admin/units/template.<fmt>", "GET"): A({SM, GA}),
    ("/admin/estates/<code>/units", "GET"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/units", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/buildings", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/buildings/<building>", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/buildings/<building>/remove", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/buildings/<building>/units/<unit>", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/buildings/<building>/units/<unit>/remove", "POST"): A({SM, GA}, estate=True),
    ("/admin/estates/<code>/units/import", "POST"): A({SM, GA}, estate=True),
    ("/admin/users", "GET"): A(ADMIN), ("/admin/users", "POST"): A(ADMIN),
    ("/admin/users/<user_id>", "GET"): A(ADMIN), ("/admin/users/<user_id>", "POST"): A(ADMIN),
    ("/admin/users/<user_id>/password-reset", "POST"): A(ADMIN),
    ("/admin/users/<user_id>/totp-reset", "POST"): A(ADMIN),
    ("/admin/audit", "GET"): A(ADMIN), ("/admin/audit/export.<fmt>", "GET"): A(ADMIN),
    ("/admin/integrations", "GET"): A(ADMIN), ("/admin/integrations/api-keys", "POST"): A(ADMIN),
    ("/admin/integrations/api-keys/<key_id>/revoke", "POST"): A(ADMIN),
    ("/admin/integrations/webhooks", "POST"): A(ADMIN),
    ("/admin/integrations/webhooks/<webhook_id>", "GET"): A(ADMIN),
    ("/admin/integrations/webhooks/<webhook_id>/delete", "POST"): A(ADMIN),
    ("/admin/integrations/deliveries/<delivery_id>/redeliver", "POST"): A(ADMIN),
    ("/admin/integrations/mail", "POST"): A(ADMIN), ("/admin/integrations/mail/test", "POST"): A(ADMIN),
    ("/admin/integrations/wechat/<account_id>", "POST"): A(ADMIN),
    ("/reports/subscriptions", "GET"): A(GROUP), ("/reports/subscriptions", "POST"): A(GROUP),
    ("/reports/subscriptions/<subscription_id>/delete", "POST"): A(GROUP),
    ("/reports/subscriptions/<subscription_id>/run", "POST"): A(GROUP),
    ("/reports/runs/<run_id>", "GET"): A(GROUP), ("/reports/runs/<run_id>/export.<fmt>", "GET"): A(GROUP),
    # --- console: residents' committee ------------------------------------------------------------------------
    ("/committee", "GET"): A(COMMITTEE), ("/committee/new", "GET"): A(COMMITTEE),
    ("/committee/new", "POST"): A(COMMITTEE), ("/committee/batch", "GET"): A(COMMITTEE),
    ("/committee/batch", "POST"): A(COMMITTEE), ("/committee/batch/errors.csv", "POST"): A(COMMITTEE),
    ("/committee/template.<fmt>", "GET"): A(COMMITTEE),
    # --- API ----------------------------------------------------------------------------------------------------
    ("/api/v1/me", "GET"): A(LOGGED_IN), ("/api/v1/me/password", "POST"): A(LOGGED_IN),
    ("/api/v1/me/totp", "POST"): A(LOGGED_IN), ("/api/v1/me/totp/confirm", "POST"): A(LOGGED_IN),
    ("/api/v1/me/totp/disable", "POST"): A(LOGGED_IN),
    ("/api/v1/complaints", "POST"): A(STAFF), ("/api/v1/complaints", "GET"): A(STAFF),
    ("/api/v1/complaints/<complaint_id>", "GET"): A(STAFF, estate=True),
    ("/api/v1/complaints/<complaint_id>/actions", "POST"): A(ACTING, estate=True),
    ("/api/v1/complaints/<complaint_id>/classification", "POST"): A(CORRECTING, estate=True),
    ("/api/v1/classification/suggest", "POST"): A(STAFF),
    ("/api/v1/callbacks", "GET"): A(STAFF), ("/api/v1/callbacks/<callback_id>/claim", "POST"): A(STAFF),
    ("/api/v1/callbacks/<callback_id>/attempts", "POST"): A(STAFF),
    ("/api/v1/estates", "GET"): A(LOGGED_IN), ("/api/v1/estates", "POST"): A(GROUP),
    ("/api/v1/estates/<code>", "PUT"): A(GROUP),
    ("/api/v1/regions", "GET"): A(GROUP), ("/api/v1/regions", "POST"): A(GROUP),
    ("/api/v1/regions/<region_code>", "PUT"): A(GROUP),
    ("/api/v1/estates/<code>/buildings", "GET"): A({SM}, GROUP, estate=True),
    ("/api/v1/estates/<code>/buildings", "POST"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/buildings/<building>", "PUT"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/buildings/<building>", "DELETE"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/buildings/<building>/units", "POST"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/buildings/<building>/units/<unit>", "PUT"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/buildings/<building>/units/<unit>", "DELETE"): A({SM, GA}, estate=True),
    ("/api/v1/estates/<code>/units/import", "POST"): A({SM, GA}, estate=True),
    ("/api/v1/committee/complaints", "GET"): A(COMMITTEE), ("/api/v1/committee/complaints", "POST"): A(COMMITTEE),
    ("/api/v1/committee/batch", "POST"): A(COMMITTEE),
    ("/api/v1/reports/complaint-counts", "GET"): A(MANAGERS), ("/api/v1/reports/kpis", "GET"): A(MANAGERS),
    ("/api/v1/reports/league-table", "GET"): A(MANAGERS), ("/api/v1/reports/hot-spots", "GET"): A(MANAGERS),
    ("/api/v1/reports/drilldown", "GET"): A(MANAGERS), ("/api/v1/reports/export.<fmt>", "GET"): A(MANAGERS),
    ("/api/v1/report-subscriptions", "GET"): A(GROUP), ("/api/v1/report-subscriptions", "POST"): A(GROUP),
    ("/api/v1/report-subscriptions/<subscription_id>", "DELETE"): A(GROUP),
    ("/api/v1/report-subscriptions/<subscription_id>/run", "POST"): A(GROUP),
    ("/api/v1/report-runs", "GET"): A(GROUP), ("/api/v1/report-runs/<run_id>", "GET"): A(GROUP),
    ("/api/v1/report-runs/<run_id>/export.<fmt>", "GET"): A(GROUP),
    ("/api/v1/sla/policy", "GET"): A(MANAGERS, estate=True), ("/api/v1/sla/policy", "PUT"): A({SM, GA}, estate=True),
    ("/api/v1/sla/preview", "POST"): A(MANAGERS, estate=True),
    ("/api/v1/sla/policy/versions", "GET"): A(MANAGERS), ("/api/v1/sla/presets", "GET"): A(MANAGERS),
    ("/api/v1/routing-rules", "GET"): A(MANAGERS, estate=True),
    ("/api/v1/routing-rules", "PUT"): A({SM, GA}, estate=True),
    ("/api/v1/duty-roster", "GET"): A(MANAGERS, estate=True),
    ("/api/v1/duty-roster", "PUT"): A({SM}, GROUP, estate=True),
    ("/api/v1/nonconformities", "GET"): A(MANAGERS), ("/api/v1/capa", "GET"): A(MANAGERS),
    ("/api/v1/staff-contacts", "GET"): A(GROUP), ("/api/v1/staff-contacts", "PUT"): A(GROUP),
    ("/api/v1/digest-settings", "GET"): A(GROUP), ("/api/v1/digest-settings", "PUT"): A(GROUP),
    ("/api/v1/notify-templates", "GET"): A({SM}, GROUP),
    ("/api/v1/notify-templates/<message>/<locale>", "GET"): A({SM}, GROUP, estate=True),
    ("/api/v1/notify-templates/<message>/<locale>", "PUT"): A({SM}, GROUP, estate=True),
    ("/api/v1/notify-templates/<message>/<locale>", "DELETE"): A({SM}, GROUP, estate=True),
    ("/api/v1/notify-templates/<message>/<locale>/preview", "POST"): A({SM}, GROUP, estate=True),
    ("/api/v1/api-keys", "GET"): A(ADMIN), ("/api/v1/api-keys", "POST"): A(ADMIN),
    ("/api/v1/api-keys/<key_id>", "DELETE"): A(ADMIN),
    ("/api/v1/webhooks", "GET"): A(ADMIN), ("/api/v1/webhooks", "POST"): A(ADMIN),
    ("/api/v1/webhooks/<webhook_id>", "DELETE"): A(ADMIN),
    ("/api/v1/webhooks/<webhook_id>/deliveries", "GET"): A(ADMIN),
    ("/api/v1/webhooks/deliveries/<delivery_id>/redeliver", "POST"): A(ADMIN),
    ("/api/v1/mail-settings", "GET"): A(ADMIN), ("/api/v1/mail-settings", "PUT"): A(ADMIN),
    ("/api/v1/mail-settings/test", "POST"): A(ADMIN),
    ("/api/v1/audit", "GET"): A(ADMIN), ("/api/v1/audit/export.<fmt>", "GET"): A(ADMIN),
    ("/api/v1/users", "GET"): A(ADMIN), ("/api/v1/users", "POST"): A(ADMIN),
    ("/api/v1/users/<user_id>", "PATCH"): A(ADMIN),
    ("/api/v1/users/<user_id>/password-reset", "POST"): A(ADMIN),
    ("/api/v1/users/<user_id>/totp", "DELETE"): A(ADMIN),
}

# (rule, method, role) -> why behaviour differs from the table and is not fixed yet (the test expects the
# behaviour and fails once it changes, so the line is deleted with the fix).
KNOWN_EXCEPTIONS: dict[tuple[str, str, str], str] = {}


def expected(route: tuple[str, str], role: str) -> bool:
    allowed = role in MATRIX[route].roles
    return (not allowed) if (route[0], route[1], role) in KNOWN_EXCEPTIONS else allowed


def unlisted(app=None) -> tuple[set, set]:
    """(routes of the app without a row, rows of routes the app no longer has)."""
    from tests.security.routes import app_routes

    actual = app_routes(app)
    return actual - set(MATRIX), set(MATRIX) - actual
