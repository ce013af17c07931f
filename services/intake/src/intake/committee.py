"""The residents' committee channel (居委会/业委会转达) and the forwarded-complaint notes on the timeline.

``register_batch`` takes the rows of a committee's sheet (parsed by the gateway) and stores them as complaints
on channel ``committee`` in **one** unit of work: every row is validated first (``domain.batch``); one bad row
refuses the batch with all rows' problems and nothing is stored. A good batch commits every complaint, its
``complaint_received`` event and the ``committee_batches`` row together, so a crash half-way stores nothing
and a file sent twice is refused (``batch_already_imported``) instead of doubling every complaint. A row's
``location`` is checked against the estate's building directory like a single complaint's (``locations``): an
unknown building is that row's error (field ``location.building``), not a refusal of the first bad row only.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import uuid
from zoneinfo import ZoneInfo

from sqlalchemy import select

from estatedesk_common.errors import Conflict

from . import classification, locations, repository
from .domain.batch import MAX_ROWS, BatchRejected, RowError, duplicate_errors, report, rows_of
from .domain.complaint import InvalidComplaint, new_complaint
from .exceptions import ValidationFailed
from .tables import committee_batches

log = logging.getLogger(__name__)

CHANNEL = "committee"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BatchAlreadyImported(Conflict):
    code = "batch_already_imported"


def register_batch(rows, tenant_id: str, user_id: str | None, uow, classifiers=None, scope=None,
                   file_sha256: str | None = None, filename: str | None = None, validate_only: bool = False) -> dict:
    """Validate every row, then store them all (or nothing). Returns ``{"batch_id", "count", "items":
    [{"row", "id", "reference"}]}``; ``validation_failed`` (field ``rows``, ``details.rows``: ``[{row, field,
    message}]``, ``details.error_count``) when any row is wrong; ``batch_already_imported`` (409) for a file
    (``file_sha256``) this tenant imported before. ``validate_only``: check, store nothing, return ``{"batch_id":
    None, "count", "items": []}`` (the gateway checks the readable rows of a file that has unreadable ones too,
    so the uploader sees every problem at once)."""
    try:
        items = [(n, data | {"channel": CHANNEL}) for n, data in rows_of(rows, MAX_ROWS)]
    except BatchRejected as exc:
        raise ValidationFailed(str(exc), field="rows", details=report(exc.errors)) from None
    digest = _digest(file_sha256, items)
    cache = classifiers or classification.default_cache()
    with uow:
        earlier = uow.conn.execute(select(committee_batches.c.id, committee_batches.c.created_at).where(
            committee_batches.c.tenant_id == tenant_id, committee_batches.c.file_sha256 == digest)).first()
        if earlier is not None:
            raise BatchAlreadyImported("this file was imported before", field="file",
                                       details={"batch_id": earlier.id, "imported_at": earlier.created_at.isoformat()})
        errors = _check(items, tenant_id, user_id, uow, cache, scope) + duplicate_errors(items)
        if errors:
            raise ValidationFailed(f"{len(errors)} problem(s) in the batch; nothing was imported", field="rows",
                                   details=report(errors))
        if validate_only:
            return {"batch_id": None, "count": len(items), "items": []}
        batch_id = str(uuid.uuid4())
        stored = []
        for number, data in items:
            complaint = _add(data, tenant_id, user_id, uow, cache, {"batch": batch_id, "row": number, "input": data})
            stored.append({"row": number, "id": complaint.id, "reference": complaint.reference})
        uow.conn.execute(committee_batches.insert().values(
            tenant_id=tenant_id, id=batch_id, file_sha256=digest, filename=_filename(filename), rows=len(stored),
            complaint_ids=[s["id"] for s in stored], created_by=user_id, created_at=uow.clock.now()))
        uow.commit()
    log.info("committee batch %s: %d complaints", batch_id, len(stored))
    return {"batch_id": batch_id, "count": len(stored), "items": stored}


def _add(data, tenant_id, user_id, uow, cache, raw):
    from .handlers import add_complaint  # handlers imports this module for ``received_note``
    try:
        return add_complaint(data, tenant_id, user_id, uow, cache, raw=raw)
    except ValidationFailed as exc:  # checked above; a race (an estate deleted meanwhile) still stores nothing
        raise ValidationFailed(str(exc.message), field="rows", details=report(
            [RowError(raw["row"], exc.field or "row", exc.message)])) from None


def _check(items, tenant_id: str, user_id, uow, cache, scope) -> list[RowError]:
    """Every row's problem (the first per row), without storing anything."""
    now = uow.clock.now()
    estates: dict = {}
    categories = cache.get(uow.conn, tenant_id).keys
    errors = []
    for number, data in items:
        code = data.get("estate")
        if not isinstance(code, str) or not code.strip():
            errors.append(RowError(number, "estate", "estate is required"))
            continue
        code = code.strip()
        if code not in estates:
            estates[code] = repository.get_estate(uow.conn, tenant_id, code)
        if estates[code] is None or (scope is not None and code not in scope):
            errors.append(RowError(number, "estate", f"no estate {code!r}"))
            continue
        try:
            complaint = new_complaint(data, tenant_id, estates[code], now, user_id)
        except InvalidComplaint as exc:
            errors.append(RowError(number, exc.field, str(exc)))
            continue
        try:  # the building against the estate's directory, as a single complaint is checked
            locations.checked_location(uow.conn, tenant_id, code, complaint.location)
        except ValidationFailed as exc:
            errors.append(RowError(number, exc.field or "location.building", exc.message))
            continue
        if complaint.category is not None and complaint.category not in categories:
            errors.append(RowError(number, "category", f"unknown category {complaint.category!r}"))
    return errors


def _digest(file_sha256, items) -> str:
    """The file's SHA-256 as the gateway computed it, else one of the rows themselves (an API batch)."""
    if isinstance(file_sha256, str) and _SHA256.match(file_sha256.lower()):
        return file_sha256.lower()
    text = repr(sorted((n, sorted(d.items(), key=str)) for n, d in items))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _filename(value) -> str:
    return value.strip()[:200] if isinstance(value, str) else ""


def received_note(c: dict) -> str:
    """What the receipt entry of the timeline adds for a forwarded complaint (zh-CN, like the rest of it)."""
    if c.get("committee_received_at"):
        zone = ZoneInfo((c.get("estate") or {}).get("timezone") or "Asia/Shanghai")
        at = dt.datetime.fromisoformat(c["committee_received_at"]).astimezone(zone)
        return f"；业主于 {at:%Y-%m-%d %H:%M} 向居委会/业委会反映"
    who = c.get("forwarded_by")
    if isinstance(who, dict) and who.get("name"):
        title = f"（{who['title']}）" if who.get("title") else ""
        return f"；{who['name']}{title}转办，指示：{c.get('instructions') or ''}"
    return ""
