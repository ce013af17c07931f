"""An estate's buildings and units (楼栋 / 房号; the console's 楼栋与房号 page, ``/api/v1/estates/<code>/buildings``):
list, add, rename and remove them, and import units in bulk from a sheet the gateway has read.

- Who: group admins every estate of the tenant, site managers the estates their role is bound to; head office
  reads. Another estate (or another tenant's) is "not found", as everywhere (``estates_from_roles``).
- A building's code is its key (units and complaints' locations name it): only its name changes; removing a
  building removes its units. A unit is renamed by giving a new ``code`` (nothing references a unit row).
- Imports (``import_units``) are planned first (``domain.unit_directory``): new buildings, units added and
  updated, unchanged, row errors; ``apply`` carries the plan out in one transaction, only when it has no errors.
  Importing the same sheet again changes nothing.
- Registered units (complaints per 1,000 units) fall back to the directory's count when head office declared
  none: whenever a change moves the estate's registered units, ``estate_saved`` is published with ``changed:
  ["units"]`` in the same transaction, so reporting's estate dimension follows at once (``estates_admin._saved``).
"""
from __future__ import annotations

from sqlalchemy import delete, select, update

from estatedesk_common.errors import Conflict, Forbidden, NotFound
from estatedesk_common.tenant import GROUP_ROLES

from . import repository
from .domain import unit_directory as ud
from .estates_admin import _saved
from .exceptions import EstateNotFound, ValidationFailed
from .handlers import estate_view
from .tables import buildings, estates, units

WRITERS = frozenset({"group_admin", "site_manager"})
READERS = WRITERS | GROUP_ROLES
MAX_PREVIEW = 500


class BuildingNotFound(NotFound):
    code = "building_not_found"


class UnitNotFound(NotFound):
    code = "unit_not_found"


class BuildingExists(Conflict):
    code = "building_exists"


class UnitExists(Conflict):
    code = "unit_exists"


def _checked(estate, caller_roles, write: bool, conn, tenant_id: str) -> str:
    """The estate's code when the caller may read (or ``write``) it; 404 outside their estates, 403 for a role
    that never may."""
    if not isinstance(estate, str) or not estate.strip() or len(estate) > 40:
        raise EstateNotFound("no such estate", field="estate")
    code = estate.strip().upper()
    if caller_roles is not None:
        allowed = WRITERS if write else READERS
        roles = [tuple(item) for item in caller_roles if len(item) == 2 and item[0] in allowed]
        if not roles:
            raise Forbidden("only a group admin or the estate's site manager manages buildings and units")
        if not any(role in GROUP_ROLES or bound == code for role, bound in roles):
            raise EstateNotFound(f"no estate {code!r}", field="estate")
    if conn.execute(select(estates.c.code).where(estates.c.tenant_id == tenant_id,
                                                 estates.c.code == code)).first() is None:
        raise EstateNotFound(f"no estate {code!r}", field="estate")
    return code


def _valid(parse, value, column: str):
    """``parse(value)``; its ``InvalidValue`` as ``ValidationFailed`` on the column (``column``: for the reader)."""
    try:
        return parse(value)
    except ud.InvalidValue as exc:
        raise ValidationFailed(exc.message, field=exc.column) from None


def _building_key(tenant_id, estate, code):
    return (buildings.c.tenant_id == tenant_id) & (buildings.c.estate_code == estate) & (buildings.c.code == code)


def _unit_key(tenant_id, estate, building, code):
    return ((units.c.tenant_id == tenant_id) & (units.c.estate_code == estate) & (units.c.building_code == building)
            & (units.c.code == code))


def list_buildings(estate, tenant_id: str, caller_roles, engine) -> dict:
    """``{"estate", "units" (registered), "declared" (head office's figure or null), "counted" (directory rows),
    "buildings": [{"code", "name", "units": [{"code", "floor", "area"}]}]}``."""
    with engine.connect() as conn:
        code = _checked(estate, caller_roles, False, conn, tenant_id)
        found = {b.code: {"code": b.code, "name": b.name, "units": []} for b in conn.execute(
            select(buildings.c.code, buildings.c.name).where(buildings.c.tenant_id == tenant_id,
                                                             buildings.c.estate_code == code)
            .order_by(buildings.c.code))}
        for u in conn.execute(select(units.c.building_code, units.c.code, units.c.floor, units.c.area)
                              .where(units.c.tenant_id == tenant_id, units.c.estate_code == code)
                              .order_by(units.c.building_code, units.c.code)):
            found[u.building_code]["units"].append({"code": u.code, "floor": u.floor, "area": u.area})
        declared = conn.execute(select(estates.c.units).where(estates.c.tenant_id == tenant_id,
                                                              estates.c.code == code)).scalar()
        view = estate_view(repository.get_estate(conn, tenant_id, code))
    return {"estate": code, "units": view["units"], "declared": declared,
            "counted": sum(len(b["units"]) for b in found.values()), "buildings": list(found.values())}


def _after(uow, tenant_id: str, estate: str, user_id, units_before, answer: dict) -> dict:
    """``estate_saved`` when the estate's registered units moved (the directory is what they are counted from)."""
    now = estate_view(repository.get_estate(uow.conn, tenant_id, estate))["units"]
    if now != units_before:
        _saved(uow, tenant_id, estate, user_id, False, ["units"])
    return answer | {"estate": estate, "units_before": units_before, "units_after": now}


def _units_now(conn, tenant_id, estate):
    return estate_view(repository.get_estate(conn, tenant_id, estate))["units"]


def save_building(estate, code, data, create: bool, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Add a building (``create``: ``code`` and an optional ``name``, default the code) or rename one."""
    if not isinstance(data, dict) or any(k not in ("code", "name") for k in data):
        raise ValidationFailed("building: code and name only", field="body")
    with uow:
        estate = _checked(estate, caller_roles, True, uow.conn, tenant_id)
        code = _valid(lambda v: ud.code(v, "building"), code, "building")
        key = _building_key(tenant_id, estate, code)
        before = uow.conn.execute(select(buildings.c.name).where(key)).scalar()
        if create:
            name = _valid(lambda v: ud.clean_text(v, "name", ud.MAX_NAME), data.get("name") or code, "name")
            if before is not None:
                raise BuildingExists(f"building {code} exists already", field="building")
            uow.conn.execute(buildings.insert().values(tenant_id=tenant_id, estate_code=estate, code=code, name=name))
            changed = ["code", "name"]
        else:
            if before is None:
                raise BuildingNotFound(f"no building {code!r}", field="building")
            if "code" in data and data["code"] != code:
                raise ValidationFailed("a building's code cannot change", field="building")
            name = _valid(lambda v: ud.clean_text(v, "name", ud.MAX_NAME), data.get("name"), "name")
            changed = ["name"] if name != before else []
            if changed:
                uow.conn.execute(update(buildings).where(key).values(name=name))
        answer = {"estate": estate, "building": code, "name": name, "created": create, "changed": changed}
        uow.commit()
    return answer


def remove_building(estate, code, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Remove a building and its units."""
    with uow:
        estate = _checked(estate, caller_roles, True, uow.conn, tenant_id)
        code = _valid(lambda v: ud.code(v, "building"), code, "building")
        if uow.conn.execute(select(buildings.c.code).where(_building_key(tenant_id, estate, code))).first() is None:
            raise BuildingNotFound(f"no building {code!r}", field="building")
        before = _units_now(uow.conn, tenant_id, estate)
        removed = uow.conn.execute(delete(units).where(
            units.c.tenant_id == tenant_id, units.c.estate_code == estate, units.c.building_code == code)).rowcount
        uow.conn.execute(delete(buildings).where(_building_key(tenant_id, estate, code)))
        answer = _after(uow, tenant_id, estate, user_id, before, {"building": code, "removed_units": removed})
        uow.commit()
    return answer


def _unit_fields(data: dict, create: bool) -> dict:
    if not isinstance(data, dict) or any(k not in ("code", "floor", "area") for k in data):
        raise ValidationFailed("unit: code, floor and area only", field="body")
    values = {}
    if create or "floor" in data:
        values["floor"] = _valid(ud.floor, data.get("floor"), "floor")
    if create or "area" in data:
        values["area"] = _valid(ud.area, data.get("area"), "area")
    return values


def save_unit(estate, building, code, data, create: bool, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Add a unit to a building (``create``) or change one: a new ``code`` renames it, ``floor``/``area``."""
    values = _unit_fields(data, create)
    with uow:
        estate = _checked(estate, caller_roles, True, uow.conn, tenant_id)
        building = _valid(lambda v: ud.code(v, "building"), building, "building")
        code = _valid(lambda v: ud.code(v, "unit"), code, "unit")
        if uow.conn.execute(select(buildings.c.code).where(_building_key(tenant_id, estate, building))).first() is None:
            raise BuildingNotFound(f"no building {building!r}", field="building")
        before = uow.conn.execute(select(units).where(_unit_key(tenant_id, estate, building, code))).mappings().first()
        units_before = _units_now(uow.conn, tenant_id, estate)
        if create:
            if before is not None:
                raise UnitExists(f"unit {building} {code} exists already", field="unit")
            uow.conn.execute(units.insert().values(tenant_id=tenant_id, estate_code=estate, building_code=building,
                                                   code=code, **values))
            changed, now = ["code", "floor", "area"], code
        else:
            if before is None:
                raise UnitNotFound(f"no unit {building} {code}", field="unit")
            now = _valid(lambda v: ud.code(v, "unit"), data.get("code", code), "unit")
            if now != code and uow.conn.execute(select(units.c.code).where(
                    _unit_key(tenant_id, estate, building, now))).first() is not None:
                raise UnitExists(f"unit {building} {now} exists already", field="unit")
            changed = sorted([k for k, v in values.items() if before[k] != v] + (["code"] if now != code else []))
            if changed:
                uow.conn.execute(update(units).where(_unit_key(tenant_id, estate, building, code))
                                 .values(code=now, **values))
        row = uow.conn.execute(select(units).where(_unit_key(tenant_id, estate, building, now))).mappings().one()
        answer = _after(uow, tenant_id, estate, user_id, units_before, {
            "building": building, "unit": now, "previous_code": None if create or now == code else code,
            "floor": row["floor"], "area": row["area"], "created": create, "changed": changed})
        uow.commit()
    return answer


def remove_unit(estate, building, code, tenant_id: str, user_id, caller_roles, uow) -> dict:
    with uow:
        estate = _checked(estate, caller_roles, True, uow.conn, tenant_id)
        building = _valid(lambda v: ud.code(v, "building"), building, "building")
        code = _valid(lambda v: ud.code(v, "unit"), code, "unit")
        before = _units_now(uow.conn, tenant_id, estate)
        if uow.conn.execute(delete(units).where(_unit_key(tenant_id, estate, building, code))).rowcount != 1:
            raise UnitNotFound(f"no unit {building} {code}", field="unit")
        answer = _after(uow, tenant_id, estate, user_id, before, {"building": building, "unit": code})
        uow.commit()
    return answer


def _existing(conn, tenant_id: str, estate: str) -> tuple[set[str], dict]:
    codes = set(conn.execute(select(buildings.c.code).where(buildings.c.tenant_id == tenant_id,
                                                             buildings.c.estate_code == estate)).scalars())
    found = {(u.building_code, u.code): {"floor": u.floor, "area": u.area} for u in conn.execute(
        select(units.c.building_code, units.c.code, units.c.floor, units.c.area)
        .where(units.c.tenant_id == tenant_id, units.c.estate_code == estate))}
    return codes, found


def _plan_view(plan: ud.ImportPlan) -> list[dict]:
    out = [{"line": r.line, "action": "add", "building": r.building, "unit": r.unit, "floor": r.floor,
            "area": r.area, "before": None} for r in plan.added]
    out += [{"line": r.line, "action": "update", "building": r.building, "unit": r.unit,
             "floor": before["floor"] if r.floor is None else r.floor,
             "area": before["area"] if r.area is None else r.area, "before": before} for r, before in plan.updated]
    return sorted(out, key=lambda c: c["line"])[:MAX_PREVIEW]


def import_units(estate, rows, apply: bool, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Plan (and with ``apply`` carry out) a units import. ``rows``: ``[{"line", "building", "unit", "floor"?,
    "area"?}]``. The answer: ``{"estate", "applied", "buildings_added", "added", "updated", "unchanged",
    "errors", "error_count", "changes" (at most 500), "units_before", "units_after"}``; ``apply`` with any row
    error is ``validation_failed`` (field ``rows``, ``details.errors``) and changes nothing."""
    with uow:
        estate = _checked(estate, caller_roles, True, uow.conn, tenant_id)
        plan = ud.plan_import(rows, *_existing(uow.conn, tenant_id, estate))
        before = _units_now(uow.conn, tenant_id, estate)
        answer = {"estate": estate, "applied": False, "buildings_added": plan.buildings, "added": len(plan.added),
                  "updated": len(plan.updated), "unchanged": plan.unchanged, "errors": plan.errors[:MAX_PREVIEW],
                  "error_count": len(plan.errors), "changes": _plan_view(plan), "units_before": before,
                  "units_after": before}
        if not apply:
            return answer
        if plan.errors:
            raise ValidationFailed(f"{len(plan.errors)} problem(s) in the file; nothing was imported", field="rows",
                                   details={"errors": plan.errors[:MAX_PREVIEW], "error_count": len(plan.errors)})
        if plan.buildings:
            uow.conn.execute(buildings.insert(), [{"tenant_id": tenant_id, "estate_code": estate, "code": b,
                                                   "name": b} for b in plan.buildings])
        if plan.added:
            uow.conn.execute(units.insert(), [{"tenant_id": tenant_id, "estate_code": estate, "building_code": r.building,
                                               "code": r.unit, "floor": r.floor, "area": r.area} for r in plan.added])
        for row, old in plan.updated:
            uow.conn.execute(update(units).where(_unit_key(tenant_id, estate, row.building, row.unit)).values(
                floor=old["floor"] if row.floor is None else row.floor,
                area=old["area"] if row.area is None else row.area))
        answer = _after(uow, tenant_id, estate, user_id, before, answer | {"applied": True})
        uow.commit()
    return answer
