"""Tenant and estate overrides of the message templates (``template_overrides``; rules in
``domain.template_overrides``, rendering and checks in ``templates``).

A message is rendered with the estate's override of each part, else the tenant's, else the shipped default
(``scoped``, called inside the transaction that queues the message). RPC: list, get, preview (render sources
against the message's sample context without saving), save (every part checked first: all or nothing) and
delete (back to the default). group_admin / head_office edit the tenant's and every estate's templates, a
site_manager its estates' (and reads the tenant's); a call without a person's roles is trusted. notify does
not know the tenant's estates: the gateway checks the code against intake's directory.
"""
from __future__ import annotations

import logging
import uuid

from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import IntegrityError

from . import templates
from .domain.template_overrides import (FILES, MESSAGES, InvalidOverride, check_key, check_parts, may_edit,
                                        may_read, sample_context)
from .exceptions import Conflict, Forbidden, ValidationFailed
from .tables import template_overrides as t

log = logging.getLogger(__name__)


def scoped(conn, tenant_id: str, estate: str | None) -> templates.Scoped:
    """The renderer for a message of ``estate``: its overrides, then the tenant's, then the defaults."""
    rows = conn.execute(select(t.c.estate_code, t.c.message, t.c.locale, t.c.part, t.c.source).where(
        t.c.tenant_id == tenant_id, or_(t.c.estate_code.is_(None), t.c.estate_code == (estate or "")))).all()
    sources = {}
    for row in sorted(rows, key=lambda r: r.estate_code is not None):  # the estate's rows last: they win
        sources[(row.message, row.locale, row.part)] = row.source
    return templates.Scoped(sources)


def _key_id(tenant_id: str, estate, message: str, locale: str, part: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"template:{tenant_id}:{estate or '*'}:{message}:{locale}:{part}"))


def _checked_key(message, locale, estate, part=None) -> None:
    try:
        check_key(message, locale, estate, part)
    except InvalidOverride as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc


def _allow(ok: bool) -> None:
    if not ok:
        raise Forbidden("group admins and head office change the group's templates; site managers their estates'")


def _view(row) -> dict:
    return {"message": row["message"], "locale": row["locale"], "part": row["part"], "estate": row["estate_code"],
            "version": row["version"], "updated_at": row["updated_at"].isoformat(), "updated_by": row["updated_by"]}


def list_template_overrides(tenant_id: str, caller_roles, engine) -> dict:
    """The messages and their parts (with the default's file), and every override the caller may read."""
    _allow(may_read(caller_roles, None))
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id).order_by(
            t.c.message, t.c.locale, t.c.estate_code, t.c.part)).mappings().all()
    return {"messages": [{"message": m, "parts": list(parts),
                          "defaults": {p: f"{{locale}}/{m}/{FILES[p]}" for p in parts}}
                         for m, parts in MESSAGES.items()],
            "overrides": [_view(r) for r in rows if may_read(caller_roles, r["estate_code"])]}


def _rows(conn, tenant_id: str, message: str, locale: str, estate) -> dict:
    """``{(estate or None, part): row}`` of the tenant's and (given) the estate's overrides."""
    rows = conn.execute(select(t).where(t.c.tenant_id == tenant_id, t.c.message == message, t.c.locale == locale,
                                        or_(t.c.estate_code.is_(None), t.c.estate_code == (estate or "")))
                        ).mappings().all()
    return {(r["estate_code"], r["part"]): r for r in rows}


def get_template(tenant_id: str, caller_roles, engine, message, locale, estate=None) -> dict:
    """Per part: the default's source, the tenant's override (what an estate inherits), the scope's own
    override and which one is in force; and the variables a template of this message may use."""
    _checked_key(message, locale, estate)
    _allow(may_read(caller_roles, estate))
    with engine.connect() as conn:
        found = _rows(conn, tenant_id, message, locale, estate)
    parts = {}
    for part in MESSAGES[message]:
        own, tenant = found.get((estate, part)), found.get((None, part)) if estate else None
        parts[part] = {"default": templates.default_source(message, locale, part),
                       "inherited": tenant["source"] if tenant else None,
                       "override": own["source"] if own else None,
                       "version": own["version"] if own else None,
                       "updated_at": own["updated_at"].isoformat() if own else None,
                       "updated_by": own["updated_by"] if own else None,
                       "in_force": "estate" if own and estate else "tenant" if own or tenant else "default"}
    return {"message": message, "locale": locale, "estate": estate, "parts": parts,
            "variables": sorted(sample_context(message, locale))}


def _check_all(message: str, locale: str, parts: dict) -> tuple[dict, dict]:
    """``({part: rendered sample}, {part: {"message", "line", "field"}})`` of the given sources."""
    context = sample_context(message, locale)
    out, errors = {}, {}
    for part, source in parts.items():
        if source is None:
            continue
        try:
            out[part] = templates.check(part, source, context)
        except InvalidOverride as exc:
            errors[part] = {"message": str(exc), "line": exc.line, "field": exc.field}
    return out, errors


def _parts(message: str, parts) -> dict:
    try:
        return check_parts(message, parts)
    except InvalidOverride as exc:
        raise ValidationFailed(str(exc), field=exc.field) from exc


def preview_template(tenant_id: str, caller_roles, engine, message, locale, parts, estate=None) -> dict:
    """Render ``parts`` (sources; a missing part: the one in force) against the sample context, nothing saved:
    ``{"parts": {part: output}, "errors": {part: {message, line, field}}}``."""
    _checked_key(message, locale, estate)
    _allow(may_read(caller_roles, estate))
    given = _parts(message, parts or {p: None for p in MESSAGES[message]})
    with engine.connect() as conn:
        in_force = scoped(conn, tenant_id, estate).sources
    sources = {p: given[p] if given.get(p) is not None else in_force.get(
        (message, locale, p), templates.default_source(message, locale, p)) for p in MESSAGES[message]
        if p in given}
    out, errors = _check_all(message, locale, sources)
    return {"message": message, "locale": locale, "estate": estate, "parts": out, "errors": errors}


def save_template(tenant_id: str, user_id, caller_roles, uow, message, locale, parts, estate=None) -> dict:
    """Store the given parts' sources (a part of ``None`` goes back to the default) once every one compiles and
    renders the sample; else ``validation_failed`` naming the first bad part, its line, and all errors."""
    _checked_key(message, locale, estate)
    _allow(may_edit(caller_roles, estate))
    parts = _parts(message, parts)
    _out, errors = _check_all(message, locale, parts)
    if errors:
        first = errors[next(p for p in parts if p in errors)]
        raise ValidationFailed(first["message"], field=first["field"], details={"line": first["line"],
                                                                                "errors": errors})
    try:
        with uow:
            now = uow.clock.now()
            for part, source in parts.items():
                _store(uow.conn, tenant_id, estate, message, locale, part, source, now, user_id)
            uow.commit()
    except IntegrityError as exc:  # another save created the same override at the same moment
        raise Conflict("the template was changed at the same time; load it again") from exc
    log.info("templates %s/%s of %s saved: %s", message, locale, estate or "the tenant", ", ".join(parts))
    return get_template(tenant_id, caller_roles, uow.engine, message, locale, estate)


def _store(conn, tenant_id, estate, message, locale, part, source, now, user_id) -> None:
    key = (t.c.tenant_id == tenant_id, t.c.id == _key_id(tenant_id, estate, message, locale, part))
    if source is None:
        conn.execute(delete(t).where(*key))
        return
    changed = conn.execute(update(t).where(*key).values(source=source, version=t.c.version + 1, updated_at=now,
                                                        updated_by=user_id)).rowcount
    if not changed:
        conn.execute(t.insert().values(tenant_id=tenant_id, id=_key_id(tenant_id, estate, message, locale, part),
                                       estate_code=estate, message=message, locale=locale, part=part,
                                       source=source, version=1, updated_at=now, updated_by=user_id))


def delete_template(tenant_id: str, caller_roles, uow, message, locale, estate=None, part=None) -> dict:
    """Back to what is inherited (the tenant's override or the default): one part, or every part."""
    _checked_key(message, locale, estate, part)
    _allow(may_edit(caller_roles, estate))
    ids = [_key_id(tenant_id, estate, message, locale, p) for p in ([part] if part else MESSAGES[message])]
    with uow:
        deleted = uow.conn.execute(delete(t).where(t.c.tenant_id == tenant_id, t.c.id.in_(ids))).rowcount
        uow.commit()
    return {"message": message, "locale": locale, "estate": estate, "deleted": deleted}
