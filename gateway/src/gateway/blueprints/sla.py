"""SLA policy (``/api/v1/sla``), owned by workflow: preview deadlines and read the policy in force.

``POST /sla/preview`` body: ``{"policy"?: object | YAML/JSON string, "estate"?, "received_at", "severity",
"category"?, "channel"?}``. Without ``policy`` the tenant's policy in force for ``estate`` at ``received_at`` is
used. ``GET /sla/policy?estate=CODE[&at=ISO8601]`` returns the layers (group, region, estate) and the merged
document. Both need an SLA role; a role scoped to one estate may only look at that estate. The estate's region
comes from intake's directory (workflow does not own it). A policy that does not validate is 422
``policy_invalid`` with ``details.problems`` [{path, line, problem}]; a year the statutory calendar does not
know is 422 ``calendar_unavailable``.

``PUT /sla/policy`` body ``{"scope": "group"|"region:<code>"|"estate:<code>", "document", "effective_from"?,
"recompute_open"?}`` stores the scope's next version (``may_save``: group_admin any scope; head_office the group's
defaults and the regions'; site_manager their own estate) and
``GET /sla/policy/versions?scope=`` lists versions; see workflow.policy_admin. ``"preset": NAME`` in place of
``document`` stores a shipped preset as that version (a complete one for the group, the handover override for a
region or estate); ``GET /sla/presets`` lists them (``{items: [{name, title, kind, default_severity,
severities, text}]}``, any SLA role: platform data, the same for every tenant).
"""
from __future__ import annotations

from flask import Blueprint, request
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from estatedesk_common import i18n

from .. import rpc
from ..auth import current_principal
from ..errors import ApiError
from . import load_json

bp = Blueprint("sla", __name__)

SLA_ROLES = ("group_admin", "head_office", "site_manager", "cs_supervisor")
MAX_POLICY_TEXT = 64 * 1024

i18n.register({
    "error.policy_invalid": {"zh_CN": "时限策略有误，请按提示的行号修改", "en": "The SLA policy is invalid (see the lines given)"},
    "error.calendar_unavailable": {"zh_CN": "法定节假日日历尚无该年份的数据，无法计算时限",
                                   "en": "The statutory calendar has no data for that year yet"},
})


class PolicyField(fields.Field):
    """A policy document: a JSON object, or YAML/JSON text (parsed and checked by workflow, with line numbers)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, dict):
            return value
        if isinstance(value, str) and value.strip() and len(value) <= MAX_POLICY_TEXT:
            return value
        raise ValidationError("Must be an object or YAML/JSON text (at most 64 KiB).")


class PreviewSchema(Schema):
    policy = PolicyField(load_default=None, allow_none=True)
    estate = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    received_at = fields.AwareDateTime(required=True, format="iso")
    severity = fields.String(required=True, validate=validate.Length(min=1, max=40))
    category = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40))
    channel = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=20))


@bp.post("/sla/preview")
def preview():
    if not any(role in SLA_ROLES for role, _scope in current_principal().roles):
        raise ApiError(403, "forbidden")  # before the body: a role without SLA access learns nothing from a 422
    data = load_json(PreviewSchema())
    _allowed(data["estate"])
    estate = _estate(data["estate"], status=422) if data["estate"] else None  # None: the group's policy
    return rpc.client().call("workflow", "preview_sla", data["policy"], data["received_at"].isoformat(),
                             data["severity"], data["category"], estate, data["channel"])


@bp.get("/sla/policy")
def policy():
    code = request.args.get("estate") or None
    _allowed(code)
    at = request.args.get("at") or None
    if at is not None:
        try:
            at = fields.AwareDateTime(format="iso").deserialize(at).isoformat()
        except ValidationError:
            raise ApiError(422, "validation_failed", details={"field": "at", "fields": {
                "at": ["Not a valid ISO 8601 date-time with an offset."]}}, field="at") from None
    estate = _estate(code, status=404) if code else None
    return rpc.client().call("workflow", "get_sla_policy", estate, at)


class SavePolicySchema(Schema):
    scope = fields.String(required=True, validate=validate.Regexp(
        r"^(group|region:[A-Za-z0-9_\-]{1,40}|estate:[A-Za-z0-9_\-]{1,40})$",
        error="Must be group, region:<code> or estate:<code>."))
    document = PolicyField(load_default=None, metadata={"description": "YAML/JSON text or an object; or preset"})
    preset = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=40),
                           metadata={"description": "a shipped preset's name (GET /sla/presets) instead of document"})
    effective_from = fields.AwareDateTime(load_default=None, allow_none=True, format="iso")
    recompute_open = fields.Boolean(load_default=False)

    @validates_schema
    def _one_source(self, data, **kwargs):
        if (data.get("document") is None) == (data.get("preset") is None):
            raise ValidationError("Give either document or preset.", "document")


@bp.put("/sla/policy")
def save_policy():
    """Store the next version of a scope's policy (workflow ``save_sla_policy``; see workflow.policy_admin).

    ``may_save`` decides who; the answer is workflow's report ``{scope, version, effective_from, recomputed: [...],
    unchanged, failed}``."""
    data = load_json(SavePolicySchema())
    kind, _, code = data["scope"].partition(":")
    if not may_save(current_principal(), data["scope"]):
        raise ApiError(403, "forbidden")
    directory = [{"code": e.get("code"), "region": e.get("region")}
                 for e in rpc.client().call("intake", "list_estates")]
    if kind == "estate" and code not in {e["code"] for e in directory}:
        raise ApiError(422, "validation_failed", details={"field": "scope", "fields": {
            "scope": ["Unknown estate."]}}, field="scope")
    effective = data["effective_from"].isoformat() if data["effective_from"] else None
    extra = {"preset": data["preset"]} if data["preset"] else {}
    return rpc.client().call("workflow", "save_sla_policy", data["scope"], data["document"], effective,
                             data["recompute_open"], directory, **extra)


def may_save(principal, scope: str) -> bool:
    """group_admin: any scope. head_office (总部): the group's default policy and the regions' layers (presets
    included), not an estate's override. site_manager: ``estate:<an estate they manage>`` only."""
    kind, _sep, code = scope.partition(":")
    held = {tuple(r) for r in principal.roles}
    if any(role == "group_admin" for role, _where in held):
        return True
    if kind in ("group", "region"):
        return any(role == "head_office" for role, _where in held)
    return ("site_manager", code) in held


@bp.get("/sla/presets")
def presets():
    """The shipped presets a group can pick (and the handover override), with their text."""
    if not any(role in SLA_ROLES for role, _scope in current_principal().roles):
        raise ApiError(403, "forbidden")
    return rpc.client().call("workflow", "list_sla_presets")


@bp.get("/sla/policy/versions")
def policy_versions():
    """``?scope=`` (optional): the stored versions, newest first. Estate-scoped SLA roles see their estates'."""
    scope = request.args.get("scope") or None
    principal = current_principal()
    scopes = [s for role, s in principal.roles if role in SLA_ROLES]
    if not scopes:
        raise ApiError(403, "forbidden")
    items = rpc.client().call("workflow", "list_sla_policy_versions", scope)["items"]
    if None not in scopes:  # a site role: its estates' scopes, and the group/region layers they inherit
        items = [i for i in items if not i["scope"].startswith("estate:") or i["scope"][7:] in scopes]
    return {"items": items}


def _allowed(estate: str | None) -> None:
    """An SLA role for the whole group, or for this very estate."""
    principal = current_principal()
    scopes = [scope for role, scope in principal.roles if role in SLA_ROLES]
    if not scopes:
        raise ApiError(403, "forbidden")
    if None not in scopes and (estate is None or estate not in scopes):
        raise ApiError(403, "forbidden")


def _estate(code: str, status: int) -> dict:
    """``{"code", "region"}`` from intake's estate directory."""
    for estate in rpc.client().call("intake", "list_estates"):
        if estate.get("code") == code:
            return {"code": code, "region": estate.get("region")}
    if status == 404:
        raise ApiError(404, "estate_not_found", details={"field": "estate"})
    raise ApiError(422, "validation_failed", details={"field": "estate", "fields": {"estate": ["Unknown estate."]}},
                   field="estate")
