"""Where in the estate a complaint is about (``location`` {building, facility}) checked against the estate's
building directory, and the buildings the complaint forms offer.

- An estate with registered buildings (``estate_units``) accepts only one of them: its code, or its name as
  the directory spells it (case and surrounding spaces ignored); the complaint stores the code, the directory's
  key, so reporting's hot spots by building count one building once whatever the form sent. Anything else is
  ``building_unknown`` (422, field ``location.building``, ``details.buildings`` = the codes). "Other / unknown"
  is no building at all.
- An estate without registered buildings accepts the building as free text (the estate is not administered yet).
- ``building_choices`` answers the forms (hotline console, committee, the owner's public form): code and name
  only, within the caller's estates (``scope``), never units or anything else of the directory.
"""
from __future__ import annotations

import re

from sqlalchemy import select

from .exceptions import ValidationFailed
from .tables import buildings

MAX_CHOICE_ESTATES = 500
_NUMBER = re.compile(r"(\d+)")


def natural_key(code: str) -> list:
    """``2栋`` before ``10栋``: digit runs compared as numbers."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in _NUMBER.split(code) if part]


def _registered(conn, tenant_id: str, estate_code: str) -> list:
    return conn.execute(select(buildings.c.code, buildings.c.name)
                        .where(buildings.c.tenant_id == tenant_id, buildings.c.estate_code == estate_code)
                        .order_by(buildings.c.code)).all()


def checked_location(conn, tenant_id: str, estate_code: str, location: dict | None) -> dict | None:
    """``location`` with its building as the directory's code; raises ``ValidationFailed`` (code
    ``building_unknown``) for a building the estate does not have, when it has any registered."""
    if not location or not location.get("building"):
        return location
    registered = _registered(conn, tenant_id, estate_code)
    if not registered:
        return location  # directory not kept for this estate: free text
    wanted = location["building"].strip().casefold()
    for row in registered:
        if wanted in (row.code.strip().casefold(), row.name.strip().casefold()):
            return dict(location, building=row.code)
    raise ValidationFailed(f"estate {estate_code} has no building {location['building']!r}",
                           field="location.building", code="building_unknown",
                           details={"buildings": [r.code for r in registered][:200]})


def building_name(conn, tenant_id: str, estate_code: str, code: str | None) -> str | None:
    """The directory's name of a complaint's building (None when it is not a registered building)."""
    if not code:
        return None
    return conn.execute(select(buildings.c.name).where(
        buildings.c.tenant_id == tenant_id, buildings.c.estate_code == estate_code,
        buildings.c.code == code)).scalar()


def building_choices(estates, tenant_id: str, engine, scope=None) -> dict:
    """``{estate code: [{"code", "name"}, ...]}`` for the estates asked (None: every estate of the tenant), limited
    to the caller's ``scope``; an estate without registered buildings is absent (its forms take free text)."""
    if estates is not None:
        if not isinstance(estates, (list, tuple)) or len(estates) > MAX_CHOICE_ESTATES or not all(
                isinstance(e, str) and 0 < len(e) <= 40 for e in estates):
            raise ValidationFailed("estates must be a list of estate codes", field="estates")
    query = select(buildings.c.estate_code, buildings.c.code, buildings.c.name).where(
        buildings.c.tenant_id == tenant_id)
    if estates is not None:
        query = query.where(buildings.c.estate_code.in_([e.strip() for e in estates]))
    if scope is not None:
        query = query.where(buildings.c.estate_code.in_(sorted(scope)))
    found: dict[str, list] = {}
    with engine.connect() as conn:
        for row in conn.execute(query.order_by(buildings.c.estate_code, buildings.c.code)):
            found.setdefault(row.estate_code, []).append({"code": row.code, "name": row.name})
    return {estate: sorted(rows, key=lambda b: natural_key(b["code"])) for estate, rows in found.items()}
