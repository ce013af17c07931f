"""notify use cases: take a unit of work (or an engine for reads), return plain values."""
from __future__ import annotations

import logging

from estatedesk_common.i18n import DEFAULT_LOCALE

from . import repository, templates
from .domain.messages import new_acknowledgement, pick_locale
from .domain.timeline import delivery_view, timeline_entry
from .exceptions import ValidationFailed

ON_CASE_OPENED = "notify.on_case_opened"

log = logging.getLogger(__name__)


def on_case_opened(envelope, uow, render=templates.render) -> bool:
    """Queue the acknowledgement e-mail (or record why there is none) once per event. True if one was queued."""
    with uow:
        if not uow.claim(envelope, ON_CASE_OPENED):
            return False
        message = new_acknowledgement(envelope.tenant_id, envelope.payload, uow.clock.now(), render)
        repository.add_message(uow.conn, message)
        uow.commit()
    log.info("acknowledgement for %s %s", envelope.payload.get("reference"), message.status)
    return message.status == "queued"


def _rows(complaint_id, tenant_id: str, engine) -> list:
    if not isinstance(complaint_id, str) or not complaint_id.strip():
        raise ValidationFailed("complaint_id must be text", field="complaint_id")
    with engine.connect() as conn:
        return repository.messages_for_complaint(conn, tenant_id, complaint_id.strip())


def get_timeline(complaint_id, tenant_id: str, engine, locale: str | None = None) -> list[dict]:
    locale = pick_locale(locale) if locale else DEFAULT_LOCALE
    return [timeline_entry(row, locale) for row in _rows(complaint_id, tenant_id, engine)]


def get_deliveries(complaint_id, tenant_id: str, engine) -> list[dict]:
    return [delivery_view(row) for row in _rows(complaint_id, tenant_id, engine)]
