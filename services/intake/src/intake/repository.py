"""Queries on intake's tables. Every query filters by tenant."""
from __future__ import annotations

from sqlalchemy import case, func, select

from . import case_status

from estatedesk_common.sorting import SEVERITY_RANK

from .domain.complaint import Complaint, Estate
from .tables import complaint_attachments, complaint_notes, complaints, estates, units


def _unit_rows():
    """The number of an estate's units in the unit directory (a range scan of the units' primary key prefix)."""
    return (select(func.count()).select_from(units)
            .where(units.c.tenant_id == estates.c.tenant_id, units.c.estate_code == estates.c.code)
            .scalar_subquery().label("unit_rows"))


def _estate(row) -> Estate:
    """Registered units: what head office declared (``estates.units``), else the unit directory's count, else
    None."""
    registered = row.units if row.units is not None else (row.unit_rows or None)
    return Estate(code=row.code, name=row.name, kind=row.kind, timezone=row.timezone, region=row.region_code,
                  units=registered, active=bool(row.active), address=row.address or "")


def get_estate(conn, tenant_id: str, code: str) -> Estate | None:
    """The estate with its registered units: the snapshot ``complaint_received`` carries."""
    row = conn.execute(select(estates, _unit_rows())
                       .where(estates.c.tenant_id == tenant_id, estates.c.code == code)).first()
    return None if row is None else _estate(row)


def list_estates(conn, tenant_id: str) -> list[Estate]:
    rows = conn.execute(select(estates, _unit_rows()).where(estates.c.tenant_id == tenant_id)
                        .order_by(estates.c.code))
    return [_estate(r) for r in rows]


def reference_taken(conn, tenant_id: str, reference: str) -> bool:
    q = select(complaints.c.id).where(complaints.c.tenant_id == tenant_id, complaints.c.reference == reference)
    return conn.execute(q).first() is not None


def add_complaint(conn, c: Complaint, raw: dict | None) -> None:
    # parameters apart from the statement: one cached INSERT for every complaint (``.values(...)`` would build
    # and compile a new statement each time)
    conn.execute(complaints.insert(), dict(
        tenant_id=c.tenant_id, id=c.id, reference=c.reference, estate_code=c.estate.code, channel=c.channel,
        description=c.description, complainant_name=c.complainant.name, complainant_phone=c.complainant.phone,
        complainant_email=c.complainant.email, complainant_unit=c.complainant.unit, category=c.category,
        severity=c.severity, category_source=c.category_source, severity_source=c.severity_source,
        classification=c.classification, urgent=c.urgent, status=c.status, received_at=c.received_at,
        received_by=c.received_by, schema_version=c.schema_version, raw=raw,
        committee_received_at=c.committee_received_at, forwarded_by=c.forwarded_by, instructions=c.instructions,
        external_id=c.external_id, repeat_of=(c.repeat_of or {}).get("complaint_id"),
        repeat_count=(c.repeat_of or {}).get("repeat_count", 0),
        location_building=(c.location or {}).get("building"), location_facility=(c.location or {}).get("facility"),
    ))


def get_complaint_row(conn, tenant_id: str, complaint_id: str):
    q = (select(complaints, estates.c.name.label("estate_name"), estates.c.kind.label("estate_kind"),
                estates.c.timezone.label("estate_timezone"), estates.c.region_code.label("estate_region"))
         .join(estates, (estates.c.tenant_id == complaints.c.tenant_id) & (estates.c.code == complaints.c.estate_code))
         .where(complaints.c.tenant_id == tenant_id, complaints.c.id == complaint_id))
    return conn.execute(q).mappings().first()


def list_complaints(conn, tenant_id: str, *, estate: str | None = None, status: str | None = None,
                    channel: str | None = None, received_by: str | None = None, limit: int = 50,
                    offset: int = 0, estate_scope=None, sort: str = "received_at",
                    descending: bool = True) -> tuple[int, list]:
    """``(total, rows)``: the tenant's complaints matching every given filter, newest first unless ``sort`` (one
    of ``COMPLAINT_SORTS``) says otherwise; ties by newest received, then id (one order across pages). ``status``
    and the rows' status are the case's (``case_status.LIST_STATUSES``): intake's own (received) until a case
    is opened."""
    where = [complaints.c.tenant_id == tenant_id]
    if estate_scope is not None:  # the caller's estates
        where.append(complaints.c.estate_code.in_(sorted(estate_scope)))
    for column, value in ((complaints.c.estate_code, estate), (complaints.c.channel, channel),
                          (complaints.c.received_by, received_by)):
        if value is not None:
            where.append(column == value)
    if status is not None:  # the index's form (ix_complaints_case_status), not the coalesce below
        where += ([complaints.c.case_status.is_(None), complaints.c.status == status]
                  if status == case_status.NO_CASE else [complaints.c.case_status == status])
    total = conn.execute(select(func.count()).select_from(complaints).where(*where)).scalar_one()
    q = (select(complaints.c.id, complaints.c.reference, _status().label("status"), complaints.c.estate_code,
                estates.c.name.label("estate_name"), complaints.c.channel, complaints.c.category,
                complaints.c.severity, complaints.c.received_at, complaints.c.complainant_name)
         .join(estates, (estates.c.tenant_id == complaints.c.tenant_id) & (estates.c.code == complaints.c.estate_code))
         .where(*where)
         .order_by(*_complaint_order(sort, descending))
         .limit(limit).offset(offset))
    return total, list(conn.execute(q).mappings())


COMPLAINT_SORTS = ("received_at", "severity", "estate", "status")
STATUS_RANK = {status: rank for rank, status in enumerate(case_status.LIST_STATUSES)}  # lifecycle


def _status():
    """The status a complaint is listed with: its case's, else intake's own."""
    return func.coalesce(complaints.c.case_status, complaints.c.status)


def _complaint_order(sort: str, descending: bool) -> list:
    severity_rank = case(SEVERITY_RANK, value=complaints.c.severity, else_=-1)
    primary = {"received_at": [complaints.c.received_at], "severity": [severity_rank],
               "estate": [estates.c.name, complaints.c.estate_code],
               "status": [case(STATUS_RANK, value=_status(), else_=len(STATUS_RANK)), _status()]}[sort]
    ordered = [c.desc() if descending else c.asc() for c in primary]
    if sort == "received_at":
        return [*ordered, complaints.c.id.desc() if descending else complaints.c.id]
    return [*ordered, complaints.c.received_at.desc(), complaints.c.id]


def get_complaint_id_by_reference(conn, tenant_id: str, reference: str) -> tuple[str, str] | None:
    """``(id, complainant phone)`` of the tenant's complaint with this reference, or None."""
    q = select(complaints.c.id, complaints.c.complainant_phone).where(
        complaints.c.tenant_id == tenant_id, complaints.c.reference == reference)
    row = conn.execute(q).first()
    return None if row is None else (row.id, row.complainant_phone)


def list_notes(conn, tenant_id: str, complaint_id: str) -> list:
    q = (select(complaint_notes).where(complaint_notes.c.tenant_id == tenant_id,
                                       complaint_notes.c.complaint_id == complaint_id)
         .order_by(complaint_notes.c.at, complaint_notes.c.id))
    return list(conn.execute(q).mappings())


def list_attachments(conn, tenant_id: str, complaint_id: str) -> list:
    """Attachment metadata (not the content)."""
    t = complaint_attachments
    q = (select(t.c.id, t.c.filename, t.c.content_type, t.c.size, t.c.sha256)
         .where(t.c.tenant_id == tenant_id, t.c.complaint_id == complaint_id).order_by(t.c.created_at, t.c.id))
    return list(conn.execute(q).mappings())
