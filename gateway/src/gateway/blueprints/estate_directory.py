"""Regions and an estate's buildings and units (``/api/v1/regions``, ``/api/v1/estates/<code>/buildings``,
``/api/v1/estates/<code>/units/import``), owned by intake (``intake.regions_admin``, ``intake.estate_units``).

| route | who | what |
|---|---|---|
| ``GET /regions`` | head office, group admin | ``[{code, name, active, estates}]`` |
| ``POST /regions`` ``{code, name}`` | same | 201; 409 ``region_exists`` |
| ``PUT /regions/<region_code>`` ``{name?, active?}`` | same | 409 ``region_in_use`` (details.estates) when active estates are in it |
| ``GET /estates/<code>/buildings`` | group roles, the estate's site manager | buildings with their units, registered units |
| ``POST /estates/<code>/buildings`` ``{code, name?}`` | group admin, the estate's site manager | 201; 409 ``building_exists`` |
| ``PUT``/``DELETE /estates/<code>/buildings/<building>`` | same | rename ``{name}`` / remove with its units |
| ``POST /estates/<code>/buildings/<building>/units`` ``{code, floor?, area?}`` | same | 201; 409 ``unit_exists`` |
| ``PUT``/``DELETE /estates/<code>/buildings/<building>/units/<unit>`` | same | ``{code?, floor?, area?}`` (a new code renames) / remove |
| ``POST /estates/<code>/units/import`` (multipart ``file``, ``apply``) | same | the plan; ``apply=true`` carries it out (422 with ``details.errors`` if any row is wrong) |

The gateway checks the role; intake checks the estate scope again (another estate or tenant: 404). Import files
are read here (``units_upload``: by content, at most 900 KB and 5,000 units); errors are ``{line, column,
column_label, message}`` in the caller's language. Each change is audited (``audit.AUDITED``: ``region_saved``,
``building_saved``, ``building_removed``, ``unit_saved``, ``unit_removed``, ``units_imported``).
"""
from __future__ import annotations

from flask import Blueprint, g, request
from flask_babel import force_locale
from marshmallow import Schema, fields, validate
from nameko.exceptions import RemoteError

from estatedesk_common.errors import parse_remote

from .. import errors, rpc, units_upload
from ..auth import current_principal
from ..errors import ApiError
from . import load_json
from .estates import CODE_PATTERN

bp = Blueprint("estate_directory", __name__)

REGION_WRITERS = ("group_admin", "head_office")
UNIT_WRITERS = ("group_admin", "site_manager")
UNIT_READERS = (*UNIT_WRITERS, "head_office")


class RegionCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Regexp(CODE_PATTERN),
                         metadata={"description": "2-40 letters, digits, - and _; stored upper-case; never changes"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class RegionChangesSchema(Schema):
    code = fields.String(validate=validate.Regexp(CODE_PATTERN), metadata={"description": "must be the path's"})
    name = fields.String(validate=validate.Length(min=1, max=100))
    active = fields.Boolean(metadata={"description": "false deactivates (only without active estates)"})


class BuildingCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40),
                         metadata={"description": "e.g. 1栋 or A座; never changes"})
    name = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "default: the code"})


class BuildingChangesSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))


class UnitChangesSchema(Schema):
    code = fields.String(validate=validate.Length(min=1, max=40), metadata={"description": "a new code renames"})
    floor = fields.Integer(allow_none=True, strict=True, validate=validate.Range(min=-10, max=300))
    area = fields.Float(allow_none=True, validate=validate.Range(min=0, min_inclusive=False, max=100_000),
                        metadata={"description": "square metres"})


class UnitCreateSchema(UnitChangesSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=40))


def require(*roles: str) -> None:
    if not current_principal().has_role(*roles):
        raise ApiError(403, "forbidden")


def in_scope(code: str) -> str:
    """The estate's code when the caller's roles reach it: a site manager only their estates (else 404, as for
    another tenant's); intake checks again."""
    code = code.strip().upper()[:40]
    roles = current_principal().roles
    if not any(role in ("group_admin", "head_office") or (role == "site_manager" and estate == code)
               for role, estate in roles):
        raise ApiError(404, "estate_not_found")
    return code


@bp.get("/regions")
def list_regions():
    require(*REGION_WRITERS)
    return {"items": rpc.client().call("intake", "list_regions")}


@bp.post("/regions")
def create_region():
    require(*REGION_WRITERS)
    g.directory_saved = rpc.client().call("intake", "create_region", load_json(RegionCreateSchema()))
    return g.directory_saved, 201


@bp.put("/regions/<region_code>")
def update_region(region_code: str):
    require(*REGION_WRITERS)
    data = load_json(RegionChangesSchema())
    g.directory_saved = rpc.client().call("intake", "update_region", region_code[:41], data)
    return g.directory_saved


@bp.get("/estates/<code>/buildings")
def list_buildings(code: str):
    require(*UNIT_READERS)
    return rpc.client().call("intake", "list_buildings", in_scope(code))


@bp.post("/estates/<code>/buildings")
def create_building(code: str):
    require(*UNIT_WRITERS)
    estate, data = in_scope(code), load_json(BuildingCreateSchema())
    g.directory_saved = rpc.client().call("intake", "save_building", estate, data["code"],
                                          {"name": data.get("name")}, True)
    return g.directory_saved, 201


@bp.put("/estates/<code>/buildings/<building>")
def update_building(code: str, building: str):
    require(*UNIT_WRITERS)
    estate, data = in_scope(code), load_json(BuildingChangesSchema())
    g.directory_saved = rpc.client().call("intake", "save_building", estate, building[:41], data, False)
    return g.directory_saved


@bp.delete("/estates/<code>/buildings/<building>")
def delete_building(code: str, building: str):
    require(*UNIT_WRITERS)
    g.directory_saved = rpc.client().call("intake", "remove_building", in_scope(code), building[:41])
    return g.directory_saved


@bp.post("/estates/<code>/buildings/<building>/units")
def create_unit(code: str, building: str):
    require(*UNIT_WRITERS)
    estate, data = in_scope(code), load_json(UnitCreateSchema())
    g.directory_saved = rpc.client().call("intake", "save_unit", estate, building[:41], data.pop("code"), data, True)
    return g.directory_saved, 201


@bp.put("/estates/<code>/buildings/<building>/units/<unit>")
def update_unit(code: str, building: str, unit: str):
    require(*UNIT_WRITERS)
    estate, data = in_scope(code), load_json(UnitChangesSchema())
    g.directory_saved = rpc.client().call("intake", "save_unit", estate, building[:41], unit[:41], data, False)
    return g.directory_saved


@bp.delete("/estates/<code>/buildings/<building>/units/<unit>")
def delete_unit(code: str, building: str, unit: str):
    require(*UNIT_WRITERS)
    g.directory_saved = rpc.client().call("intake", "remove_unit", in_scope(code), building[:41], unit[:41])
    return g.directory_saved


def run_import(estate: str, rows: list[dict], apply: bool) -> tuple[dict, list[dict]]:
    """intake's plan (or the import done) and the errors in the user's language; an applied import with row
    errors answers the plan's errors instead of raising (pages and API show them the same way)."""
    try:
        result = rpc.client().call("intake", "import_units", estate, rows, apply)
    except RemoteError as exc:
        found = parse_remote(exc.value) or {}
        errors = (found.get("details") or {}).get("errors")
        if found.get("error") != "validation_failed" or not isinstance(errors, list):
            raise
        return {"estate": estate, "applied": False, "error_count": found["details"].get("error_count")}, \
            units_upload.shown(errors)
    return result, units_upload.shown(result.get("errors") or [])


@bp.post("/estates/<code>/units/import")
def import_units(code: str):
    with force_locale(errors.locale()):  # messages in the Accept-Language of the caller, like every API error
        return _import_units(code)


def _import_units(code: str):
    require(*UNIT_WRITERS)
    estate = in_scope(code)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError(422, "validation_failed", details={"field": "file"}, field="file")
    apply = (request.form.get("apply") or "").lower() in ("1", "true", "yes")
    rows, errors = units_upload.read_rows(upload.read(units_upload.MAX_FILE_BYTES + 1))
    if errors:
        raise ApiError(422, "validation_failed", details={"field": "file", "errors": units_upload.shown(errors, own=True)},
                       field="file")
    result, errors = run_import(estate, rows, apply)
    if apply and errors:
        raise ApiError(422, "validation_failed", details={"field": "rows", "errors": errors,
                                                          "error_count": result.get("error_count")}, field="rows")
    g.directory_saved = result
    return result | {"errors": errors}
