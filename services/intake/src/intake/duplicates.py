"""Duplicates, repeats and closure on intake's tables (the rules are in ``domain/duplicates.py``).

- ``existing``: before a complaint is stored, is it one intake already has? The same channel message id ->
  that complaint, nothing written. A near-identical text from the same owner at the same estate within 24 h
  of an open complaint -> merged into it: the text becomes a timeline note (``complaint_notes`` kind
  ``duplicate_merged``, the submission as received in ``data``, its files attached to the first complaint)
  and ``complaint_updated`` is written in the same transaction. Either way no second complaint, no second case.
- ``link_repeat``: a new complaint on the issue of one of the owner's complaints closed in the last 90 days is
  linked ``repeat_of`` it (``repeat_count`` counts the chain); ``complaint_received`` carries the link and
  workflow raises the severity.
- ``on_case_closed`` / ``on_case_reopened``: workflow's events keep ``complaints.closed_at``, which is what
  makes a complaint closed for intake (idempotent through the inbox).
- ``register_once``: two arrivals with the same message id racing each other: the loser's insert hits the
  unique index, and it answers with the winner's complaint.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import and_, or_, select, update
from sqlalchemy.exc import IntegrityError

from .domain import duplicates as rules
from .domain.complaint import _CONTROL, InvalidComplaint, parse_complainant
from .exceptions import ValidationFailed
from .tables import complaint_notes, complaints

log = logging.getLogger(__name__)

CONSUMER_CLOSED = "intake.on_case_closed"
CONSUMER_REOPENED = "intake.on_case_reopened"


@dataclass(frozen=True)
class Match:
    complaint_id: str
    merged: bool  # True: near-duplicate, its text added to the first; False: the same message id again


def external_id_of(data: dict) -> str | None:
    try:
        return rules.clean_external_id(data.get("external_id"))
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="external_id") from exc


def existing(data: dict, tenant_id: str, user_id: str | None, uow, scope=None, files=(),
             store_files=None) -> Match | None:
    """The complaint ``data`` duplicates (merging a near-duplicate into it), or None for a new complaint.

    Runs inside the caller's unit of work. Input too broken to compare returns None: ``add_complaint`` then
    refuses it with the precise error."""
    conn = uow.conn
    channel = data.get("channel") or "web"
    external_id = external_id_of(data)
    if external_id is not None:
        row = conn.execute(select(complaints.c.id, complaints.c.estate_code).where(
            complaints.c.tenant_id == tenant_id, complaints.c.channel == channel,
            complaints.c.external_id == external_id)).first()
        if row is not None:
            if scope is not None and row.estate_code not in scope:
                raise ValidationFailed("external_id is already used", field="external_id")
            return Match(row.id, merged=False)
    estate, description = data.get("estate"), data.get("description")
    if not isinstance(estate, str) or not isinstance(description, str) or not description.strip():
        return None
    try:
        who = parse_complainant(data.get("complainant"))
    except InvalidComplaint:
        return None
    now = uow.clock.now()
    history = earlier(conn, tenant_id, estate.strip(), who, now)
    uow.owner_history = (_owner_key(tenant_id, estate.strip(), who), history)  # link_repeat reads it again
    first = rules.find_duplicate(description, now, history)
    if first is None:
        return None
    _merge(uow, tenant_id, first, data, channel, external_id, user_id, now, files, store_files)
    return Match(first.id, merged=True)


def _merge(uow, tenant_id, first: rules.Earlier, data, channel, external_id, user_id, now, files, store_files):
    row = uow.conn.execute(select(complaints.c.reference, complaints.c.estate_code).where(
        complaints.c.tenant_id == tenant_id, complaints.c.id == first.id)).one()
    text = _CONTROL.sub("", data["description"]).strip()
    note_id = str(uuid.uuid4())
    submission = {k: v for k, v in data.items() if k != "attachments"} | {"attachments": len(files)}
    uow.conn.execute(complaint_notes.insert().values(
        tenant_id=tenant_id, id=note_id, complaint_id=first.id, at=now, kind="duplicate_merged",
        actor=(user_id or channel)[:254], text=text, source=channel, data=submission))
    stored = store_files(uow.conn, tenant_id, first.id, list(files), now, source=channel) if files else []
    uow.publish("complaint_updated", tenant_id, {
        "complaint_id": first.id, "reference": row.reference, "estate_code": row.estate_code,
        "kind": "duplicate_merged", "note_id": note_id, "text": text, "actor": user_id or channel,
        "channel": channel, "external_id": external_id, "attachments": len(stored), "at": now.isoformat()})
    log.info("complaint via %s merged into %s as a duplicate", channel, row.reference)


def earlier(conn, tenant_id: str, estate_code: str, who, now: dt.datetime) -> list[rules.Earlier]:
    """The owner's complaints at this estate received or closed within the longer of the two windows."""
    contact = rules.Contact.of(who.phone, who.email)
    if not contact:
        return []
    c = complaints.c
    same_owner = c.complainant_phone == who.phone if contact.phone else c.complainant_email == who.email
    since = now - max(rules.DUPLICATE_WINDOW, rules.REPEAT_WINDOW)
    q = (select(c.id, c.reference, c.description, c.category, c.received_at, c.closed_at, c.repeat_count,
                c.repeat_of)
         .where(c.tenant_id == tenant_id, c.estate_code == estate_code, same_owner,
                or_(c.received_at >= now - rules.DUPLICATE_WINDOW,
                    and_(c.closed_at.is_not(None), c.closed_at >= since)))
         .order_by(c.received_at.desc()).limit(200))
    return [rules.Earlier(r.id, r.reference, r.description, r.category, r.received_at, r.closed_at,
                          r.repeat_count or 0, r.repeat_of) for r in conn.execute(q)]


def _owner_key(tenant_id: str, estate_code: str, who) -> tuple:
    return tenant_id, estate_code, who.phone, who.email


def link_repeat(conn, complaint, known=None) -> None:
    """Set ``complaint.repeat_of`` when it repeats one of the owner's recently closed complaints. ``known``:
    ``(owner key, earlier complaints)`` that ``existing`` already read in this transaction (one query less)."""
    key = _owner_key(complaint.tenant_id, complaint.estate.code, complaint.complainant)
    if known is not None and known[0] == key:
        history = known[1]
    else:
        history = earlier(conn, complaint.tenant_id, complaint.estate.code, complaint.complainant,
                          complaint.received_at)
    found = rules.find_repeat(complaint.description, complaint.category, complaint.received_at, history)
    if found is not None:
        complaint.repeat_of = {"complaint_id": found.id, "reference": found.reference,
                               "closed_at": found.closed_at.isoformat(), "repeat_count": found.repeat_count + 1}


def answer(match: Match, tenant_id: str, engine) -> dict:
    """What ``register_complaint`` returns for a duplicate: the first complaint, flagged."""
    from .handlers import get_complaint  # handlers imports this module
    view = get_complaint(match.complaint_id, tenant_id, engine)
    return view | {"duplicate": True, "merged_into": match.complaint_id if match.merged else None}


def register_once(register, data, tenant_id: str, user_id, uow, *args, **kwargs) -> dict:
    """``register(data, tenant_id, user_id, uow, ...)``; when a twin with the same message id committed
    between our check and our insert, the twin's complaint as a duplicate."""
    try:
        return register(data, tenant_id, user_id, uow, *args, **kwargs)
    except IntegrityError:
        external_id = external_id_of(data) if isinstance(data, dict) else None
        if external_id is None:
            raise
        with uow:
            match = existing({"channel": data.get("channel"), "external_id": external_id}, tenant_id, user_id,
                             uow, kwargs.get("scope"))
        if match is None:
            raise
        return answer(match, tenant_id, uow.engine)


def on_case_closed(envelope, uow) -> bool:
    """``case_closed`` / ``owner_accepted`` (status closed): the complaint is closed from then on."""
    p = envelope.payload
    if p.get("status") != "closed":
        return _skip(envelope, uow, CONSUMER_CLOSED)
    return _set_closed(envelope, uow, CONSUMER_CLOSED, dt.datetime.fromisoformat(p["at"]))


def on_case_reopened(envelope, uow) -> bool:
    return _set_closed(envelope, uow, CONSUMER_REOPENED, None)


def _set_closed(envelope, uow, consumer: str, closed_at) -> bool:
    p = envelope.payload
    with uow:
        if not uow.claim(envelope, consumer):
            return False
        where = [complaints.c.tenant_id == envelope.tenant_id, complaints.c.id == str(p["complaint_id"])]
        if closed_at is None:  # reopened: only undo a closure older than the reopening (events may cross)
            where.append(or_(complaints.c.closed_at.is_(None),
                             complaints.c.closed_at < dt.datetime.fromisoformat(p["at"])))
        uow.conn.execute(update(complaints).where(*where).values(closed_at=closed_at))
        uow.commit()
    return True


def _skip(envelope, uow, consumer: str) -> bool:
    with uow:
        uow.claim(envelope, consumer)
        uow.commit()
    return False


def repeat_link(conn, tenant_id: str, row) -> dict | None:
    """``repeat_of`` of a stored complaint row, with the earlier complaint's reference and closure."""
    if not row["repeat_of"]:
        return None
    first = conn.execute(select(complaints.c.reference, complaints.c.closed_at).where(
        complaints.c.tenant_id == tenant_id, complaints.c.id == row["repeat_of"])).first()
    return {"complaint_id": row["repeat_of"], "reference": first.reference if first else None,
            "closed_at": first.closed_at.isoformat() if first and first.closed_at else None,
            "repeat_count": row["repeat_count"]}


def repeat_timeline(c: dict) -> list[dict]:
    """The timeline line of a repeat (zh-CN, as every timeline text)."""
    link = c.get("repeat_of")
    if not link:
        return []
    return [{"at": c["received_at"], "kind": "repeat_linked", "actor": "intake",
             "text": f"重复投诉：与已结案的投诉 {link.get('reference') or link['complaint_id']} 为同一问题"
                     f"（第 {link.get('repeat_count') or 1} 次重复）"}]
