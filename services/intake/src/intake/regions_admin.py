"""Head office's regions (the console's 区域管理 page, ``/api/v1/regions``): add a region of the caller's tenant,
rename it, deactivate it. Like estates, regions are never deleted: estates, workflow's ``region:<code>`` policy
layers and reporting's league table filter name them by code.

- ``code`` is given once, upper-cased, ``[A-Z0-9][A-Z0-9_-]{1,39}``, and never changed; only the name changes.
- A region is deactivated only when no active estate is in it (``region_in_use``, naming them); a deactivated
  region is no longer offered for an estate and refused on an estate's save, unless the estate is in it already.
- No ``region_saved`` event: no other service keeps region names. Workflow and reporting know a region only by
  the code each estate carries (``complaint_received`` snapshots and ``estate_saved``), the console shows names
  from intake (``list_regions``), so a rename reaches every page at once and a code never changes.

Writes need ``group_admin`` or ``head_office`` (``estates_admin.WRITERS``); a call without roles is a trusted
service. The gateway audits each save as ``region_saved`` from the answer (``created``, ``changed``).
"""
from __future__ import annotations

from sqlalchemy import func, select, update

from estatedesk_common.errors import Conflict, NotFound

from .estates_admin import _require_writer, _text, parse_code
from .exceptions import ValidationFailed
from .tables import estates, regions

FIELDS = ("code", "name", "active")


class RegionExists(Conflict):
    code = "region_exists"


class RegionInUse(Conflict):
    code = "region_in_use"


class RegionNotFound(NotFound):
    code = "region_not_found"


def list_regions(tenant_id: str, engine) -> list[dict]:
    """The group's regions ``[{code, name, active, estates}]`` (``estates``: how many active estates are in it)."""
    counts = (select(estates.c.region_code, func.count().label("n"))
              .where(estates.c.tenant_id == tenant_id, estates.c.active.is_(True))
              .group_by(estates.c.region_code).subquery())
    with engine.connect() as conn:
        rows = conn.execute(select(regions.c.code, regions.c.name, regions.c.active, counts.c.n)
                            .select_from(regions.outerjoin(counts, counts.c.region_code == regions.c.code))
                            .where(regions.c.tenant_id == tenant_id).order_by(regions.c.code))
        return [{"code": r.code, "name": r.name, "active": bool(r.active), "estates": int(r.n or 0)} for r in rows]


def _view(conn, tenant_id: str, code: str) -> dict:
    row = conn.execute(select(regions.c.code, regions.c.name, regions.c.active)
                       .where(regions.c.tenant_id == tenant_id, regions.c.code == code)).one()
    return {"code": row.code, "name": row.name, "active": bool(row.active)}


def _fields(data: dict, creating: bool) -> dict:
    if not isinstance(data, dict):
        raise ValidationFailed("region must be an object", field="body")
    unknown = sorted(str(k)[:40] for k in data if k not in FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    values = {}
    if creating or "name" in data:
        values["name"] = _text(data.get("name"), "name", 100, required=True)
    if creating or "active" in data:
        active = True if creating and data.get("active") is None else data.get("active")
        if not isinstance(active, bool):
            raise ValidationFailed("active must be true or false", field="active")
        values["active"] = active
    return values


def create_region(data, tenant_id: str, user_id, caller_roles, uow) -> dict:
    _require_writer(caller_roles)
    if not isinstance(data, dict):
        raise ValidationFailed("region must be an object", field="body")
    code = parse_code(data.get("code"))
    values = _fields(data, creating=True)
    with uow:
        if uow.conn.execute(select(regions.c.code).where(regions.c.tenant_id == tenant_id,
                                                         regions.c.code == code)).first() is not None:
            raise RegionExists(f"region {code} exists already", field="code")
        uow.conn.execute(regions.insert().values(tenant_id=tenant_id, code=code, updated_at=uow.clock.now(),
                                                 updated_by=user_id, **values))
        answer = _view(uow.conn, tenant_id, code) | {"created": True, "changed": sorted(FIELDS)}
        uow.commit()
    return answer


def update_region(code, changes, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Rename (``name``) or (de)activate (``active``) one region; ``code`` only if it is the same."""
    _require_writer(caller_roles)
    if not isinstance(code, str) or not code.strip() or len(code) > 40:
        raise RegionNotFound("no such region", field="code")
    code = code.strip().upper()
    if not isinstance(changes, dict):
        raise ValidationFailed("changes must be an object", field="body")
    if "code" in changes and (not isinstance(changes["code"], str) or changes["code"].strip().upper() != code):
        raise ValidationFailed("a region's code cannot change", field="code")
    values = _fields({k: v for k, v in changes.items() if k != "code"}, creating=False)
    key = (regions.c.tenant_id == tenant_id) & (regions.c.code == code)
    with uow:
        before = uow.conn.execute(select(regions).where(key)).mappings().first()
        if before is None:
            raise RegionNotFound(f"no region {code!r}", field="code")
        changed = sorted(k for k, v in values.items() if before[k] != v)
        if "active" in changed and values["active"] is False:
            in_use = uow.conn.execute(select(estates.c.code).where(
                estates.c.tenant_id == tenant_id, estates.c.region_code == code, estates.c.active.is_(True))
                .order_by(estates.c.code).limit(20)).scalars().all()
            if in_use:
                raise RegionInUse(f"region {code} still has active estates: {', '.join(in_use)}", field="active",
                                  details={"estates": list(in_use)})
        if changed:
            uow.conn.execute(update(regions).where(key).values(updated_at=uow.clock.now(), updated_by=user_id,
                                                               **{k: values[k] for k in changed}))
        answer = _view(uow.conn, tenant_id, code) | {"created": False, "changed": changed}
        uow.commit()
    return answer
