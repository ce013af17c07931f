"""The HTTP API described as OpenAPI 3.1, served at ``/api/v1/openapi.json`` and browsable at ``/api/docs``.

One table (``OPERATIONS``) names every API operation: summary, tag, the marshmallow schema that validates its
body or query (the same classes the views load, so the description cannot drift from the validation), the
roles allowed and the error codes it can answer. ``tests`` check that every ``/api/v1`` route of the app is in the table
(Open311 follows its own published GeoReport v2 spec, docs/open311.md) and the document validates (openapi-spec-validator), and schemathesis drives the live
system from it, checking every answer against this document (status code documented, content type, body schema).
Response bodies are marshmallow schemas too (``RESPONSES``), described by their main fields (unknown fields
allowed); the service READMEs are the reference for every field. ``COMMON_ERRORS`` are the statuses any
operation of a kind can answer (400, 401, 413, 415, 429, 503), added to each operation's own.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import INCLUDE, Schema, fields, validate

from . import labels, sorting
from .schemas import ComplaintSchema, LoginSchema

_PARAM = re.compile(r"<(?:[a-z]+:)?([a-z_]+)>")


@dataclass(frozen=True)
class Op:
    summary: str
    tag: str
    body: type | None = None          # marshmallow Schema class for a JSON body
    query: type | None = None         # marshmallow Schema class for the query string
    roles: tuple = ()                 # empty: any signed-in user (or public, see ``auth``)
    auth: str = "bearer"              # bearer | public | api_key
    errors: tuple = (422,)
    ok: int = 200
    returns: str = "object"           # name of a component in RESPONSES, or "object"
    headers: dict = field(default_factory=dict)  # request headers: name -> description
    content: str = "application/json"  # for ok responses


class ErrorSchema(Schema):
    error = fields.String(required=True, metadata={"description": "machine-readable code, e.g. validation_failed"})
    message = fields.String(required=True, metadata={"description": "in the caller's language (zh-CN default)"})
    details = fields.Dict(metadata={"description": "`field`: the field at fault; `fields`: every field's problems"})


class DateRange(Schema):
    date_from = fields.Date(data_key="from", required=True, metadata={"description": "estate-local day, inclusive"})
    date_to = fields.Date(data_key="to", required=True, metadata={"description": "estate-local day, inclusive"})
    estate = fields.String(validate=validate.Length(max=40))


class LeagueArgs(DateRange):
    sort = fields.String(validate=validate.OneOf(["received", "on_time_pct", "resolved_within_limit_pct"]))
    region = fields.String(validate=validate.Length(max=40))


class DrilldownArgs(DateRange):
    metric = fields.String(required=True)
    category = fields.String()
    channel = fields.String()
    limit = fields.Integer(validate=validate.Range(min=1, max=500))
    offset = fields.Integer(validate=validate.Range(min=0))


class ExportArgs(LeagueArgs):
    report = fields.String(validate=validate.OneOf(["league_table", "kpis"]))
    locale = fields.String(validate=validate.OneOf(["zh_CN", "en"]))


class ComplaintListArgs(Schema):
    estate = fields.String(validate=validate.Length(max=40))
    status = fields.String(validate=validate.OneOf(labels.COMPLAINT_STATUSES),
                           metadata={"description": "the case's status (received: no case yet); else 400 "
                                                    "invalid_filter"})
    channel = fields.String()
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    offset = fields.Integer(validate=validate.Range(min=0))
    sort = fields.String(validate=validate.OneOf(sorting.COMPLAINTS[0]),
                         metadata={"description": "sort key (default received_at, newest first); else 400 invalid_sort"})
    order = fields.String(validate=validate.OneOf(["asc", "desc"]))


class CommitteeListArgs(Schema):
    limit = fields.Integer(validate=validate.Range(min=1, max=200))
    offset = fields.Integer(validate=validate.Range(min=0))


class PolicyArgs(Schema):
    estate = fields.String(validate=validate.Length(max=40))
    at = fields.DateTime(metadata={"description": "ISO 8601 with offset; default now"})


class VersionArgs(Schema):
    scope = fields.String(metadata={"description": "group, region:<code> or estate:<code>; default all"})


class CountArgs(Schema):
    date_from = fields.Date(data_key="from")
    date_to = fields.Date(data_key="to")


IF_MATCH = {"If-Match": "the case version from the complaint's ETag (428 without it, 409 when stale)"}
STAFF = ("agent", "cs_supervisor", "site_manager", "department_head", "head_office", "group_admin")
MANAGERS = ("head_office", "group_admin", "site_manager", "cs_supervisor")


def _operations() -> dict:
    from .blueprints.api_keys import ApiKeySchema
    from .blueprints.cti import CallEventSchema
    from .blueprints.callbacks import AttemptSchema, ListArgs as CallbackListArgs
    from .blueprints.case_actions import ActionSchema
    from .blueprints.classification import CORRECTING_ROLES, CorrectionSchema, SuggestSchema
    from .blueprints.sla import PreviewSchema, SavePolicySchema
    from .blueprints.webhooks import WebhookSchema
    from .blueprints.mail_settings import MailSettingsSchema, MailTestSchema
    from .blueprints.routing_rules import RoutingArgs, SaveRoutingSchema
    from .blueprints.duty_roster import RosterArgs, SaveRosterSchema
    from .blueprints.staff_contacts import SaveContactsSchema
    from .blueprints.digest_settings import DigestSettingsSchema
    from .blueprints.notify_templates import TemplateArgs, TemplateSchema
    from .blueprints.quality import CapaArgs, NonconformityArgs
    from .blueprints.periodic_reports import SubscriptionSchema
    from .blueprints.committee import CommitteeComplaintSchema
    from .blueprints.account import (PasswordChangeSchema, PasswordResetSchema, TotpCodeSchema,
                                     TotpDisableSchema)
    from .blueprints.users import AuditArgs, AuditExportArgs, UserCreateSchema, UserPatchSchema
    from .blueprints.estates import WRITERS as ESTATE_WRITERS, EstateChangesSchema, EstateCreateSchema
    from .blueprints import estate_directory as ed

    return {
        ("/api/v1/", "get"): Op("API index: version and links", "meta", auth="public", errors=()),
        ("/api/v1/health", "get"): Op("Health of the gateway and every service (503 when one is down)", "meta",
                                      auth="public", errors=(503,)),
        ("/api/v1/auth/token", "post"): Op("Sign in: a bearer token (JWT) for a username and password", "auth",
                                           body=LoginSchema, auth="public", errors=(401, 422, 423, 429)),
        ("/api/v1/me", "get"): Op("The signed-in user: tenant, roles and estates", "auth", errors=(401,)),
        ("/api/v1/estates", "get"): Op("The tenant's estates in the caller's scope", "complaints", errors=(401,),
                                       returns="EstateList"),
        ("/api/v1/estates", "post"): Op(
            "Add an estate (code never changes; registered units for complaints per 1,000 units)", "estates",
            body=EstateCreateSchema, roles=ESTATE_WRITERS, ok=201, errors=(401, 403, 409, 422)),
        ("/api/v1/estates/{code}", "put"): Op(
            "Change an estate: name, kind, region, time zone, address, units; active=false deactivates it",
            "estates", body=EstateChangesSchema, roles=ESTATE_WRITERS, errors=(401, 403, 404, 422)),
        ("/api/v1/regions", "get"): Op("The group's regions: code, name, active, how many active estates",
                                       "estates", roles=ed.REGION_WRITERS, errors=(401, 403)),
        ("/api/v1/regions", "post"): Op("Add a region (code never changes)", "estates", body=ed.RegionCreateSchema,
                                        roles=ed.REGION_WRITERS, ok=201, errors=(401, 403, 409, 422)),
        ("/api/v1/regions/{region_code}", "put"): Op(
            "Rename a region or (de)activate it; 409 region_in_use while active estates are in it", "estates",
            body=ed.RegionChangesSchema, roles=ed.REGION_WRITERS, errors=(401, 403, 404, 409, 422)),
        ("/api/v1/estates/{code}/buildings", "get"): Op(
            "An estate's buildings with their units (floor, area) and registered units", "estates",
            roles=ed.UNIT_READERS, errors=(401, 403, 404)),
        ("/api/v1/estates/{code}/buildings", "post"): Op(
            "Add a building to an estate (group admin; site manager of the estate)", "estates",
            body=ed.BuildingCreateSchema, roles=ed.UNIT_WRITERS, ok=201, errors=(401, 403, 404, 409, 422)),
        ("/api/v1/estates/{code}/buildings/{building}", "put"): Op(
            "Rename a building (its code never changes)", "estates", body=ed.BuildingChangesSchema,
            roles=ed.UNIT_WRITERS, errors=(401, 403, 404, 422)),
        ("/api/v1/estates/{code}/buildings/{building}", "delete"): Op(
            "Remove a building and its units", "estates", roles=ed.UNIT_WRITERS, errors=(401, 403, 404)),
        ("/api/v1/estates/{code}/buildings/{building}/units", "post"): Op(
            "Add a unit (code, floor, area in m²)", "estates", body=ed.UnitCreateSchema, roles=ed.UNIT_WRITERS,
            ok=201, errors=(401, 403, 404, 409, 422)),
        ("/api/v1/estates/{code}/buildings/{building}/units/{unit}", "put"): Op(
            "Change a unit: a new code renames it; floor, area", "estates", body=ed.UnitChangesSchema,
            roles=ed.UNIT_WRITERS, errors=(401, 403, 404, 409, 422)),
        ("/api/v1/estates/{code}/buildings/{building}/units/{unit}", "delete"): Op(
            "Remove a unit", "estates", roles=ed.UNIT_WRITERS, errors=(401, 403, 404)),
        ("/api/v1/estates/{code}/units/import", "post"): Op(
            "Import units from a CSV/XLSX sheet (multipart field `file`; columns 楼栋, 房号, 楼层?, 建筑面积?): the "
            "plan (added, updated, unchanged, row errors with line and column); `apply=true` carries it out, all "
            "or nothing (422, details.errors); re-importing changes nothing", "estates", roles=ed.UNIT_WRITERS,
            errors=(401, 403, 404, 422)),
        ("/api/v1/complaints", "post"): Op("Register a complaint (any channel)", "complaints", body=ComplaintSchema,
                                           ok=201, returns="ComplaintView", errors=(401, 404, 422)),
        ("/api/v1/complaints", "get"): Op("List complaints, newest first unless sort/order say otherwise",
                                          "complaints", query=ComplaintListArgs, errors=(400, 401, 422)),
        ("/api/v1/complaints/{complaint_id}", "get"): Op(
            "A complaint with its case (status, deadlines with explanations, timeline) and notifications; ETag = "
            "case version", "complaints", returns="ComplaintView", errors=(401, 404)),
        ("/api/v1/complaints/{complaint_id}/actions", "post"): Op(
            "Act on the case: contact, assign, plan, progress, resolve, accept, cancel; defer (non-urgent, with "
            "the owner's consent; 422 deferral_not_allowed for an urgent case), resume", "cases", body=ActionSchema,
            roles=STAFF, headers=IF_MATCH, errors=(401, 403, 404, 409, 422, 428)),
        ("/api/v1/complaints/{complaint_id}/classification", "post"): Op(
            "Correct the category/severity (feeds the classifier)", "complaints", body=CorrectionSchema,
            roles=CORRECTING_ROLES, errors=(401, 403, 404, 422)),
        ("/api/v1/classification/suggest", "post"): Op("Suggest a category and severity for a text", "complaints",
                                                       body=SuggestSchema, errors=(401, 422)),
        ("/api/v1/callbacks", "get"): Op("Callbacks (回访) due, in the caller's estates", "callbacks",
                                         query=CallbackListArgs, errors=(400, 401, 403, 422)),
        ("/api/v1/callbacks/{callback_id}/claim", "post"): Op("Claim a callback (someone other than the resolver)",
                                                              "callbacks", errors=(401, 403, 404, 409)),
        ("/api/v1/callbacks/{callback_id}/attempts", "post"): Op(
            "Log a callback attempt: reached (satisfied or not) or not reached", "callbacks", body=AttemptSchema,
            errors=(401, 403, 404, 409, 422)),
        ("/api/v1/sla/policy", "get"): Op("The time-limit policy in force for an estate", "sla", query=PolicyArgs,
                                          roles=MANAGERS, errors=(401, 403, 404, 422)),
        ("/api/v1/sla/preview", "post"): Op("Deadlines a policy would set, each explained", "sla", body=PreviewSchema,
                                            roles=MANAGERS, errors=(401, 403, 422)),
        ("/api/v1/sla/policy", "put"): Op(
            "Save the next version of a scope's policy (optionally recompute open cases: a report)", "sla",
            body=SavePolicySchema, roles=("group_admin", "site_manager"), errors=(401, 403, 422)),
        ("/api/v1/routing-rules", "get"): Op(
            "Routing rules (estate + category -> department and team) the caller may read", "routing",
            query=RoutingArgs, roles=MANAGERS, errors=(401, 403, 404)),
        ("/api/v1/routing-rules", "put"): Op(
            "Replace a scope's routing rules (round-robin or least-loaded within the team)", "routing",
            body=SaveRoutingSchema, roles=("group_admin", "site_manager"), errors=(401, 403, 422)),
        ("/api/v1/duty-roster", "get"): Op(
            "An estate's duty roster (值班表) and who is on duty now (cases opened after hours go to them)",
            "routing", query=RosterArgs, roles=("group_admin", "head_office", "site_manager", "cs_supervisor"),
            errors=(401, 403, 404, 422)),
        ("/api/v1/duty-roster", "put"): Op(
            "Replace an estate's duty roster (people per weekday night or date range)", "routing",
            body=SaveRosterSchema, roles=("group_admin", "head_office", "site_manager"), errors=(401, 403, 422)),
        ("/api/v1/staff-contacts", "get"): Op(
            "Staff alert recipients (role, estate or every estate, name, e-mail, phone, locale)", "alerts",
            roles=("group_admin", "head_office"), errors=(401, 403)),
        ("/api/v1/staff-contacts", "put"): Op(
            "Replace the staff alert recipients e-mailed on SLA warnings, breaches, escalations, major complaints "
            "and overdue callbacks", "alerts", body=SaveContactsSchema, roles=("group_admin", "head_office"),
            errors=(401, 403, 422)),
        ("/api/v1/digest-settings", "get"): Op(
            "The managers' daily digest: on or off, the local hour and time zone it goes at, the addresses that get "
            "none (defaults: on, 08:00, Asia/Shanghai)", "alerts", roles=("group_admin", "head_office"),
            errors=(401, 403)),
        ("/api/v1/digest-settings", "put"): Op(
            "Save the daily digest setting: once a day each supervisor, site manager and head office user among "
            "the alert recipients gets one e-mail about their estates", "alerts", body=DigestSettingsSchema,
            roles=("group_admin", "head_office"), errors=(401, 403, 422)),
        ("/api/v1/notify-templates", "get"): Op(
            "Message templates: the messages and their parts, and the tenant's and estates' overrides", "templates",
            roles=("group_admin", "head_office", "site_manager"), errors=(401, 403)),
        ("/api/v1/notify-templates/{message}/{locale}", "get"): Op(
            "One message's templates per part: default, the group's override, the scope's own and which is in force",
            "templates", query=TemplateArgs, roles=("group_admin", "head_office", "site_manager"),
            errors=(401, 403, 404, 422)),
        ("/api/v1/notify-templates/{message}/{locale}/preview", "post"): Op(
            "Render template sources against a sample of the message in notify's sandbox, nothing saved "
            "(errors per part with the line)", "templates", body=TemplateSchema,
            roles=("group_admin", "head_office", "site_manager"), errors=(401, 403, 422)),
        ("/api/v1/notify-templates/{message}/{locale}", "put"): Op(
            "Override parts of a message for the group or an estate (each checked in the sandbox first; 422 names "
            "the part and line)", "templates", body=TemplateSchema,
            roles=("group_admin", "head_office", "site_manager"), errors=(401, 403, 409, 422)),
        ("/api/v1/notify-templates/{message}/{locale}", "delete"): Op(
            "Back to the inherited templates (one part or all)", "templates", query=TemplateArgs,
            roles=("group_admin", "head_office", "site_manager"), errors=(401, 403, 404, 422)),
        ("/api/v1/nonconformities", "get"): Op(
            "Nonconformity records (an owner's loss of 500 yuan or more) in the caller's estates, newest first; "
            "status open = waiting for the site manager's decide_nonconformity", "quality", query=NonconformityArgs,
            roles=MANAGERS, errors=(401, 403, 404, 422)),
        ("/api/v1/capa", "get"): Op(
            "Corrective/preventive action (CAPA) records in the caller's estates, soonest due first, each with "
            "overdue", "quality", query=CapaArgs, roles=MANAGERS, errors=(401, 403, 404, 422)),
        ("/api/v1/sla/policy/versions", "get"): Op("The stored versions of the policies, newest first", "sla",
                                                   query=VersionArgs, roles=MANAGERS, errors=(401, 403)),
        ("/api/v1/sla/presets", "get"): Op(
            "The shipped time-limit presets (seed 002, 001, 000; the seed 004 handover override) with their text; "
            "PUT /sla/policy with preset stores one", "sla", roles=MANAGERS, errors=(401, 403)),
        ("/api/v1/reports/kpis", "get"): Op("KPIs for a period", "reports", query=DateRange, roles=MANAGERS,
                                            errors=(401, 403, 404, 422)),
        ("/api/v1/reports/league-table", "get"): Op("Estate league table with period-over-period change", "reports",
                                                    query=LeagueArgs, roles=MANAGERS, errors=(401, 403, 422)),
        ("/api/v1/reports/hot-spots", "get"): Op("Categories and estates rising against their own baseline",
                                                 "reports", query=DateRange, roles=MANAGERS, errors=(401, 403, 422)),
        ("/api/v1/reports/drilldown", "get"): Op("The cases behind a figure", "reports", query=DrilldownArgs,
                                                 roles=MANAGERS, errors=(401, 403, 404, 422)),
        ("/api/v1/reports/export.{fmt}", "get"): Op(
            "A report as CSV (UTF-8 with BOM) or XLSX", "reports", query=ExportArgs, roles=MANAGERS,
            errors=(401, 403, 404, 422), content="application/octet-stream"),
        ("/api/v1/report-subscriptions", "get"): Op("Periodic report subscriptions", "reports",
                                                    roles=("head_office", "group_admin"), errors=(401, 403)),
        ("/api/v1/report-subscriptions", "post"): Op(
            "Subscribe managers to a weekly/monthly/quarterly report (group or one estate), e-mailed on schedule",
            "reports", body=SubscriptionSchema, roles=("head_office", "group_admin"), ok=201,
            errors=(401, 403, 422)),
        ("/api/v1/report-subscriptions/{subscription_id}", "delete"): Op(
            "End a subscription", "reports", roles=("head_office", "group_admin"), errors=(401, 403, 404)),
        ("/api/v1/report-subscriptions/{subscription_id}/run", "post"): Op(
            "Make (and e-mail) the last complete period's report now, if not made yet", "reports",
            roles=("head_office", "group_admin"), errors=(401, 403, 404)),
        ("/api/v1/report-runs", "get"): Op("Reports made, newest first", "reports",
                                           roles=("head_office", "group_admin"), errors=(401, 403)),
        ("/api/v1/report-runs/{run_id}", "get"): Op(
            "One report; ?format=html answers the page itself (print-ready)", "reports",
            roles=("head_office", "group_admin"), errors=(401, 403, 404)),
        ("/api/v1/report-runs/{run_id}/export.{fmt}", "get"): Op(
            "A report's figures (KPIs, league table, trend) as CSV (UTF-8 with BOM) or XLSX; ?locale=zh_CN|en "
            "(default the subscription's)", "reports", roles=("head_office", "group_admin"),
            errors=(401, 403, 404), content="application/octet-stream"),
        ("/api/v1/webhooks", "get"): Op("The tenant's outgoing webhooks", "webhooks", roles=("group_admin",),
                                        errors=(401, 403)),
        ("/api/v1/webhooks", "post"): Op("Add a webhook for case events; the signing secret is answered once",
                                         "webhooks", body=WebhookSchema, roles=("group_admin",), ok=201,
                                         errors=(401, 403, 422)),
        ("/api/v1/webhooks/{webhook_id}", "delete"): Op("Remove a webhook (its delivery log stays)", "webhooks",
                                                        roles=("group_admin",), errors=(401, 403, 404)),
        ("/api/v1/webhooks/{webhook_id}/deliveries", "get"): Op(
            "A webhook's delivery log: status, attempts, last HTTP status or error", "webhooks",
            roles=("group_admin",), errors=(401, 403, 404)),
        ("/api/v1/webhooks/deliveries/{delivery_id}/redeliver", "post"): Op(
            "Queue a delivery again (e.g. after the receiver was fixed)", "webhooks", roles=("group_admin",),
            errors=(401, 403, 404)),
        ("/api/v1/mail-settings", "get"): Op(
            "The outgoing mail server (发件邮箱): the platform's or the tenant's own; never the password "
            "(password_set)", "mail", roles=("group_admin",), errors=(401, 403)),
        ("/api/v1/mail-settings", "put"): Op(
            "Use the platform's mail server or the tenant's own (host, port, security none/starttls/tls, login, "
            "sender); the password is write-only and stored encrypted; audited", "mail", body=MailSettingsSchema,
            roles=("group_admin",), errors=(401, 403, 409, 422, 503)),
        ("/api/v1/mail-settings/test", "post"): Op(
            "Send a test mail with the given (unsaved) or saved settings: ok, or the failed step (connect, tls, auth, "
            "send), an error code, the server's reply and a message in the caller's language", "mail",
            body=MailTestSchema, roles=("group_admin",), errors=(401, 403, 422)),
        ("/api/v1/reports/complaint-counts", "get"): Op("Complaint counts by estate and channel", "reports",
                                                        query=CountArgs, errors=(401, 422)),
        ("/api/v1/api-keys", "get"): Op("The tenant's integration API keys (never the key itself)", "api-keys",
                                        roles=("group_admin",), errors=(401, 403)),
        ("/api/v1/api-keys", "post"): Op("Issue an API key (open311, cti): the key is in this answer only",
                                         "api-keys", body=ApiKeySchema, roles=("group_admin",), ok=201,
                                         errors=(401, 403, 422)),
        ("/api/v1/api-keys/{key_id}", "delete"): Op("Revoke an API key", "api-keys", roles=("group_admin",),
                                                    errors=(401, 403, 404)),
        ("/api/v1/cti/calls", "post"): Op(
            "Hotline call event from the telephone system (ringing/answered/ended; the same event again is a "
            "no-op): the screen pop (owners, open and recent complaints, the console URL to record the call)",
            "cti", body=CallEventSchema, auth="api_key", errors=(401, 404, 422)),
        ("/api/v1/committee/complaints", "get"): Op(
            "What the residents' committee member forwarded, newest first, with the case status", "committee",
            query=CommitteeListArgs, roles=("committee_member",), errors=(401, 403, 422)),
        ("/api/v1/committee/complaints", "post"): Op(
            "Forward one owner's complaint (channel committee; reported_at: when the owner told the committee)",
            "committee", body=CommitteeComplaintSchema, roles=("committee_member",), ok=201,
            returns="ComplaintView", errors=(401, 403, 422)),
        ("/api/v1/committee/batch", "post"): Op(
            "Upload a CSV/XLSX sheet (multipart field `file`): every row imported in one transaction, or none "
            "with each row's problem (422 batch_rejected, details.rows)", "committee", roles=("committee_member",),
            ok=201, errors=(401, 403, 409, 422)),
        ("/api/v1/audit", "get"): Op(
            "The tenant's audit log, newest first (logins, users, passwords, TOTP, API keys, SLA saves, case "
            "actions, exports); append-only", "accounts", query=AuditArgs, roles=("group_admin",),
            errors=(401, 403, 422)),
        ("/api/v1/audit/export.{fmt}", "get"): Op(
            "The filtered audit log as CSV (UTF-8 with BOM) or XLSX, at most 10,000 rows, headers in the caller's "
            "language; formula-safe cells; the export is audited", "accounts", query=AuditExportArgs,
            roles=("group_admin",), errors=(401, 403, 404, 422), content="application/octet-stream"),
        ("/api/v1/users", "get"): Op("The tenant's users with roles, TOTP and active flag", "accounts",
                                     roles=("group_admin",), errors=(401, 403)),
        ("/api/v1/users", "post"): Op("Create a user; the initial password is in this answer only", "accounts",
                                      body=UserCreateSchema, roles=("group_admin",), ok=201,
                                      errors=(401, 403, 409, 422)),
        ("/api/v1/users/{user_id}", "patch"): Op(
            "Change a user's display name, e-mail address (for self-service password reset), active flag or roles "
            "(deactivation and role changes end their tokens)",
            "accounts", body=UserPatchSchema, roles=("group_admin",), errors=(401, 403, 404, 422)),
        ("/api/v1/users/{user_id}/password-reset", "post"): Op(
            "A one-time password reset link for the user (1 h), in this answer only", "accounts",
            roles=("group_admin",), ok=201, errors=(401, 403, 404)),
        ("/api/v1/users/{user_id}/totp", "delete"): Op("Reset the user's TOTP (they set it up again)", "accounts",
                                                       roles=("group_admin",), errors=(401, 403, 404)),
        ("/api/v1/me/password", "post"): Op(
            "Change my password (current one required); every token of mine ends", "accounts",
            body=PasswordChangeSchema, errors=(401, 422)),
        ("/api/v1/me/totp", "post"): Op("Start TOTP enrolment: secret, otpauth URI and QR code (SVG)", "accounts",
                                        ok=201, errors=(401, 409)),
        ("/api/v1/me/totp/confirm", "post"): Op(
            "Turn TOTP on with a first code; the ten recovery codes are in this answer only", "accounts",
            body=TotpCodeSchema, errors=(401, 409, 422)),
        ("/api/v1/me/totp/disable", "post"): Op("Turn TOTP off (password and a current code)", "accounts",
                                                body=TotpDisableSchema, errors=(401, 409, 422)),
        ("/api/v1/auth/password-reset", "post"): Op(
            "Set a new password with a reset link's token (once, within an hour)", "auth",
            body=PasswordResetSchema, auth="public", errors=(404, 422)),
    }


class _View(Schema):
    """An answer's body: the fields named are checked, others are allowed (the service READMEs list them)."""

    class Meta:
        unknown = INCLUDE


class EstateView(_View):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(allow_none=True)
    timezone = fields.String(allow_none=True)
    region = fields.String(allow_none=True)


class LocationView(_View):
    building = fields.String(allow_none=True, metadata={
        "description": "a registered building's code (the estate's directory), or free text where it has none",
        "example": "3栋"})
    facility = fields.String(allow_none=True, metadata={"example": "电梯"})
    building_name = fields.String(allow_none=True, metadata={
        "description": "the directory's name of the building; null when it is not a registered building"})


class ComplaintView(_View):
    id = fields.UUID(required=True)
    reference = fields.String(required=True, metadata={"example": "TS20261124-7KQ2MX"})
    status = fields.String(allow_none=True)
    estate = fields.Dict(allow_none=True)
    channel = fields.String()
    category = fields.String(allow_none=True)
    severity = fields.String(allow_none=True)
    complainant = fields.Dict(allow_none=True)
    received_at = fields.DateTime()
    location = fields.Nested(LocationView, allow_none=True, metadata={
        "description": "where in the estate; null when the complaint names no place"})
    case = fields.Dict(allow_none=True, metadata={"description": "workflow's case: deadlines, timeline, version"})
    timeline = fields.List(fields.Dict())


# 2xx bodies by name (``Op.returns``): a marshmallow schema, or ("array", schema) for a JSON list of them
RESPONSES = {"ComplaintView": ComplaintView, "EstateList": ("array", EstateView)}

# answered by any operation of the kind, whatever its own errors: a NUL character or a malformed body (400),
# a bearer token or API key missing or wrong (401), a body too large or not JSON (413, 415), the sign-in
# limits (429), a service or database that cannot be reached (503, with Retry-After)
COMMON_ERRORS = {"all": (400, 503), "auth": (401,), "body": (413, 415)}
RATE_LIMITED = {("/api/v1/auth/token", "post"), ("/api/v1/auth/password-reset", "post")}

_STATUS_TEXT = {400: "Bad request", 401: "Not signed in / bad token or key", 403: "Role not allowed",
                404: "Not found (also: another tenant's or estate's)", 409: "Conflict", 413: "Too large",
                422: "Validation failed: details.field names the field", 423: "Account locked",
                428: "If-Match required", 429: "Rate limited", 503: "A service is unavailable"}


def openapi_path(rule: str) -> str:
    return _PARAM.sub(r"{\1}", rule)


def build(operations: dict | None = None, extra: dict | None = None) -> dict:
    """The OpenAPI document. ``extra`` adds operations (e.g. channels registered by other blueprints)."""
    ops = dict(operations or _operations())
    ops.update(extra or {})
    spec = APISpec(title="EstateDesk API", version="1", openapi_version="3.1.0", plugins=[MarshmallowPlugin()],
                   info={"description": "Complaint handling for property-management groups. Errors are "
                                        "`{error, message, details}`; messages are zh-CN unless "
                                        "Accept-Language asks for English."})
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    spec.components.security_scheme("api_key", {"type": "apiKey", "in": "header", "name": "X-Api-Key"})
    spec.components.schema("Error", schema=ErrorSchema)
    for schema in {r[1] for r in RESPONSES.values() if isinstance(r, tuple)}:
        spec.components.schema(schema.__name__, schema=schema)
    for name, schema in RESPONSES.items():
        if not isinstance(schema, tuple):
            spec.components.schema(name, schema=schema)
    by_path: dict = {}
    for (path, method), op in sorted(ops.items()):
        by_path.setdefault(path, {})[method] = _operation(path, method, op)
    for path, operations_ in by_path.items():
        spec.path(path=path, operations=operations_)
    return spec.to_dict()


def _ok_schema(op: Op) -> dict:
    if op.content != "application/json":
        return {"type": "string", "format": "binary"}
    returns = RESPONSES.get(op.returns)
    if isinstance(returns, tuple):
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{returns[1].__name__}"}}
    return {"$ref": f"#/components/schemas/{op.returns}"} if returns else {"type": "object"}


def _common_errors(path: str, method: str, op: Op) -> tuple:
    found = COMMON_ERRORS["all"] if path != "/api/v1/" else (400,)
    if op.auth != "public":
        found += COMMON_ERRORS["auth"]
    if op.body is not None or method in ("post", "put", "patch"):
        found += COMMON_ERRORS["body"]
    return found + ((429,) if (path, method) in RATE_LIMITED or op.auth == "api_key" else ())


def _operation(path: str, method: str, op: Op) -> dict:
    params = [{"in": "path", "name": name, "required": True, "schema": {"type": "string"}}
              for name in re.findall(r"{([a-z_]+)}", path)]
    if op.query is not None:
        params.append({"in": "query", "schema": op.query})
    params += [{"in": "header", "name": name, "required": True, "description": text, "schema": {"type": "string"}}
               for name, text in op.headers.items()]
    ok_schema = _ok_schema(op)
    responses = {str(op.ok): {"description": "OK", "content": {op.content: {"schema": ok_schema}}}}
    for status in sorted(set(op.errors) | set(_common_errors(path, method, op))):
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Error"),
                                  "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    out = {"summary": op.summary, "tags": [op.tag], "parameters": params, "responses": responses,
           "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}"}
    if op.roles:
        out["description"] = "Roles: " + ", ".join(op.roles)
    if op.body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": op.body}}}
    out["security"] = [] if op.auth == "public" else [{"bearer": []}] if op.auth == "bearer" else [{"api_key": []}]
    return out
