"""intake use cases: take a unit of work and a clock, return plain dicts."""
from __future__ import annotations

import logging
import uuid

from .domain.complaint import CHANNELS, InvalidComplaint, make_reference, new_complaint, to_event_payload
from .exceptions import ComplaintNotFound, EstateNotFound, ValidationFailed
from . import repository

log = logging.getLogger(__name__)

CHANNEL_NAMES_ZH = {"web": "网页", "wechat": "微信公众号", "hotline": "客服热线", "walk_in": "现场接待",
                    "email": "电子邮件", "letter": "信函", "complaint_box": "投诉箱", "committee": "居委会/业委会转达",
                    "head_office": "上级转办", "open311": "城市服务平台"}
assert set(CHANNEL_NAMES_ZH) == set(CHANNELS)


def register_complaint(data: dict, tenant_id: str, user_id: str | None, uow) -> dict:
    """Validate, store the canonical complaint and its ``complaint_received`` event in one transaction."""
    if not isinstance(data, dict):
        raise ValidationFailed("complaint must be an object", field="body")
    estate_code = data.get("estate")
    if not isinstance(estate_code, str) or not estate_code.strip():
        raise ValidationFailed("estate is required", field="estate")
    with uow:
        estate = repository.get_estate(uow.conn, tenant_id, estate_code.strip())
        if estate is None:
            raise EstateNotFound(f"no estate {estate_code!r}", field="estate")
        try:
            complaint = new_complaint(data, tenant_id, estate, uow.clock.now(), user_id)
        except InvalidComplaint as exc:
            raise ValidationFailed(str(exc), field=exc.field) from exc
        while repository.reference_taken(uow.conn, tenant_id, complaint.reference):
            complaint.reference = make_reference(complaint.received_at, estate.timezone)
        repository.add_complaint(uow.conn, complaint, raw=data)
        uow.publish("complaint_received", tenant_id, to_event_payload(complaint))
        uow.commit()
    log.info("complaint %s received via %s for estate %s", complaint.reference, complaint.channel, estate.code)
    return complaint_view(to_event_payload(complaint) | {"id": complaint.id, "status": complaint.status})


def get_complaint(complaint_id: str, tenant_id: str, engine) -> dict:
    try:
        uuid.UUID(str(complaint_id))
    except ValueError:
        raise ComplaintNotFound("no such complaint", field="id") from None
    with engine.connect() as conn:
        row = repository.get_complaint_row(conn, tenant_id, str(complaint_id))
    if row is None:
        raise ComplaintNotFound("no such complaint", field="id")
    return complaint_view({
        "id": row["id"], "reference": row["reference"], "status": row["status"],
        "estate": {"code": row["estate_code"], "name": row["estate_name"], "kind": row["estate_kind"],
                   "timezone": row["estate_timezone"], "region": row["estate_region"]},
        "channel": row["channel"], "description": row["description"],
        "complainant": {"name": row["complainant_name"], "phone": row["complainant_phone"],
                        "email": row["complainant_email"], "unit": row["complainant_unit"]},
        "category": row["category"], "severity": row["severity"], "urgent": row["urgent"],
        "received_at": row["received_at"].isoformat(), "received_by": row["received_by"],
    })


def complaint_view(c: dict) -> dict:
    view = {k: c[k] for k in ("id", "reference", "status", "estate", "channel", "category", "severity",
                              "urgent", "description", "complainant", "received_at", "received_by")}
    view["timeline"] = [{
        "at": c["received_at"], "kind": "complaint_received", "actor": c["received_by"] or c["channel"],
        "text": f"经{CHANNEL_NAMES_ZH[c['channel']]}受理，编号 {c['reference']}",
    }]
    return view


def list_estates(tenant_id: str, engine) -> list[dict]:
    with engine.connect() as conn:
        return [{"code": e.code, "name": e.name, "kind": e.kind, "timezone": e.timezone, "region": e.region}
                for e in repository.list_estates(conn, tenant_id)]
