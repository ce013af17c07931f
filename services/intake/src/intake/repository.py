"""Queries on intake's tables. Every query filters by tenant."""
from __future__ import annotations

from sqlalchemy import select

from .domain.complaint import Complaint, Estate
from .tables import complaints, estates


def get_estate(conn, tenant_id: str, code: str) -> Estate | None:
    row = conn.execute(select(estates).where(estates.c.tenant_id == tenant_id, estates.c.code == code)).first()
    if row is None:
        return None
    return Estate(code=row.code, name=row.name, kind=row.kind, timezone=row.timezone, region=row.region_code)


def list_estates(conn, tenant_id: str) -> list[Estate]:
    rows = conn.execute(select(estates).where(estates.c.tenant_id == tenant_id).order_by(estates.c.code))
    return [Estate(code=r.code, name=r.name, kind=r.kind, timezone=r.timezone, region=r.region_code) for r in rows]


def reference_taken(conn, tenant_id: str, reference: str) -> bool:
    q = select(complaints.c.id).where(complaints.c.tenant_id == tenant_id, complaints.c.reference == reference)
    return conn.execute(q).first() is not None


def add_complaint(conn, c: Complaint, raw: dict | None) -> None:
    conn.execute(complaints.insert().values(
        tenant_id=c.tenant_id, id=c.id, reference=c.reference, estate_code=c.estate.code, channel=c.channel,
        description=c.description, complainant_name=c.complainant.name, complainant_phone=c.complainant.phone,
        complainant_email=c.complainant.email, complainant_unit=c.complainant.unit, category=c.category,
        severity=c.severity, urgent=c.urgent, status=c.status, received_at=c.received_at,
        received_by=c.received_by, schema_version=c.schema_version, raw=raw,
    ))


def get_complaint_row(conn, tenant_id: str, complaint_id: str):
    q = (select(complaints, estates.c.name.label("estate_name"), estates.c.kind.label("estate_kind"),
                estates.c.timezone.label("estate_timezone"), estates.c.region_code.label("estate_region"))
         .join(estates, (estates.c.tenant_id == complaints.c.tenant_id) & (estates.c.code == complaints.c.estate_code))
         .where(complaints.c.tenant_id == tenant_id, complaints.c.id == complaint_id))
    return conn.execute(q).mappings().first()
