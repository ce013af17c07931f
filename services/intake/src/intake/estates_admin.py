"""Head office's estate directory (the console's 项目管理 page, ``/api/v1/estates``): add an estate of the caller's
tenant, change it, deactivate it. Estates are never deleted: complaints, cases and reports reference them.

- ``code`` is the estate's key everywhere (complaints, workflow's ``estate:<code>`` policy and routing scopes,
  reporting's rows, the owner form's address): given once, upper-cased, ``[A-Z0-9][A-Z0-9_-]{1,39}``, and never
  changed.
- ``units`` are the registered units head office declares (reporting's complaints per 1,000 units); null falls
  back to the unit directory's count (``units`` table, the demo data).
- Every save publishes ``estate_saved`` (the whole estate as saved) in the same transaction. Other services keep
  no estate table of their own: workflow and reporting take the estate (name, kind, timezone, region, units) from
  each ``complaint_received`` snapshot, so a change applies from the next complaint; reporting's estate
  dimension also follows ``estate_saved`` (docs/contracts.md).

Writes need a person holding ``group_admin`` or ``head_office`` (the gateway sends the caller's roles); a call
without roles is a trusted service. Validation errors name the field (``ValidationFailed``).
"""
from __future__ import annotations

import re
import unicodedata
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, update

from estatedesk_common.errors import Conflict, Forbidden

from . import repository
from .exceptions import EstateNotFound, ValidationFailed
from .handlers import estate_view
from .tables import estates, regions

WRITERS = frozenset({"group_admin", "head_office"})
KINDS = ("residential", "office", "commercial", "handover")
FIELDS = ("code", "name", "kind", "region", "timezone", "address", "units", "active")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{1,39}$")
MAX_UNITS = 1_000_000
DEFAULT_ZONE = "Asia/Shanghai"


class EstateExists(Conflict):
    code = "estate_exists"


def _require_writer(roles) -> None:
    if roles is not None and not any(role in WRITERS for role, _estate in roles):
        raise Forbidden("only head office or a group admin manages estates")


def valid_zone(value) -> bool:
    """An IANA zone name the system knows (not a path, not a directory)."""
    if not isinstance(value, str) or not 0 < len(value) <= 64 or value.startswith("/") or ".." in value:
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _text(value, field: str, max_len: int, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationFailed(f"{field} must be text", field=field)
    value = value.strip()
    if required and not value:
        raise ValidationFailed(f"{field} is required", field=field)
    if len(value) > max_len:
        raise ValidationFailed(f"{field}: at most {max_len} characters", field=field)
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in value):
        raise ValidationFailed(f"{field}: no control characters", field=field)
    return value


def parse_code(value) -> str:
    code = value.strip().upper() if isinstance(value, str) else value
    if not isinstance(code, str) or not CODE.match(code):
        raise ValidationFailed("code: 2 to 40 letters, digits, - and _ (starting with a letter or digit)",
                               field="code")
    return code


def parse_fields(data: dict, known_regions: set[str], creating: bool) -> dict:
    """The changed columns from ``data`` (every field on create; only those given on update). Raises
    ``ValidationFailed`` naming the field."""
    if not isinstance(data, dict):
        raise ValidationFailed("estate must be an object", field="body")
    unknown = sorted(str(k)[:40] for k in data if k not in FIELDS)
    if unknown:
        raise ValidationFailed(f"unknown field {unknown[0]!r}", field=unknown[0])
    given = (lambda name: True) if creating else (lambda name: name in data)
    values: dict = {}
    if given("name"):
        values["name"] = _text(data.get("name"), "name", 100, required=True)
    if given("kind"):
        if data.get("kind") not in KINDS:
            raise ValidationFailed(f"kind: one of {', '.join(KINDS)}", field="kind")
        values["kind"] = data["kind"]
    if given("timezone"):
        zone = data.get("timezone")
        zone = DEFAULT_ZONE if creating and zone in (None, "") else zone
        if not valid_zone(zone):
            raise ValidationFailed("timezone: an IANA time zone such as Asia/Shanghai", field="timezone")
        values["timezone"] = zone
    if given("region"):
        region = _text(data.get("region"), "region", 40, required=False) or None
        if region is not None and region not in known_regions:
            raise ValidationFailed(f"no region {region!r} in this group", field="region")
        values["region_code"] = region
    if given("address"):
        values["address"] = _text(data.get("address"), "address", 200, required=False)
    if given("units"):
        units = data.get("units")
        if units is not None and (isinstance(units, bool) or not isinstance(units, int)
                                  or not 1 <= units <= MAX_UNITS):
            raise ValidationFailed(f"units: a whole number from 1 to {MAX_UNITS:,} (or none)", field="units")
        values["units"] = units
    if given("active"):
        active = True if creating and data.get("active") is None else data.get("active")
        if not isinstance(active, bool):
            raise ValidationFailed("active must be true or false", field="active")
        values["active"] = active
    return values


def list_regions(tenant_id: str, engine) -> list[dict]:
    """The group's regions ``[{code, name}]`` (an estate's region is one of them)."""
    with engine.connect() as conn:
        rows = conn.execute(select(regions.c.code, regions.c.name).where(regions.c.tenant_id == tenant_id)
                            .order_by(regions.c.code))
        return [{"code": r.code, "name": r.name} for r in rows]


def _region_codes(conn, tenant_id: str) -> set[str]:
    """The active regions an estate may be put in (regions_admin: a deactivated one is offered no more)."""
    return set(conn.execute(select(regions.c.code).where(regions.c.tenant_id == tenant_id,
                                                         regions.c.active.is_(True))).scalars())


def _saved(uow, tenant_id: str, code: str, user_id, created: bool, changed: list[str]) -> dict:
    """Publish ``estate_saved`` with the estate as now stored; the answer is the estate plus ``created`` and
    ``changed`` (the fields whose value changed: the gateway's audit row)."""
    view = estate_view(repository.get_estate(uow.conn, tenant_id, code))
    at = uow.clock.now()
    uow.publish("estate_saved", tenant_id, {"estate": view, "created": created, "changed": changed,
                                            "by": user_id, "at": at.isoformat()})
    return view | {"created": created, "changed": changed}


def create_estate(data, tenant_id: str, user_id, caller_roles, uow) -> dict:
    _require_writer(caller_roles)
    if not isinstance(data, dict):
        raise ValidationFailed("estate must be an object", field="body")
    code = parse_code(data.get("code"))
    with uow:
        values = parse_fields(data, _region_codes(uow.conn, tenant_id), creating=True)
        exists = uow.conn.execute(select(estates.c.code).where(estates.c.tenant_id == tenant_id,
                                                               estates.c.code == code)).first()
        if exists is not None:
            raise EstateExists(f"estate {code} exists already", field="code")
        now = uow.clock.now()
        uow.conn.execute(estates.insert().values(tenant_id=tenant_id, code=code, created_at=now, updated_at=now,
                                                 updated_by=user_id, **values))
        answer = _saved(uow, tenant_id, code, user_id, True, sorted(FIELDS))
        uow.commit()
    return answer


def update_estate(code, changes, tenant_id: str, user_id, caller_roles, uow) -> dict:
    """Change some fields of one estate (``changes``: any of name, kind, region, timezone, address, units,
    active; ``code`` only if it is the same: a code never changes)."""
    _require_writer(caller_roles)
    if not isinstance(code, str) or not code.strip() or len(code) > 40:
        raise EstateNotFound("no such estate", field="code")
    code = code.strip().upper()
    if not isinstance(changes, dict):
        raise ValidationFailed("changes must be an object", field="body")
    if "code" in changes and (not isinstance(changes["code"], str) or changes["code"].strip().upper() != code):
        raise ValidationFailed("an estate's code cannot change", field="code")
    changes = {k: v for k, v in changes.items() if k != "code"}
    key = (estates.c.tenant_id == tenant_id) & (estates.c.code == code)
    with uow:
        before = uow.conn.execute(select(estates).where(key)).mappings().first()
        if before is None:
            raise EstateNotFound(f"no estate {code!r}", field="code")
        known = _region_codes(uow.conn, tenant_id) | ({before["region_code"]} if before["region_code"] else set())
        values = parse_fields(changes, known, creating=False)  # an estate may stay in a deactivated region
        changed = sorted({"region_code": "region"}.get(k, k) for k, v in values.items() if before[k] != v)
        if changed:
            uow.conn.execute(update(estates).where(key).values(updated_at=uow.clock.now(), updated_by=user_id,
                                                               **values))
            answer = _saved(uow, tenant_id, code, user_id, False, changed)
        else:  # nothing changed: no event, no new version
            answer = estate_view(repository.get_estate(uow.conn, tenant_id, code)) | {"created": False,
                                                                                      "changed": []}
        uow.commit()
    return answer
