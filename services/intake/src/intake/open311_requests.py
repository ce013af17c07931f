"""Queries behind the gateway's Open311 GeoReport v2 channel (``docs/open311.md``).

- ``list_categories``: the tenant's classification categories (Open311 "services") with their keywords.
- ``list_open311_requests``: complaints received through the ``open311`` channel, newest first, filtered by
  reference, estate, category and receipt time. Each carries only the public part of the form the client sent
  (kept whole in ``complaints.raw["open311"]``): location, media URL, the client's own description. Phone,
  e-mail, names, device and account ids never leave intake through here (the spec calls them private).

Only ``open311`` complaints are listed: complaints from the hotline, the desk or the mailbox were given to the
property company, not published to a 311 feed, and their records name the owner.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from .classification import ClassifierCache
from .domain.classify import default_rules
from .exceptions import ValidationFailed
from .classification_repository import rules as tenant_rules
from .tables import complaints, estates

CHANNEL = "open311"
PUBLIC_FIELDS = ("lat", "long", "address_string", "address_id", "media_url", "description")
MAX_LIMIT = 1000
MAX_REFERENCES = 1000
KEYWORDS_PER_CATEGORY = 8


def list_categories(tenant_id: str, engine, classifiers: ClassifierCache) -> list[dict]:
    """``[{key, name, name_en, keywords}]`` in the tenant's order; keywords are its strongest rules first."""
    with engine.connect() as conn:
        tenant = classifiers.get(conn, tenant_id)
        rules = tenant_rules(conn, tenant_id)
    rules = default_rules() if rules is None else rules
    out = []
    for key, name_zh, name_en in tenant.categories:
        mine = sorted((r for r in rules if r.category == key), key=lambda r: (-r.weight, r.keyword))
        out.append({"key": key, "name": name_zh, "name_en": name_en,
                    "keywords": [r.keyword for r in mine[:KEYWORDS_PER_CATEGORY]]})
    return out


def _instant(value, field: str) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = dt.datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed(f"{field} must be an ISO 8601 date-time", field=field) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} needs a UTC offset", field=field)
    return parsed


def _references(references) -> list[str] | None:
    if references is None:
        return None
    if not isinstance(references, (list, tuple)) or len(references) > MAX_REFERENCES:
        raise ValidationFailed(f"references must be a list of at most {MAX_REFERENCES}", field="references")
    return sorted({str(r).strip().upper()[:32] for r in references if str(r).strip()})


def list_open311_requests(tenant_id: str, engine, references=None, estate=None, category=None, received_from=None,
                          received_to=None, limit=MAX_LIMIT, offset=0) -> dict:
    """``{"items": [...], "more": bool}`` newest first; ``more`` says a next page (``offset + limit``) exists."""
    refs = _references(references)
    start, end = _instant(received_from, "received_from"), _instant(received_to, "received_to")
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be an integer from 1 to {MAX_LIMIT}", field="limit")
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise ValidationFailed("offset must be a non-negative integer", field="offset")
    where = [complaints.c.tenant_id == tenant_id, complaints.c.channel == CHANNEL]
    if refs is not None:
        if not refs:
            return {"items": [], "more": False}
        where.append(complaints.c.reference.in_(refs))
    for column, value in ((complaints.c.estate_code, estate), (complaints.c.category, category)):
        if value not in (None, ""):
            where.append(column == str(value))
    if start is not None:
        where.append(complaints.c.received_at >= start)
    if end is not None:
        where.append(complaints.c.received_at <= end)
    q = (select(complaints.c.id, complaints.c.reference, complaints.c.estate_code, complaints.c.category,
                complaints.c.status, complaints.c.received_at, complaints.c.raw, estates.c.name.label("estate_name"),
                estates.c.timezone.label("timezone"))
         .join(estates, (estates.c.tenant_id == complaints.c.tenant_id) & (estates.c.code == complaints.c.estate_code))
         .where(*where).order_by(complaints.c.received_at.desc(), complaints.c.id).limit(limit + 1).offset(offset))
    with engine.connect() as conn:
        rows = conn.execute(q).mappings().all()
    return {"items": [_item(r) for r in rows[:limit]], "more": len(rows) > limit}


def _item(row) -> dict:
    form = (row["raw"] or {}).get(CHANNEL) or {}
    return {"id": row["id"], "reference": row["reference"], "estate_code": row["estate_code"],
            "estate_name": row["estate_name"], "timezone": row["timezone"], "category": row["category"],
            "status": row["status"], "received_at": row["received_at"].isoformat(),
            "public": {k: form[k] for k in PUBLIC_FIELDS if form.get(k) not in (None, "")}}
