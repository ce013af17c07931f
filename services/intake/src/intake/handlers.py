"""intake use cases: take a unit of work and a clock, return plain dicts."""
from __future__ import annotations

import hmac
import logging
import uuid

from estatedesk_common.sorting import Sort, parse_sort

from .domain.complaint import CHANNELS, InvalidComplaint, make_reference, new_complaint, to_event_payload
from .exceptions import ComplaintNotFound, EstateNotFound, InvalidFilter, ValidationFailed
from . import attachments, calls, case_status, classification, committee, duplicates, locations, repository

log = logging.getLogger(__name__)

CHANNEL_NAMES_ZH = {"web": "网页", "wechat": "微信公众号", "hotline": "客服热线", "walk_in": "现场接待",
                    "email": "电子邮件", "letter": "信函", "complaint_box": "投诉箱", "committee": "居委会/业委会转达",
                    "head_office": "上级转办", "open311": "城市服务平台"}
assert set(CHANNEL_NAMES_ZH) == set(CHANNELS)
# channels bound to an estate by configuration (a mailbox, a WeChat account): they keep registering at a
# deactivated estate until an operator rebinds them (the mail is not refused and retried forever); everyone else
# is refused ``estate_inactive``
BOUND_CHANNELS = ("email", "wechat")


def register_complaint(data: dict, tenant_id: str, user_id: str | None, uow, classifiers=None,
                       scope=None) -> dict:
    """Validate, classify where the caller gave no category/severity (``classifiers``: a
    ``classification.ClassifierCache``), store the canonical complaint and its ``complaint_received`` event in
    one transaction."""
    if not isinstance(data, dict):
        raise ValidationFailed("complaint must be an object", field="body")
    estate_code = data.get("estate")
    if scope is not None and not (isinstance(estate_code, str) and estate_code.strip() in scope):
        raise EstateNotFound(f"no estate {estate_code!r}", field="estate")  # outside the caller's estates
    files = attachments.parse(data.get("attachments"))  # photos and scans: stored in the same transaction
    with uow:
        match = duplicates.existing(data, tenant_id, user_id, uow, scope, files, attachments.store)
        if match is not None:  # the same complaint again: the first one answers, nothing is doubled
            uow.commit()
            return duplicates.answer(match, tenant_id, uow.engine)
        complaint = add_complaint(data, tenant_id, user_id, uow, classifiers,
                                  raw=attachments.audit_record(data, files))
        stored = attachments.store(uow.conn, tenant_id, complaint.id, files, complaint.received_at,
                                   source=complaint.channel)
        if data.get("call_id") is not None:  # hotline: the call it was recorded from, linked both ways
            calls.link_complaint(uow.conn, tenant_id, data["call_id"], complaint.id, user_id, scope)
        uow.commit()
    log.info("complaint %s received via %s for estate %s", complaint.reference, complaint.channel,
             complaint.estate.code)
    view = complaint_view(to_event_payload(complaint) | {"id": complaint.id, "status": complaint.status,
                                                         "classification": complaint.classification})
    return view | {"attachments": attachments.listing(stored, files), "duplicate": False, "merged_into": None}


def add_complaint(data: dict, tenant_id: str, user_id: str | None, uow, classifiers=None, raw=None, wechat=None):
    """``register_complaint`` inside the caller's open unit of work (no commit): validate, classify, store the
    complaint and its ``complaint_received`` event. Other channels (mail) use it to add their own rows to the
    same transaction. Returns the ``Complaint``. ``wechat`` (``{"app_id", "openid"}``, the WeChat channel): where
    notify can reply, carried as ``complainant.wechat`` in the event only (the audit record keeps it too)."""
    estate_code = data.get("estate")
    if not isinstance(estate_code, str) or not estate_code.strip():
        raise ValidationFailed("estate is required", field="estate")
    estate = repository.get_estate(uow.conn, tenant_id, estate_code.strip())
    if estate is None:
        raise EstateNotFound(f"no estate {estate_code!r}", field="estate")
    if not estate.active and data.get("channel") not in BOUND_CHANNELS:
        raise ValidationFailed(f"estate {estate.code} is no longer active", field="estate", code="estate_inactive")
    try:
        complaint = new_complaint(data, tenant_id, estate, uow.clock.now(), user_id)
    except InvalidComplaint as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc
    # a building the estate's directory does not know is refused (free text where it keeps none)
    complaint.location = locations.checked_location(uow.conn, tenant_id, estate.code, complaint.location)
    classification.classify_new(complaint, uow.conn, classifiers or classification.default_cache())
    # a closed complaint of the owner's on the same issue (``existing`` may have read their history already)
    duplicates.link_repeat(uow.conn, complaint, getattr(uow, "owner_history", None))
    while repository.reference_taken(uow.conn, tenant_id, complaint.reference):
        complaint.reference = make_reference(complaint.received_at, estate.timezone)
    repository.add_complaint(uow.conn, complaint, raw=raw)
    payload = to_event_payload(complaint)
    if wechat:
        payload["complainant"]["wechat"] = dict(wechat)
    uow.publish("complaint_received", tenant_id, payload)
    return complaint


def get_complaint(complaint_id: str, tenant_id: str, engine) -> dict:
    try:
        uuid.UUID(str(complaint_id))
    except ValueError:
        raise ComplaintNotFound("no such complaint", field="id") from None
    with engine.connect() as conn:
        row = repository.get_complaint_row(conn, tenant_id, str(complaint_id))
        notes = repository.list_notes(conn, tenant_id, str(complaint_id)) if row is not None else []
        files = repository.list_attachments(conn, tenant_id, str(complaint_id)) if row is not None else []
        repeat = duplicates.repeat_link(conn, tenant_id, row) if row is not None else None
        building = (locations.building_name(conn, tenant_id, row["estate_code"], row["location_building"])
                    if row is not None else None)
    if row is None:
        raise ComplaintNotFound("no such complaint", field="id")
    view = complaint_view({
        "id": row["id"], "reference": row["reference"], "status": row["status"],
        "estate": {"code": row["estate_code"], "name": row["estate_name"], "kind": row["estate_kind"],
                   "timezone": row["estate_timezone"], "region": row["estate_region"]},
        "channel": row["channel"], "description": row["description"],
        "complainant": {"name": row["complainant_name"], "phone": row["complainant_phone"],
                        "email": row["complainant_email"], "unit": row["complainant_unit"]},
        "category": row["category"], "severity": row["severity"], "urgent": row["urgent"],
        "category_source": row["category_source"], "severity_source": row["severity_source"],
        "classification": row["classification"],
        "received_at": row["received_at"].isoformat(), "received_by": row["received_by"],
        "committee_received_at": (row["committee_received_at"].isoformat()
                                  if row["committee_received_at"] else None),
        "forwarded_by": row["forwarded_by"], "instructions": row["instructions"],
        "external_id": row["external_id"], "repeat_of": repeat,
        "location": ({"building": row["location_building"], "facility": row["location_facility"],
                      "building_name": building}  # the directory's name; null when not a registered building
                     if row["location_building"] or row["location_facility"] else None),
        "closed_at": row["closed_at"].isoformat() if row["closed_at"] else None,
    })
    view["timeline"] += [{"at": n["at"].isoformat(), "kind": n["kind"], "actor": n["actor"], "text": n["text"]}
                         for n in notes]
    view["attachments"] = [{"id": f["id"], "filename": f["filename"], "content_type": f["content_type"],
                            "size": f["size"], "sha256": f["sha256"]} for f in files]
    view["call_id"] = row["call_id"]  # hotline: the CTI call it was recorded from (calls.py)
    return view


def complaint_view(c: dict) -> dict:
    view = {k: c[k] for k in ("id", "reference", "status", "estate", "channel", "category", "severity",
                              "urgent", "description", "complainant", "received_at", "received_by")}
    view.update({k: c.get(k) for k in ("category_source", "severity_source", "classification",
                                       "committee_received_at", "forwarded_by", "instructions",
                                       "external_id", "repeat_of", "closed_at", "location")})
    view["timeline"] = [{
        "at": c["received_at"], "kind": "complaint_received", "actor": c["received_by"] or c["channel"],
        "text": f"经{CHANNEL_NAMES_ZH[c['channel']]}受理，编号 {c['reference']}" + committee.received_note(c),
    }] + duplicates.repeat_timeline(c)
    return view


def list_estates(tenant_id: str, engine) -> list[dict]:
    with engine.connect() as conn:
        return [estate_view(e) for e in repository.list_estates(conn, tenant_id)]


def estate_view(e) -> dict:
    """An estate as ``list_estates`` and the estates administration answer it."""
    return {"code": e.code, "name": e.name, "kind": e.kind, "timezone": e.timezone, "region": e.region,
            "units": e.units, "address": e.address, "active": e.active}


LIST_LIMIT_MAX = 200


def list_complaints(tenant_id: str, user_id: str | None, engine, estate=None, status=None, channel=None,
                    limit=50, offset=0, mine=False, scope=None, sort=None, order=None) -> dict:
    """The tenant's complaints, newest first, filtered by estate/status/channel (and, with ``mine``, by who
    recorded them: the caller from the context, never a user id sent by the client). ``sort`` (received_at,
    severity, estate, status) and ``order`` (asc|desc) reorder in the query; others raise ``InvalidSort``.
    ``status`` is the case's (``case_status.LIST_STATUSES``: received = no case yet); another value raises
    ``InvalidFilter`` (400, field status)."""
    chosen = parse_sort(sort, order, repository.COMPLAINT_SORTS, Sort("received_at", descending=True))
    filters = {"estate": _optional_text(estate, "estate", 40), "status": status if status != "" else None,
               "channel": _optional_text(channel, "channel", 20)}
    if filters["status"] is not None and filters["status"] not in case_status.LIST_STATUSES:
        raise InvalidFilter(f"status must be one of {', '.join(case_status.LIST_STATUSES)}", field="status",
                            details={"allowed": list(case_status.LIST_STATUSES)})
    if filters["channel"] is not None and filters["channel"] not in CHANNELS:
        raise ValidationFailed(f"unknown channel {channel!r}", field="channel")
    limit, offset = _bounded_int(limit, "limit", 1, LIST_LIMIT_MAX), _bounded_int(offset, "offset", 0, 10**9)
    if (mine and not user_id) or (scope is not None and not scope):
        return {"total": 0, "items": []}
    with engine.connect() as conn:
        total, rows = repository.list_complaints(conn, tenant_id, received_by=user_id if mine else None,
                                                 estate_scope=scope,
                                                 limit=limit, offset=offset, sort=chosen.key,
                                                 descending=chosen.descending, **filters)
    items = [{"id": r["id"], "reference": r["reference"], "status": r["status"], "estate_code": r["estate_code"],
              "estate_name": r["estate_name"], "channel": r["channel"], "category": r["category"],
              "severity": r["severity"], "received_at": r["received_at"].isoformat(),
              "complainant_name": r["complainant_name"]} for r in rows]
    return {"total": total, "items": items}


def find_by_reference(reference, phone, tenant_id: str, engine) -> dict:
    """The complaint with this reference if ``phone`` is its complainant's phone (digits compared).

    An unknown reference and a wrong phone raise the same ``ComplaintNotFound``, so the answer does not tell
    which references exist."""
    wanted = _digits(phone)
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 32 or not wanted:
        raise ComplaintNotFound("no such complaint", field="reference")
    with engine.connect() as conn:
        found = repository.get_complaint_id_by_reference(conn, tenant_id, reference.strip().upper())
    if found is None or not hmac.compare_digest(_digits(found[1]), wanted):
        raise ComplaintNotFound("no such complaint", field="reference")
    return get_complaint(found[0], tenant_id, engine)


def _digits(value) -> str:
    return "".join(ch for ch in value if ch.isdigit()) if isinstance(value, str) else ""


def _optional_text(value, field: str, max_len: int) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise ValidationFailed(f"{field} must be a string of at most {max_len} characters", field=field)
    return value


def _bounded_int(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationFailed(f"{field} must be an integer from {low} to {high}", field=field)
    return value


def operator_log(list_log, tenant_id: str, engine, limit=50) -> dict:
    """A channel's log for an operator (``list_log(conn, tenant_id, limit)`` -> ``{"messages", "rejects"}``):
    outcomes and refusals with their times, never the raw sources."""
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 200:
        raise ValidationFailed("limit must be an integer from 1 to 200", field="limit")
    with engine.connect() as conn:
        found = list_log(conn, tenant_id, limit)
    for row in found["messages"]:
        row["received_at"] = row["received_at"].isoformat()
    for row in found["rejects"]:
        row["rejected_at"] = row["rejected_at"].isoformat()
    return found

